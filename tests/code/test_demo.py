"""The demo's pipeline stages (not the server) in a temporary data directory, and the reuse
helpers the notebooks share with it."""

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes.kaggle_files import write_kaggle_years
from tests.fakes.models import MODEL_NAME, register_tiny_model
from tests.fakes.tweet_texts import invented_tweets, tweets_with_texts
from tweetgen.config import Settings
from tweetgen.errors import TweetgenError
from tweetgen.model.families import family_name
from tweetgen.model.train import TrainConfig
from tweetgen.pipelines.demo import DEMO_DAYS, REPLAY_PER_DAY, ensure_champion, ensure_history, run_demo
from tweetgen.pipelines.features import run_feature_pipeline
from tweetgen.pipelines.jobs import inference_job
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.schema import GENERATED_TWEETS, JOB_RUNS, SAMPLE_USERNAME, TWEETS
from tweetgen.sources.replay import REPLAY_HOLDOUT
from tweetgen.sources.sample import SAMPLE_TWEETS
from tweetgen.store.local import LocalFeatureStore
from tweetgen.store.query import LAST_RUNS_SQL, run_query
from tweetgen.ui.accounts import SAMPLE_NOTICE
from tweetgen.ui.views import day_choices, day_view, load_monitor, measures_charts, row_for

HISTORY_ROWS = SAMPLE_TWEETS - REPLAY_HOLDOUT
TINY = TrainConfig(n_layer=2, n_embd=64, n_head=2, hidden_size=64, vocab_size=512, max_steps=20, n_quality_samples=10, progress=False)


def test_demo_stages_produce_every_artefact_then_reuse_them() -> None:
    settings = Settings.load()
    printed: list[str] = []
    first = run_demo(settings, train_config=TINY, echo=printed.append)

    store = LocalFeatureStore(settings.feature_store_dir)
    tweets = store.read(TWEETS)
    assert len(tweets) == SAMPLE_TWEETS - REPLAY_HOLDOUT + REPLAY_PER_DAY * DEMO_DAYS
    assert (tweets["source"] == "live").sum() == REPLAY_PER_DAY * DEMO_DAYS
    registry = LocalModelRegistry(settings.data_dir / "models")
    assert [(v.version, v.family) for v in registry.versions(settings.model_name)] == [(1, "lstm"), (2, "gpt2")]
    champion = registry.champion(settings.model_name)
    monitor = store.read(GENERATED_TWEETS).sort_values("generated_at")
    runs = DEMO_DAYS + 1  # the backfilled mornings, then today's daily job
    assert len(monitor) == 2 * runs  # the A/B test: the champion and the other family's model, each run
    assert set(monitor.loc[monitor["arm"] == "champion", "model_version"]) == {champion.version}
    assert sorted(monitor["model_family"].unique()) == ["gpt2", "lstm"]
    monitor = monitor[monitor["arm"] == "champion"]
    assert monitor["tweet_id"].is_unique
    # One timeline: the backfill stands for the daily runs of the mornings before today, each answering an older
    # tweet than the next; today's daily job answers the newest tweet.
    today = pd.Timestamp.now(tz="UTC").normalize()
    backfilled, daily = monitor.iloc[:-1], monitor.iloc[-1]
    assert list(backfilled["generated_at"]) == [today - pd.Timedelta(days=k) + pd.Timedelta(hours=6) for k in range(DEMO_DAYS, 0, -1)]
    assert pd.Timestamp.now(tz="UTC") - daily["generated_at"] < pd.Timedelta(minutes=10)
    assert monitor["tweet_created_at"].is_monotonic_increasing and daily["tweet_created_at"] == tweets["created_at"].max()
    stages = dict((n, s) for n, s, _ in first.stages)
    assert stages["daily job"] == "2 monitor rows written for the newest tweet; the run is recorded in job_runs"
    assert stages["batch inference"].startswith(f"{2 * DEMO_DAYS} monitor rows written by {DEMO_DAYS} daily runs of ")
    assert [name for name, _, _ in first.stages] == ["history", "live (replay)", "training", "batch inference", "daily job"]
    # Every job the demo ran is recorded, in order.
    runs = store.read(JOB_RUNS).sort_values("started_at")
    assert runs[["job", "status"]].values.tolist() == [
        ["features", "ok"], ["scrape", "ok"], ["train", "ok"], ["train", "ok"], ["backfill", "ok"], ["inference", "ok"]]
    assert json.loads(runs.iloc[4]["counts"]) == {"runs": DEMO_DAYS, "rows_written": 2 * DEMO_DAYS}
    assert "== training" in printed
    # Everything the demo shows is the invented sample account's, and the page says so.
    assert dict((n, s) for n, s, _ in first.stages)["history"].startswith(
        f"{SAMPLE_TWEETS:,} invented tweets of the sample account @{SAMPLE_USERNAME} read, {HISTORY_ROWS:,} inserted")
    assert set(tweets["username"]) == {SAMPLE_USERNAME}
    view = day_view(load_monitor(store), username=settings.username, display_name=settings.display_name)
    assert view.summary.startswith(SAMPLE_NOTICE)

    second = run_demo(settings, train_config=TINY, echo=lambda line: None)
    summaries = dict((name, summary) for name, summary, _ in second.stages)
    assert "0 inserted" in summaries["history"]
    assert "already released" in summaries["live (replay)"]
    assert summaries["training"].startswith(f"champion tweet_model v{champion.version} ({family_name(champion.family)}) exists")
    assert summaries["batch inference"].startswith(f"0 monitor rows written by {DEMO_DAYS} daily runs")
    assert summaries["daily job"].startswith("0 monitor rows written for the newest tweet; already answered by champion")
    assert len(store.read(GENERATED_TWEETS)) == 2 * (DEMO_DAYS + 1)
    assert store.read(JOB_RUNS)["job"].value_counts().to_dict() == {"features": 2, "scrape": 1, "train": 2, "backfill": 2, "inference": 2}


