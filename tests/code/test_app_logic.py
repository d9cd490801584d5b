"""The app's handlers, called directly: monitor rows, tweet images, measures, chart, prompt box."""

from __future__ import annotations

import pandas as pd
import pytest
from PIL import Image, ImageChops

from tests.fakes.app_server import FIRST_ID, demo_store
from tests.fakes.monitor_rows import RUNS, monitor_frame
from tests.fakes.tiny_model import register_tiny_champion
from tweetgen.errors import StoreError
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.registry.port import ModelVersion
from tweetgen.schema import GENERATED_TWEETS, SAMPLE_DISPLAY_NAME, SAMPLE_USERNAME
from tweetgen.store.local import LocalFeatureStore
from tweetgen.ui import views
from tweetgen.ui.predictor import MAX_PROMPT_CHARS, ModelUnavailableError, Predictor
from tweetgen.ui.render import TweetCard, render_tweet
from tweetgen.ui.views import (
    CARD_SCALE,
    CARD_WIDTH,
    EMPTY_MONITOR_MESSAGE,
    MonitorCache,
    cards_for,
    day_choices,
    day_view,
    generate_from_prompt,
    load_monitor,
    measures_chart,
    measures_charts,
    measures_table,
    page_view,
    row_for,
)

WIDTH = CARD_WIDTH * CARD_SCALE


