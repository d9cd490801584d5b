"""The page in a real headless Chromium, at a phone's width (390 px) and a laptop's (1280 px): the
cards, the charts, the table and the prompt box, as a person sees them.

Needs Chromium at /usr/bin/chromium (``scripts/install_system_packages.sh`` installs it); the
tests are skipped without it. Screenshots go to the test's tmp_path; with
``TWEETGEN_UPDATE_SCREENSHOT=1`` the laptop one also replaces ``assets/app-screenshot.png`` (the
README's; ``scripts/screenshot_app.py`` makes it from a real ``make demo`` store instead), and the
tiny model is trained for a few seconds first so its tweet reads like one.
"""

from __future__ import annotations

import io
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from tests.fakes.app_server import demo_store
from tests.fakes.tiny_model import MODEL_NAME, register_tiny_champion
from tweetgen.pipelines.runs import JobRun
from tweetgen.schema import JOB_RUNS
from tweetgen.ui.browser import (
    CARDS,
    CHARTS,
    CHROMIUM,
    FRESH,
    browser_page,
    generate_tweet,
    natural_widths,
    running_app,
    wait_for_cards_and_chart,
    wait_for_image,
)
from tweetgen.ui.predictor import Predictor
from tweetgen.ui.views import CARD_SCALE, FRESH_HINT, message_image

SCREENSHOT = Path(__file__).resolve().parents[2] / "assets" / "app-screenshot.png"
UPDATE_SCREENSHOT = os.environ.get("TWEETGEN_UPDATE_SCREENSHOT") == "1"
PHONE, LAPTOP = 390, 1280

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"Chromium is not installed at {CHROMIUM}: run scripts/install_system_packages.sh (as root) to enable the browser tests.",
)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    registry, _ = register_tiny_champion(root, train_steps=60 if UPDATE_SCREENSHOT else 0)
    predictor = Predictor(lambda: registry, MODEL_NAME, max_new_tokens=24)
    store = demo_store(root / "store", n_runs=7)
    ended = datetime.now(UTC) - timedelta(hours=2)
    for job, status, error in (("features", "ok", ""), ("inference", "ok", ""), ("train", "failed", "TweetgenError: no tweets")):
        run = JobRun(job, f"{job}-run", "local", ended - timedelta(seconds=30), ended, status, error=error)
        store.insert(JOB_RUNS, run.frame())
    with running_app(store, predictor, root / "gradio") as address:
        yield address


@pytest.fixture(scope="module", params=[PHONE, LAPTOP], ids=["phone", "laptop"])
def page(request, url):
    with browser_page(url, width=request.param) as tab:
        wait_for_cards_and_chart(tab)
        wait_for_image(tab, FRESH, 15_000)
        tab.wait_for_timeout(300)  # let the layout settle
        yield tab


def _width(page) -> int:
    return page.viewport_size["width"]


