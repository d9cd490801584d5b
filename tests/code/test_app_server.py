"""The app served on 127.0.0.1 and called through its API with ``gradio_client``."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops

from tests.fakes.app_server import FIRST_ID, demo_store, running_app
from tests.fakes.tiny_model import register_tiny_champion
from tweetgen.ui.predictor import Predictor
from tweetgen.ui.views import CARD_SCALE, CARD_WIDTH, cards_for, day_choices, load_monitor

WIDTH = CARD_WIDTH * CARD_SCALE


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(url, store) of a running app with five runs and a tiny champion model."""
    root = tmp_path_factory.mktemp("served")
    store = demo_store(root / "store", n_runs=5)
    registry, _ = register_tiny_champion(root)
    with running_app(store, Predictor(lambda: registry, "tweet_gpt2", max_new_tokens=16), root / "gradio") as url:
        yield url, store


@pytest.fixture(scope="module")
def client(served, tmp_path_factory):
    from gradio_client import Client

    return Client(served[0], verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def test_only_the_two_documented_endpoints_are_listed(client) -> None:
    assert set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == {"/show_day", "/generate"}


def test_generate_returns_a_tweet_image(client) -> None:
    path = client.predict("The rocket", api_name="/generate")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width == WIDTH and image.height > 300


def test_generate_with_an_empty_or_overlong_prompt_still_returns_an_image(client) -> None:
    for prompt in ("", "rocket " * 100):
        with Image.open(client.predict(prompt, api_name="/generate")) as image:
            assert image.width == WIDTH


def test_show_day_returns_the_chosen_run(served, client) -> None:
    _, store = served
    frame = load_monitor(store)
    choice = day_choices(frame)[3]  # the second-oldest run
    real_path, prompted_path, random_path, summary, measures = client.predict(choice, api_name="/show_day")
    expected = cards_for(frame.iloc[3])
    for path, want in zip((real_path, prompted_path, random_path), expected, strict=True):
        with Image.open(path) as image:
            assert image.width == WIDTH
            assert ImageChops.difference(image.convert("RGB"), want).getbbox() is None  # PNG: lossless
    assert "seed 1001" in summary  # run 1 of monitor_frame
    assert measures["headers"] == ["measure", "real", "from prompt", "random"]
    assert measures["data"][2] == ["longest run of words copied from training", "–", "1", "1"]
    assert frame.iloc[3]["tweet_id"] == FIRST_ID + 1


def test_show_day_with_an_unknown_label_shows_the_newest_run(client) -> None:
    *_, summary, _ = client.predict("not a run", api_name="/show_day")
    assert "seed 1004" in summary