def same_image(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None


@pytest.fixture(scope="module")
def two_arm_store(tmp_path_factory) -> LocalFeatureStore:
    """Four daily runs, each with a champion (v3) and a challenger (v4) row."""
    store = LocalFeatureStore(tmp_path_factory.mktemp("monitor"))
    store.insert(GENERATED_TWEETS, monitor_frame(4, arms=("champion", "challenger")))
    return store


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> LocalModelRegistry:
    return register_tiny_champion(tmp_path_factory.mktemp("registry"))[0]


class FakePredictor:
    """Records the prompts it is given; answers with the prompt plus a fixed ending."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def generate(self, prompt: str, seed: int) -> tuple[str, ModelVersion]:
        self.prompts.append(prompt)
        return f"{prompt} and more".strip(), ModelVersion("tweet_gpt2", 7, {})


# ---------------------------------------------------------------------------------------------
# Monitor rows and the day picker


def test_monitor_is_read_newest_first_with_champion_before_challenger(two_arm_store) -> None:
    frame = load_monitor(two_arm_store)
    assert len(frame) == 8
    assert list(frame["tweet_id"]) == [1003, 1003, 1002, 1002, 1001, 1001, 1000, 1000]
    assert list(frame["arm"][:2]) == ["champion", "challenger"]
    assert list(frame["likes"]) == [0] * 8  # no tweets group: counts are unknown, shown as none


def test_counts_come_from_the_tweets_group(tmp_path) -> None:
    frame = load_monitor(demo_store(tmp_path, n_runs=3))
    assert list(frame["tweet_id"]) == [FIRST_ID + 2, FIRST_ID + 1, FIRST_ID]
    assert list(frame["likes"]) == [18_600, 15_500, 12_400]
    assert list(frame["replies"]) == [520, 465, 410]


def test_day_choices_label_every_row_and_the_picker_returns_that_row(two_arm_store) -> None:
    frame = load_monitor(two_arm_store)
    choices = day_choices(frame)
    # the run's time, the family and version that wrote the row, the day of the tweet it answered
    assert choices[0] == "Jan 13, 2026 06:00 UTC · LSTM v3 (champion) · tweet of Jan 13, 2026"
    assert choices[3] == "Jan 12, 2026 06:00 UTC · GPT-2 v4 (challenger) · tweet of Jan 12, 2026"
    assert len(set(choices)) == len(choices) == 8
    row = row_for(frame, choices[3])
    assert (row["tweet_id"], row["arm"], row["model_version"]) == (1002, "challenger", 4)
    assert row_for(frame, "Jan 01, 1999 · nothing")["tweet_id"] == 1003  # unknown label: the newest
    assert row_for(frame, None)["tweet_id"] == 1003


def test_repeated_labels_are_made_unique() -> None:
    frame = monitor_frame(2)
    frame["generated_at"] = frame["generated_at"].iloc[0]
    frame["tweet_created_at"] = frame["tweet_created_at"].iloc[0]
    assert day_choices(frame) == [
        "Jan 10, 2026 06:00 UTC · LSTM v3 (champion) · tweet of Jan 10, 2026",
        "Jan 10, 2026 06:00 UTC · LSTM v3 (champion) · tweet of Jan 10, 2026 #2",
    ]


def test_empty_store_explains_what_to_run(tmp_path) -> None:
    store = LocalFeatureStore(tmp_path)
    frame = load_monitor(store)
    assert frame.empty and "prompted_text" in frame.columns
    view = day_view(frame)
    assert view.images == (None, None, None)
    assert view.summary == EMPTY_MONITOR_MESSAGE
    assert "make demo" in view.summary and "python batch_inference.py" in view.summary
    assert view.choices == [] and view.measures.empty
    assert len(measures_chart(frame).axes) == 3  # an empty chart, not an error
    assert [figure.axes[0].texts[0].get_text() for figure in measures_charts(frame)] == ["No runs yet"] * 3


def test_an_unreadable_store_gives_a_message_not_an_error(tmp_path) -> None:
    class BrokenStore(LocalFeatureStore):
        def exists(self, spec) -> bool:
            raise StoreError("Hopsworks did not answer in 60 s.")

    view, frame = page_view(MonitorCache(BrokenStore(tmp_path)))
    assert frame.empty and view.images == (None, None, None)
    assert "could not be read" in view.summary and "did not answer" in view.summary


def test_monitor_cache_rereads_only_when_stale_or_asked(tmp_path) -> None:
    store = LocalFeatureStore(tmp_path)
    cache = MonitorCache(store, max_age_s=3600)
    assert cache.frame().empty
    store.insert(GENERATED_TWEETS, monitor_frame(2))
    assert cache.frame().empty  # fresh enough: not read again
    assert len(cache.frame(refresh=True)) == 2


# ---------------------------------------------------------------------------------------------
# One run: cards, summary, measures


def test_cards_are_three_images_and_only_the_generated_ones_are_labelled(tmp_path) -> None:
    frame = load_monitor(demo_store(tmp_path, n_runs=2))
    row = frame.iloc[1]  # the older run
    images = cards_for(row, "light", username="someone")
    assert len(images) == 3 and all(isinstance(image, Image.Image) and image.width == WIDTH for image in images)
    real_text, prompted_text, random_text = RUNS[0]
    created = row["tweet_created_at"].to_pydatetime()
    name, handle = SAMPLE_DISPLAY_NAME, SAMPLE_USERNAME  # the demo store holds the invented sample account's tweets
    real = TweetCard(real_text, name, handle, created, likes=12_400, retweets=830, replies=410, verified=False, initials="SF")
    assert same_image(images[0], render_tweet(real, scale=CARD_SCALE, width=CARD_WIDTH))
    generated_at = row["generated_at"].to_pydatetime()
    for image, text in zip(images[1:], (prompted_text, random_text), strict=True):
        card = TweetCard(text, name, handle, generated_at, generated=True, label="Generated by LSTM v3", verified=False, initials="SF")
        assert same_image(image, render_tweet(card, scale=CARD_SCALE, width=CARD_WIDTH))
        unlabelled = TweetCard(text, name, handle, generated_at, verified=False, initials="SF")
        assert image.height > render_tweet(unlabelled, scale=CARD_SCALE, width=CARD_WIDTH).height


def test_a_run_without_prompt_says_so_in_the_middle_card(monkeypatch) -> None:
    row = monitor_frame(1).iloc[0].copy()
    row["prompt"], row["prompted_text"] = "", ""
    shown: list[str] = []
    real_message_image = views.message_image
    monkeypatch.setattr(views, "message_image", lambda text, theme="light": shown.append(text) or real_message_image(text, theme))
    images = cards_for(row)
    assert shown == [views.NO_PROMPT_MESSAGE] and images[1].width == WIDTH
    assert "prompt (none: the tweet had no words)" in views.model_summary(row)


def test_dark_theme_cards_are_dark(two_arm_store) -> None:
    real = cards_for(load_monitor(two_arm_store).iloc[0], "dark")[0]
    assert real.getpixel((real.width // 2, 4 * CARD_SCALE)) == (0, 0, 0)


def test_measures_table_and_summary_show_the_run(two_arm_store) -> None:
    frame = load_monitor(two_arm_store)
    row = row_for(frame, day_choices(frame)[2])  # run 2, champion
    table = measures_table(row)
    assert list(table.columns) == ["measure", "real", "from prompt", "random"]
    by_measure = table.set_index("measure")
    assert by_measure.loc["characters", "real"] == str(len(RUNS[2][0]))
    assert by_measure.loc["longest run of words copied from training", "from prompt"] == "2"
    assert by_measure.loc["bits per character under the model", "real"] == "2.800"
    assert by_measure.loc["sentiment (VADER, -1 to 1)", "random"] == "0.10"
    summary = day_view(frame, day_choices(frame)[2]).summary
    assert "**Model** LSTM version 3 (champion, registry name `tweet_gpt2`)" in summary
    assert "seed 1002" in summary and "“Working on”" in summary
    assert "run at 6:00 AM · Jan 12, 2026 UTC, answering the tweet of 3:00 AM · Jan 12, 2026 UTC" in summary


# ---------------------------------------------------------------------------------------------
# The chart


def test_chart_compares_the_families_and_has_one_point_per_champion_run_in_each_series(two_arm_store) -> None:
    figure = measures_chart(load_monitor(two_arm_store))
    bits, sentiment, copies = figure.axes
    assert [len(ax.lines) for ax in figure.axes] == [2, 3, 2]
    assert all(len(line.get_xdata()) == 4 for ax in figure.axes for line in ax.lines)
    assert [line.get_label() for line in bits.lines] == ["gpt2", "lstm"]  # one line per model family, both arms
    assert list(bits.lines[1].get_ydata()) == pytest.approx([3.0, 2.9, 2.8, 2.7])  # the LSTM champion, oldest first
    assert list(copies.lines[0].get_ydata()) == [0, 1, 2, 3]
    assert [line.get_label() for line in sentiment.lines] == ["real", "from prompt", "random"]


def test_the_page_charts_are_the_three_panels_of_the_wide_chart(two_arm_store) -> None:
    frame = load_monitor(two_arm_store)
    figures = measures_charts(frame)
    assert len(figures) == 3 and all(len(figure.axes) == 1 for figure in figures)
    for wide, figure in zip(measures_chart(frame).axes, figures, strict=True):
        panel = figure.axes[0]
        assert panel.get_title() == wide.get_title()
        assert [line.get_label() for line in panel.lines] == [line.get_label() for line in wide.lines]
        assert [list(line.get_ydata()) for line in panel.lines] == [list(line.get_ydata()) for line in wide.lines]


def _pixels_of(figure, colour: str, tolerance: int = 40) -> int:
    """How many pixels of the drawn ``figure`` are within ``tolerance`` of ``colour`` (#rrggbb)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    target = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels - target).sum(axis=-1) < tolerance).sum())


def test_the_real_sentiment_line_stays_visible_where_a_generated_line_lies_on_it() -> None:
    frame = monitor_frame(6)
    frame["prompted_sentiment"] = frame["real_sentiment"]  # the premise: the two lines coincide
    figure = measures_charts(frame)[1]
    ax = figure.axes[0]
    real, prompted, random = ax.lines
    assert list(real.get_ydata()) == list(prompted.get_ydata())
    assert real.get_zorder() > max(prompted.get_zorder(), random.get_zorder())  # the real line is on top...
    assert real.get_linestyle() == "--" and prompted.get_linestyle() == "-"  # ...dashed, so the one under it shows
    assert len({real.get_marker(), prompted.get_marker(), random.get_marker()}) == 3
    ax.get_legend().remove()  # count the lines' pixels only
    assert _pixels_of(figure, "#1D9BF0") > 100 and _pixels_of(figure, "#0F1419") > 100


# ---------------------------------------------------------------------------------------------
# The prompt box


def test_prompt_longer_than_the_bound_is_cut() -> None:
    predictor = FakePredictor()
    image = generate_from_prompt("  " + "rocket " * 40, predictor, seed=1)
    assert len(predictor.prompts[0]) <= MAX_PROMPT_CHARS
    assert predictor.prompts[0] == ("rocket " * 40)[:MAX_PROMPT_CHARS].rstrip()
    assert image.width == WIDTH


@pytest.mark.parametrize("prompt", ["", "   ", None])
def test_empty_prompt_asks_for_a_random_tweet(prompt) -> None:
    predictor = FakePredictor()
    assert generate_from_prompt(prompt, predictor, seed=1).width == WIDTH
    assert predictor.prompts == [""]


def test_predictor_loads_the_champion_once_and_only_when_first_used(tiny) -> None:
    opened: list[int] = []

    def open_registry() -> LocalModelRegistry:
        opened.append(1)
        return tiny

    predictor = Predictor(open_registry, "tweet_gpt2", max_new_tokens=12)
    assert not predictor.loaded and opened == []
    first, version = predictor.generate("The rocket", seed=3)
    again, _ = predictor.generate("The rocket", seed=3)
    other, _ = predictor.generate("", seed=4)
    assert opened == [1] and predictor.loaded and version.version == 1
    assert first == again and first.startswith("The rocket") and other != first


def test_real_model_images_for_long_empty_and_normal_prompts(tiny) -> None:
    predictor = Predictor(lambda: tiny, "tweet_gpt2", max_new_tokens=12)
    for prompt in ("", "The rocket", "x" * 1000):
        assert generate_from_prompt(prompt, predictor).width == WIDTH


def test_no_trained_model_gives_an_explanation_image(tmp_path, monkeypatch) -> None:
    predictor = Predictor(lambda: LocalModelRegistry(tmp_path / "models"), "tweet_gpt2")
    with pytest.raises(ModelUnavailableError, match="make demo"):
        predictor.generate("hi", seed=0)
    shown: list[str] = []
    real_message_image = views.message_image
    monkeypatch.setattr(views, "message_image", lambda text, theme="light": shown.append(text) or real_message_image(text, theme))
    image = generate_from_prompt("hi", predictor)
    assert image.width == WIDTH and len(shown) == 1 and "make demo" in shown[0]


def test_frames_with_naive_times_are_read_as_utc() -> None:
    row = monitor_frame(1).iloc[0].copy()
    row["tweet_created_at"] = pd.Timestamp("2026-01-10 03:00:00")
    row["generated_at"] = pd.Timestamp("2026-01-10 06:00:00")
    assert len(cards_for(row)) == 3


def test_the_real_tweet_card_shows_text_as_people_read_it() -> None:
    from tweetgen.ui.views import real_tweet_card

    row = monitor_frame(n_runs=1).iloc[0].copy()
    row["tweet_text"], row["tweet_username"] = "Monday -&gt; Friday &amp; i &lt;3 dogs", "someone"
    card = real_tweet_card(row, "someone")
    assert card.text == "Monday -> Friday & i <3 dogs"
    assert card.handle == "someone"


def test_cards_show_the_display_name_above_the_handle() -> None:
    from tweetgen.ui.views import real_tweet_card

    row = monitor_frame(n_runs=1).iloc[0].copy()
    row["tweet_username"] = "elonmusk"
    card = real_tweet_card(row, "elonmusk", "Elon Musk")
    assert (card.display_name, card.handle, card.verified) == ("Elon Musk", "elonmusk", True)
    row["tweet_username"] = "nasa"
    assert (real_tweet_card(row, "nasa").display_name, real_tweet_card(row, "elonmusk", "Elon Musk").display_name) == ("nasa", "nasa")
