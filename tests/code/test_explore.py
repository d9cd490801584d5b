"""The notebooks' helpers: settings, setup, summaries for plots, Delta history, costs and clocks."""

from __future__ import annotations

import lzma
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tests.fakes.frames import tweets_frame
from tests.fakes.models import MODEL_NAME, register_tiny_model
from tests.fakes.tweet_texts import invented_tweets, tweets_with_texts
from tweetgen import explore
from tweetgen.errors import SourceError, TweetgenError
from tweetgen.feature_store import FeatureStore, GroupNotFoundError
from tweetgen.registry_local import LocalModelRegistry
from tweetgen.schema import TWEETS
from tweetgen.sources import REPLAY_HOLDOUT, SAMPLE_TWEETS
from tweetgen.store_local import LocalFeatureStore
from tweetgen.training import TrainConfig

HISTORY_ROWS = SAMPLE_TWEETS - REPLAY_HOLDOUT


@pytest.fixture
def store(tmp_path: Path) -> LocalFeatureStore:
    return LocalFeatureStore(tmp_path / "feature_store")


# --- settings --------------------------------------------------------------------------------


def test_notebook_settings_resolve_a_relative_data_dir_against_the_repository() -> None:
    settings = explore.notebook_settings(environ={})
    assert settings.data_dir == explore.REPO_ROOT / "data"
    assert explore.notebook_settings("elsewhere", environ={}).data_dir == explore.REPO_ROOT / "elsewhere"


def test_notebook_settings_prefer_the_parameter_then_the_environment(tmp_path: Path) -> None:
    from_env = explore.notebook_settings(environ={"TWEETGEN_DATA_DIR": str(tmp_path / "env")})
    assert from_env.data_dir == tmp_path / "env"
    given = explore.notebook_settings(tmp_path / "given", environ={"TWEETGEN_DATA_DIR": str(tmp_path / "env")})
    assert given.data_dir == tmp_path / "given"
    assert explore.notebook_settings(environ={"TWEETGEN_BACKEND": "LOCAL"}).backend == "local"


# --- setup -----------------------------------------------------------------------------------


def test_ensure_history_fills_an_empty_local_store_once(store: LocalFeatureStore) -> None:
    report = explore.ensure_history(store)
    assert report is not None and report.inserted == HISTORY_ROWS
    assert explore.ensure_history(store) is None, "an existing group is left as it is"
    assert len(store.read(TWEETS)) == HISTORY_ROWS


def test_ensure_history_never_writes_invented_tweets_to_another_backend(store: LocalFeatureStore) -> None:
    with pytest.raises(TweetgenError, match="does not exist .*feature_engineering.py"):
        explore.ensure_history(store, backend="hopsworks")
    assert not store.exists(TWEETS)


def test_ensure_champion_reuses_the_champion_without_training(store: LocalFeatureStore, tmp_path: Path) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    champion = register_tiny_model(registry)
    # The store is empty: training would fail, so reaching it would show.
    assert explore.ensure_champion(store, registry, TrainConfig(model_name=MODEL_NAME)).version == champion.version
    assert [v.version for v in registry.versions(MODEL_NAME)] == [1]


def test_ensure_champion_trains_when_there_is_none(store: LocalFeatureStore, tmp_path: Path) -> None:
    store.insert(TWEETS, tweets_with_texts(invented_tweets(60)))
    registry = LocalModelRegistry(tmp_path / "models")
    config = TrainConfig(
        model_name=MODEL_NAME, vocab_size=300, n_layer=1, n_embd=32, n_head=2, block_size=32, batch_size=4,
        max_steps=2, n_samples=1, num_threads=1, progress=False,
    )
    version = explore.ensure_champion(store, registry, config)
    assert version.version == 1 and registry.champion(MODEL_NAME).version == 1
    assert version.metrics["train_steps"] == 2


# --- the base model check --------------------------------------------------------------------


def test_check_base_model_accepts_tiny_on_any_device() -> None:
    check = explore.check_base_model("tiny", cuda_available=False)
    assert check.ok and check.device == "cpu" and "from scratch" in str(check)


def test_check_base_model_refuses_a_model_it_cannot_load_and_says_what_to_do() -> None:
    check = explore.check_base_model("no-such-org/no-such-model", cuda_available=False, hub_reachable=lambda: False)
    assert not check.ok
    assert "Cannot load the base model 'no-such-org/no-such-model'" in check.message
    assert 'BASE_MODEL = "tiny"' in check.message