@pytest.fixture
def store(tmp_path: Path) -> LocalFeatureStore:
    return LocalFeatureStore(tmp_path / "feature_store")


def test_ensure_history_fills_an_empty_local_store_once(store: LocalFeatureStore) -> None:
    report = ensure_history(store)
    assert report is not None and report.inserted == HISTORY_ROWS
    assert ensure_history(store) is None, "an existing group is left as it is"
    assert len(store.read(TWEETS)) == HISTORY_ROWS


def test_ensure_history_never_writes_invented_tweets_to_another_backend(store: LocalFeatureStore) -> None:
    with pytest.raises(TweetgenError, match="does not exist .*feature_engineering.py"):
        ensure_history(store, backend="hopsworks")
    assert not store.exists(TWEETS)


def test_ensure_champion_reuses_the_champion_without_training(store: LocalFeatureStore, tmp_path: Path) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    champion = register_tiny_model(registry)
    # The store is empty: training would fail, so reaching it would show.
    assert ensure_champion(store, registry, TrainConfig(model_name=MODEL_NAME)).version == champion.version
    assert [v.version for v in registry.versions(MODEL_NAME)] == [1]


def test_ensure_champion_trains_when_there_is_none(store: LocalFeatureStore, tmp_path: Path) -> None:
    store.insert(TWEETS, tweets_with_texts(invented_tweets(60)))
    registry = LocalModelRegistry(tmp_path / "models")
    config = TrainConfig(
        model_name=MODEL_NAME, vocab_size=300, n_layer=1, n_embd=32, n_head=2, block_size=32, batch_size=4,
        max_steps=2, n_samples=1, num_threads=1, progress=False,
    )
    version = ensure_champion(store, registry, config)
    assert version.version == 1 and registry.champion(MODEL_NAME).version == 1
    assert version.metrics["train_steps"] == 2