def _box(page, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box


def test_the_three_cards_and_the_charts_are_shown(page) -> None:
    widths = [natural_widths(page, f"{selector} img") for selector in CARDS]
    assert widths == [[1100], [1100], [1100]]
    for selector in CHARTS:
        chart = natural_widths(page, f"{selector} img")
        assert len(chart) == 1 and chart[0] > 0
    assert "Tweets by a model" in page.locator("h1").inner_text()
    summary = page.locator("#summary").inner_text()
    assert "LSTM version 3 (champion" in summary
    assert "These tweets are invented." in summary and "@tweetgen_sample" in summary  # the demo store holds the sample
    assert page.locator("#measures").get_by_text("bits per character under the model").count() == 1


def test_the_document_is_no_wider_than_the_screen(page) -> None:
    width = _width(page)
    assert page.evaluate("document.documentElement.scrollWidth") == width
    for selector in ("h1", "#intro", *CARDS, *CHARTS, "#measures", "#summary", "#day", "#prompt", FRESH, "#health"):
        box = _box(page, selector)
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, f"{selector} sticks out: {box}"
    if width == PHONE:  # a card fills the phone's width (less the margins) and keeps its proportions
        card = _box(page, f"{CARDS[0]} img")
        assert card["width"] >= width - 40


WORDS_JS = """cells => cells.map(cell => {
    // A word split over two lines has two boxes; a word cut at its cell's edge makes the cell overflow.
    const node = cell.firstChild, text = cell.textContent, range = document.createRange(), words = [];
    let start = 0;
    for (const word of text.split(' ')) {
        if (node && node.nodeType === Node.TEXT_NODE && word) {
            range.setStart(node, start); range.setEnd(node, start + word.length);
            words.push([word, range.getClientRects().length]);
        }
        start += word.length + 1;
    }
    return {text, words, cut: cell.scrollWidth > cell.clientWidth + 1};
})"""


def _words_of(page, selector: str) -> list[dict]:
    return page.eval_on_selector_all(selector, WORDS_JS)


def test_table_headers_break_only_between_words_and_are_not_cut(page) -> None:
    headers = _words_of(page, "#measures th .header")
    assert [header["text"] for header in headers] == ["measure", "real", "from prompt", "random"]
    health = _words_of(page, "#health th, #health td:first-child")
    assert [cell["text"] for cell in health] == ["job", "last run", "status", "age", "features", "inference", "train"]
    for cell in headers + health:
        assert cell["words"] and all(lines == 1 for _, lines in cell["words"]), cell
        assert not cell["cut"], cell


def test_the_charts_stack_on_a_phone_and_sit_in_a_row_on_a_laptop(page) -> None:
    boxes = [_box(page, selector) for selector in CHARTS]
    if _width(page) == PHONE:
        assert boxes[0]["y"] + boxes[0]["height"] <= boxes[1]["y"] and boxes[1]["y"] + boxes[1]["height"] <= boxes[2]["y"]
        assert all(abs(box["x"] - boxes[0]["x"]) < 1 for box in boxes)
    else:
        assert all(abs(box["y"] - boxes[0]["y"]) < 1 for box in boxes)
        assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] and boxes[1]["x"] + boxes[1]["width"] <= boxes[2]["x"]


def test_the_run_picker_shows_the_whole_label_on_a_laptop(page) -> None:
    label = page.locator("#day input").first
    assert label.input_value().startswith("Jan 16, 2026 06:00 UTC · LSTM v3 (champion) · tweet of Jan 16, 2026")
    if _width(page) == LAPTOP:
        assert label.evaluate("input => input.scrollWidth <= input.clientWidth")


def test_the_cards_sit_in_a_row_on_a_laptop_and_one_under_another_on_a_phone(page) -> None:
    boxes = [_box(page, selector) for selector in CARDS]
    tops = [box["y"] for box in boxes]
    if _width(page) == PHONE:
        assert tops == sorted(tops) and tops[1] - tops[0] >= boxes[0]["height"]
    else:
        assert max(tops) - min(tops) < 1


def test_the_health_panel_is_a_table_with_light_rules(page) -> None:
    health = page.locator("#health")
    text = health.inner_text()
    assert "Pipeline health" in text and "features" in text and "inference" in text and "failed" in text
    cell = health.locator("td").first
    borders = cell.evaluate("cell => { const s = getComputedStyle(cell);"
                            " return [s.borderTopWidth, s.borderLeftWidth, s.borderRightWidth, s.borderBottomWidth]; }")
    assert borders == ["0px", "0px", "0px", "1px"]  # rules between rows only, like the measures table
    table = health.locator("table").evaluate("table => { const s = getComputedStyle(table);"
                                             " return [s.borderTopWidth, s.borderLeftWidth, s.borderRightWidth, s.borderBottomWidth]; }")
    assert table == ["0px"] * 4  # and no frame around them


def test_the_fresh_tweet_box_says_what_to_do_then_shows_a_new_tweet(page, tmp_path) -> None:
    hint = page.locator(f"{FRESH} img").first.get_attribute("src")
    shown = Image.open(io.BytesIO(page.request.get(hint).body())).convert("RGB")
    expected = message_image(FRESH_HINT).convert("RGB")  # the hint, drawn as a card before the first Generate
    assert shown.size == expected.size
    changed = ImageChops.difference(shown, expected).getbbox()  # at most the card's clock, if a minute passed
    assert changed is None or changed[3] - changed[1] < 40 * CARD_SCALE
    generate_tweet(page, "The rocket")
    assert natural_widths(page, f"{FRESH} img") == [1100]
    assert page.locator(f"{FRESH} img").first.get_attribute("src") != hint
    assert page.evaluate("document.documentElement.scrollWidth") == _width(page)
    shot = tmp_path / f"app-{_width(page)}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if UPDATE_SCREENSHOT and _width(page) == LAPTOP:
        shutil.copyfile(shot, SCREENSHOT)