def test_check_base_model_warns_that_a_pretrained_model_on_a_cpu_is_slow(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    on_cpu = explore.check_base_model(str(tmp_path), cuda_available=False)
    assert on_cpu.ok and "no GPU" in on_cpu.message and str(tmp_path) in on_cpu.message
    on_gpu = explore.check_base_model("some/model", cuda_available=True, hub_reachable=lambda: True)
    assert on_gpu.ok and on_gpu.device == "cuda" and "downloaded from the Hugging Face Hub" in on_gpu.message


# --- exploring -------------------------------------------------------------------------------


def test_load_tweets_runs_the_pipeline_steps_without_writing(tmp_path: Path) -> None:
    frame, summary = explore.load_tweets("sample")
    assert len(frame) == HISTORY_ROWS and list(frame.columns) == TWEETS.columns
    assert summary.startswith("sample corpus: 3,400 rows read, 0 duplicate ids dropped")
    with pytest.raises(SourceError, match="needs --path"):
        explore.load_tweets("kaggle")
    with pytest.raises(SourceError, match="Unknown source 'csv'"):
        explore.load_tweets("csv")


def test_load_tweets_reads_the_store(tmp_path: Path) -> None:
    settings = explore.notebook_settings(tmp_path, environ={})
    with pytest.raises(GroupNotFoundError):
        explore.load_tweets("store", settings=settings)
    LocalFeatureStore(settings.feature_store_dir).insert(TWEETS, tweets_frame(range(1, 6)))
    frame, summary = explore.load_tweets("store", settings=settings)
    assert sorted(frame["tweet_id"]) == [1, 2, 3, 4, 5] and summary.startswith("5 tweets read")


def test_tweets_per_month_counts_every_month_including_empty_ones() -> None:
    times = pd.to_datetime(["2021-01-05 00:00", "2021-01-31 23:59", "2021-04-01 00:00", "2021-04-30 12:00"], utc=True)
    counts = explore.tweets_per_month(pd.DataFrame({"created_at": times}))
    assert counts.tolist() == [2, 0, 0, 2]
    assert counts.index[0] == pd.Timestamp("2021-01-01") and counts.index[-1] == pd.Timestamp("2021-04-01")
    assert explore.tweets_per_month(pd.DataFrame({"created_at": pd.Series([], dtype="datetime64[us, UTC]")})).empty


def test_tweets_per_month_uses_utc_months() -> None:
    late = pd.Series([pd.Timestamp("2021-01-31 23:30", tz="America/New_York")])  # Feb 1 in UTC
    assert explore.tweets_per_month(pd.DataFrame({"created_at": late})).index.tolist() == [pd.Timestamp("2021-02-01")]


def test_shares_by_year() -> None:
    frame = tweets_frame(range(6), created_at=pd.to_datetime(["2020-06-01"] * 4 + ["2021-06-01"] * 2, utc=True),
                         is_reply=[True, True, False, False, True, True], is_quote=[True, False, False, False, False, False])
    shares = explore.shares_by_year(frame)
    assert shares.index.tolist() == [2020, 2021]
    assert shares["tweets"].tolist() == [4, 2]
    assert shares["reply_share"].tolist() == [0.5, 1.0] and shares["quote_share"].tolist() == [0.25, 0.0]


def test_language_counts_keep_the_top_and_sum_the_rest() -> None:
    frame = pd.DataFrame({"lang": ["en"] * 5 + ["und"] * 3 + ["de", "fr", None]})
    assert explore.language_counts(frame, top=2).to_dict() == {"en": 5, "und": 4, "other": 2}
    assert explore.language_counts(frame, top=10).to_dict() == {"en": 5, "und": 4, "de": 1, "fr": 1}


def test_cleaning_examples_show_each_kind_of_change_once() -> None:
    frame, _ = explore.load_tweets("sample")
    examples = explore.cleaning_examples(frame, per_case=2)
    assert list(examples.columns) == ["case", "text", "clean_text"]
    assert examples["case"].value_counts().to_dict() == {case: 2 for case in explore.CLEANING_CASES}
    assert not examples.duplicated(["text"]).any()
    links = examples[examples["case"] == "link removed"]
    assert links["text"].str.contains("https://t.co/").all() and not links["clean_text"].str.contains("https://").any()
    assert (examples.loc[examples["case"] == "nothing left (kept, not trained on)", "clean_text"] == "").all()
    unchanged = examples[examples["case"] == "unchanged"]
    assert (unchanged["text"] == unchanged["clean_text"]).all()


# --- the Delta table -------------------------------------------------------------------------


def test_delta_history_lists_each_commit_with_the_rows_it_added(store: LocalFeatureStore) -> None:
    store.insert(TWEETS, tweets_frame(range(1, 4)))
    store.insert(TWEETS, tweets_frame(range(1, 4)))  # nothing new: no commit
    store.insert(TWEETS, tweets_frame(range(3, 6)))
    history = explore.delta_history(store, TWEETS)
    assert history["version"].tolist() == [0, 1, 2] == list(range(store.table_version(TWEETS) + 1))
    assert history["operation"].tolist() == ["WRITE", "MERGE", "MERGE"]
    assert history["rows_added"].tolist()[1:] == [3, 2]
    assert str(history["timestamp"].dt.tz) == "UTC"
    assert [len(explore.read_table_version(store, TWEETS, v)) for v in (0, 1, 2)] == [0, 3, 5]


def test_delta_history_needs_a_local_store_and_an_existing_group(store: LocalFeatureStore) -> None:
    with pytest.raises(GroupNotFoundError):
        explore.delta_history(store, TWEETS)

    class Other(FeatureStore):  # any store that is not the local one
        where = "elsewhere"
        _merge_new = exists = read = None  # type: ignore[assignment]

    with pytest.raises(TweetgenError, match="elsewhere is not a local store"):
        explore.delta_history(Other(), TWEETS)


# --- models ----------------------------------------------------------------------------------


def test_loss_curve_png_reads_the_stored_file_or_draws_it_from_the_card(tmp_path: Path) -> None:
    from tweetgen.registry import ModelVersion

    card = {"loss_curve": [3.0, 2.5, 2.0], "eval_losses": [[3, 2.2]]}
    remote = ModelVersion("m", 1, {}, card, "Models/m/1")  # e.g. a Hopsworks path: nothing local
    assert explore.loss_curve_png(remote)[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "loss_curve.png").write_bytes(b"\x89PNG stored")
    assert explore.loss_curve_png(ModelVersion("m", 2, {}, card, str(tmp_path))) == b"\x89PNG stored"
    with pytest.raises(TweetgenError, match="no loss curve"):
        explore.loss_curve_png(ModelVersion("m", 3, {}, {}, "Models/m/3"))


def test_compressor_bits_per_char_counts_characters_like_evaluate() -> None:
    texts = ["a" * 99, "b" * 99]
    expected = 8 * len(lzma.compress(("a" * 99 + "\n" + "b" * 99 + "\n").encode(), preset=9 | lzma.PRESET_EXTREME)) / 200
    assert explore.compressor_bits_per_char(texts) == pytest.approx(expected)
    assert explore.compressor_bits_per_char(invented_tweets(500)) < explore.compressor_bits_per_char(["ab"]), "repetition compresses"
    with pytest.raises(ValueError):
        explore.compressor_bits_per_char([])


# --- live tweets and schedules ----------------------------------------------------------------


def test_x_api_cost() -> None:
    assert explore.x_api_cost_usd(0) == 0
    assert explore.x_api_cost_usd(20, user_lookups=1) == pytest.approx(0.11)
    assert explore.x_api_cost_usd(30_000) == pytest.approx(150.0)


def test_upcoming_runs_are_the_next_cron_times_in_utc() -> None:
    after = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
    assert explore.upcoming_runs("0 6 * * *", after, n=2) == [datetime(2026, 1, 16, 6, 0, tzinfo=UTC), datetime(2026, 1, 17, 6, 0, tzinfo=UTC)]
    in_paris = datetime(2026, 1, 15, 6, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    assert explore.upcoming_runs("30 5 * * *", in_paris, n=1) == [datetime(2026, 1, 16, 5, 30, tzinfo=UTC)]


def test_simulated_clock_moves_only_when_slept() -> None:
    start = datetime(2026, 1, 15, 5, 0, tzinfo=UTC)
    clock, sleep = explore.simulated_clock(start)
    assert clock() == start
    sleep(90.5)
    sleep(-5)  # a negative wait does not move the clock back
    assert clock() == start + timedelta(seconds=90.5)
    with pytest.raises(ValueError, match="timezone-aware"):
        explore.simulated_clock(datetime(2026, 1, 15))


def test_simulated_clock_runs_a_schedule_without_waiting() -> None:
    from tweetgen.scheduler import Job, run_forever

    ran: list[str] = []
    clock, sleep = explore.simulated_clock(datetime(2026, 1, 15, 5, 0, tzinfo=UTC))
    jobs = [Job("early", "30 5 * * *", lambda: ran.append(f"early {clock():%H:%M}")),
            Job("late", "0 6 * * *", lambda: ran.append(f"late {clock():%H:%M}"))]
    assert run_forever(jobs, clock=clock, sleep=sleep, max_runs=3, log=lambda line: None) == 3
    assert ran == ["early 05:30", "late 06:00", "early 05:30"]
    assert clock().date() == datetime(2026, 1, 16).date()
