"""The page in a real headless Chromium: the cards, the chart, and the prompt box at work.

Needs Chromium at /usr/bin/chromium (``scripts/install_system_packages.sh`` installs it); the
test is skipped without it. The screenshot goes to the test's tmp_path; with
``TWEETGEN_UPDATE_SCREENSHOT=1`` it also replaces ``assets/app-screenshot.png`` (the README's),
and the tiny model is trained for a few seconds first so its tweet reads like one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.fakes.app_server import demo_store
from tests.fakes.tiny_model import register_tiny_champion
from tweetgen.ui.browser import (
    CARDS,
    CHROMIUM,
    browser_page,
    generate_tweet,
    natural_widths,
    running_app,
    wait_for_cards_and_chart,
)
from tweetgen.ui.predictor import Predictor

SCREENSHOT = Path(__file__).resolve().parents[2] / "assets" / "app-screenshot.png"
UPDATE_SCREENSHOT = os.environ.get("TWEETGEN_UPDATE_SCREENSHOT") == "1"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"Chromium is not installed at {CHROMIUM}: run scripts/install_system_packages.sh (as root) to enable the browser tests.",
)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    registry, _ = register_tiny_champion(root, train_steps=60 if UPDATE_SCREENSHOT else 0)
    predictor = Predictor(lambda: registry, "tweet_gpt2", max_new_tokens=24)
    with running_app(demo_store(root / "store", n_runs=7), predictor, root / "gradio") as address:
        yield address


@pytest.fixture(scope="module")
def page(url):
    with browser_page(url) as tab:
        yield tab


def test_the_three_cards_and_the_chart_are_shown(page) -> None:
    wait_for_cards_and_chart(page)
    widths = [natural_widths(page, f"{selector} img") for selector in CARDS]
    assert widths == [[1100], [1100], [1100]]
    chart = natural_widths(page, "#chart img")
    assert len(chart) == 1 and chart[0] > 0
    assert "Tweets by a model" in page.locator("h1").inner_text()
    summary = page.locator("#summary").inner_text()
    assert "version 3 (lstm, champion)" in summary
    assert "These tweets are invented." in summary and "@tweetgen_sample" in summary  # the demo store holds the sample
    assert page.locator("#measures").get_by_text("bits per character under the model").count() == 1
    health = page.locator("#health").inner_text()  # the demo store holds no job runs
    assert "Pipeline health" in health and "No job runs recorded yet." in health and "has no successful run" in health


def test_a_prompt_gives_a_new_tweet_image(page, tmp_path) -> None:
    assert page.locator("#card-fresh img").count() == 0
    generate_tweet(page, "The rocket")
    assert natural_widths(page, "#card-fresh img") == [1100]
    shot = tmp_path / "app.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if UPDATE_SCREENSHOT:
        shutil.copyfile(shot, SCREENSHOT)