def test_the_demo_runs_on_real_tweets_when_the_store_holds_them(tmp_path: Path) -> None:
    settings = Settings.load()
    tweets = write_kaggle_years(tmp_path / "kaggle", 60)
    store = LocalFeatureStore(settings.feature_store_dir)
    run_feature_pipeline(store, source="kaggle", paths=[tmp_path / "kaggle"], username=settings.username)
    report = run_demo(settings, days=2, train_config=TINY, echo=lambda line: None)
    stages = dict((name, summary) for name, summary, _ in report.stages)
    assert stages["history"] == "the tweets group holds 54 real tweets of @elonmusk: the demo runs on them"
    assert stages["live (replay)"] == "6 new tweets released by the replay; 0 left to release."
    stored = store.read(TWEETS)
    assert SAMPLE_USERNAME not in set(stored["username"]) and sorted(stored["tweet_id"]) == [t.id for t in tweets]
    view = day_view(load_monitor(store), username=settings.username, display_name=settings.display_name)
    assert view.summary.startswith("**Model**")  # real tweets: no notice, the real account on the cards


def test_a_kaggle_history_and_the_daily_job_share_one_timeline(tmp_path: Path) -> None:
    # The real-data path: ingest the Kaggle files (years ago), train, run the daily job, then `make demo`.
    settings = Settings.load()
    store = LocalFeatureStore(settings.feature_store_dir)
    write_kaggle_years(tmp_path / "kaggle", 60)
    run_feature_pipeline(store, source="kaggle", paths=[tmp_path / "kaggle"], username=settings.username)
    registry = LocalModelRegistry(settings.data_dir / "models")
    register_tiny_model(registry, bits_per_char=3.0, family="lstm", name=settings.model_name)
    register_tiny_model(registry, bits_per_char=3.5, family="gpt2", name=settings.model_name)
    before = inference_job(settings)  # batch_inference.py, today
    days = 3
    run_demo(settings, days=days, echo=lambda line: None)

    frame = load_monitor(store)
    champion = frame[frame["arm"] == "champion"].sort_values("generated_at")
    now = pd.Timestamp.now(tz="UTC")
    assert champion["tweet_created_at"].max() < now - pd.Timedelta(days=365)  # the premise: the tweets are years old
    # Every run sits in the last few days: the backfilled mornings, the daily job before the demo, the demo's own.
    assert len(champion) == days + 2
    assert champion["generated_at"].min() >= now.normalize() - pd.Timedelta(days=days)
    assert champion["generated_at"].max() <= now
    demo_runs = champion[champion["tweet_id"] != before.tweet_id]
    assert demo_runs["tweet_created_at"].is_monotonic_increasing  # each run answers an older tweet than the next
    # The chart's axis spans those days, not the years between the tweets and today.
    for figure in measures_charts(frame):
        for line in figure.axes[0].lines:
            times = pd.to_datetime(pd.Series(line.get_xdata()))
            assert times.max() - times.min() <= pd.Timedelta(days=days + 1)
    # The run the page opens on is the newest run, and it answers the newest tweet.
    newest = day_view(frame, username=settings.username, display_name=settings.display_name)
    assert newest.choice == day_choices(frame)[0] and newest.choice.endswith(f"tweet of {store.read(TWEETS)['created_at'].max():%b %d, %Y}")
    assert row_for(frame, None)["tweet_created_at"] == store.read(TWEETS)["created_at"].max()
    last = run_query(store, LAST_RUNS_SQL.format(n=2))  # `query --last`: the newest run first, with the tweet it answered
    assert last["generated_at"].tolist() == [champion["generated_at"].max()] * 2
    assert last["answered_tweet_at"].tolist() == [store.read(TWEETS)["created_at"].max()] * 2
    # "What did the model generate yesterday?" finds yesterday morning's run.
    yesterday = (now - pd.Timedelta(days=1)).date()
    answer = run_query(store, "SELECT arm, generated_at FROM generated_tweets "
                              f"WHERE CAST(timezone('UTC', generated_at) AS DATE) = DATE '{yesterday}' ORDER BY arm")
    assert answer["arm"].tolist() == ["challenger", "champion"]
