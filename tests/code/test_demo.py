"""The demo's pipeline stages (not the server) in a temporary data directory, and the reuse
helpers the notebooks share with it."""

from pathlib import Path

import pandas as pd
import pytest

from tests.fakes.kaggle_files import write_kaggle_years
from tests.fakes.models import MODEL_NAME, register_tiny_model
from tests.fakes.tweet_texts import invented_tweets, tweets_with_texts
from tweetgen.config import Settings
from tweetgen.errors import TweetgenError
from tweetgen.model.train import TrainConfig
from tweetgen.pipelines.demo import DEMO_DAYS, REPLAY_PER_DAY, ensure_champion, ensure_history, run_demo
from tweetgen.pipelines.features import run_feature_pipeline
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.schema import GENERATED_TWEETS, JOB_RUNS, SAMPLE_USERNAME, TWEETS
from tweetgen.sources.replay import REPLAY_HOLDOUT
from tweetgen.sources.sample import SAMPLE_TWEETS
from tweetgen.store.local import LocalFeatureStore
from tweetgen.ui.accounts import SAMPLE_NOTICE
from tweetgen.ui.views import day_view, load_monitor

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
    assert len(monitor) == 2 * DEMO_DAYS  # the A/B test: the champion and the other family's model, each day
    assert set(monitor.loc[monitor["arm"] == "champion", "model_version"]) == {champion.version}
    assert sorted(monitor["model_family"].unique()) == ["gpt2", "lstm"]
    monitor = monitor[monitor["arm"] == "champion"]
    assert monitor["tweet_id"].is_unique
    run_days = monitor["generated_at"].dt.normalize()
    assert (monitor["generated_at"].dt.hour == 6).all()
    assert (run_days.diff().dropna() >= pd.Timedelta(days=1)).all()
    # each run answered the newest tweet of the day before its run
    assert ((monitor["generated_at"] - monitor["tweet_created_at"]) < pd.Timedelta(days=2)).all()
    assert [name for name, _, _ in first.stages] == ["history", "live (replay)", "training", "batch inference", "daily job"]
    assert dict((n, s) for n, s, _ in first.stages)["daily job"].startswith("0 monitor rows written for the newest tweet; already answered by champion")
    runs = store.read(JOB_RUNS).sort_values("started_at")
    assert runs[["job", "status"]].values.tolist() == [["train", "ok"], ["train", "ok"], ["inference", "ok"]]
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
    assert summaries["training"].startswith(f"champion tweet_gpt2 v{champion.version} exists")
    assert summaries["batch inference"].startswith("0 monitor rows written")
    assert len(store.read(GENERATED_TWEETS)) == 2 * DEMO_DAYS


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
