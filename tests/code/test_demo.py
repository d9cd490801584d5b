"""The demo's pipeline stages (not the server) in a temporary data directory."""

import pandas as pd

from tweetgen.config import Settings
from tweetgen.demo import DEMO_DAYS, REPLAY_PER_DAY, run_demo
from tweetgen.registry_local import LocalModelRegistry
from tweetgen.schema import GENERATED_TWEETS, TWEETS
from tweetgen.sources import REPLAY_HOLDOUT, SAMPLE_TWEETS
from tweetgen.store_local import LocalFeatureStore
from tweetgen.training import TrainConfig

TINY = TrainConfig(n_layer=2, n_embd=64, n_head=2, vocab_size=512, max_steps=20, progress=False)


def test_demo_stages_produce_every_artefact_then_reuse_them() -> None:
    settings = Settings.load()
    printed: list[str] = []
    first = run_demo(settings, train_config=TINY, echo=printed.append)

    store = LocalFeatureStore(settings.feature_store_dir)
    tweets = store.read(TWEETS)
    assert len(tweets) == SAMPLE_TWEETS - REPLAY_HOLDOUT + REPLAY_PER_DAY * DEMO_DAYS
    assert (tweets["source"] == "live").sum() == REPLAY_PER_DAY * DEMO_DAYS
    registry = LocalModelRegistry(settings.data_dir / "models")
    assert [v.version for v in registry.versions(settings.model_name)] == [1]
    assert registry.champion(settings.model_name).version == 1
    monitor = store.read(GENERATED_TWEETS).sort_values("generated_at")
    assert len(monitor) == DEMO_DAYS and monitor["tweet_id"].is_unique
    run_days = monitor["generated_at"].dt.normalize()
    assert (monitor["generated_at"].dt.hour == 6).all()
    assert (run_days.diff().dropna() >= pd.Timedelta(days=1)).all()
    # each run answered the newest tweet of the day before its run
    assert ((monitor["generated_at"] - monitor["tweet_created_at"]) < pd.Timedelta(days=2)).all()
    assert [name for name, _, _ in first.stages] == ["history", "live (replay)", "training", "batch inference"]
    assert "== training" in printed

    second = run_demo(settings, train_config=TINY, echo=lambda line: None)
    summaries = dict((name, summary) for name, summary, _ in second.stages)
    assert "0 inserted" in summaries["history"]
    assert "already released" in summaries["live (replay)"]
    assert summaries["training"].startswith("champion tweet_gpt2 v1 exists")
    assert summaries["batch inference"].startswith("0 monitor rows written")
    assert len(store.read(GENERATED_TWEETS)) == DEMO_DAYS
