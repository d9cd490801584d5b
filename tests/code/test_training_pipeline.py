"""The training pipeline end to end on a local feature store and a local model registry."""

from __future__ import annotations

import pandas as pd
import pytest

import tweetgen.pipelines.training as pipeline
from tests.fakes.tweet_texts import invented_tweets, tweets_with_texts
from tests.twin.fixtures import hopsworks_twin_fixture  # noqa: F401 - the hopsworks_twin fixture
from tweetgen.errors import TweetgenError
from tweetgen.model.train import TrainConfig
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.schema import TWEETS
from tweetgen.store.local import LocalFeatureStore
from tweetgen.store.port import FeatureStore, GroupNotFoundError

TINY = TrainConfig(
    vocab_size=400, n_layer=2, n_embd=64, n_head=2, block_size=64, batch_size=8, max_steps=40, n_samples=2,
    num_threads=1, progress=False
)


class FrameStore(FeatureStore):
    """A store whose tweets group holds a given frame (for empty groups, which Delta cannot hold)."""

    where = "a test store"

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def _merge_new(self, spec, table):  # pragma: no cover - never written to
        raise NotImplementedError

    def exists(self, spec) -> bool:
        return True

    def read(self, spec, columns=None) -> pd.DataFrame:
        return self.frame[columns or spec.columns]


@pytest.fixture
def store(tmp_path) -> LocalFeatureStore:
    store = LocalFeatureStore(tmp_path / "feature_store")
    texts = invented_tweets(300)
    texts[10] = texts[20] = "   "  # emptied by cleaning: dropped and counted
    store.insert(TWEETS, tweets_with_texts(texts))
    return store


def test_run_training_registers_a_champion_then_keeps_it_against_a_worse_run(tmp_path, store) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    report = pipeline.run_training(store, registry, TINY, data_version="tweets v1 @ 0")
    assert (report.n_tweets, report.n_empty, report.n_train + report.n_eval) == (300, 2, 298)
    assert report.version.version == 1 and report.decision.promoted
    assert 0 < report.metrics["eval_bits_per_char"] < 8 and report.metrics["train_steps"] == 40
    assert len(report.samples) == 2 and report.result.train_losses[-1] < report.result.train_losses[0]
    assert report.version.card["data_version"] == "tweets v1 @ 0"

    worse = pipeline.run_training(store, registry, TrainConfig(**{**TINY.__dict__, "max_steps": 2}))
    assert worse.version.version == 2 and not worse.decision.promoted
    assert registry.champion(TINY.model_name).version == 1


def test_a_new_eval_set_rescores_the_champion(tmp_path, store) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    first = pipeline.run_training(store, registry, TINY)
    store.insert(TWEETS, tweets_with_texts(invented_tweets(60, seed=1), first_id=1000))  # newer tweets
    second = pipeline.run_training(store, registry, TINY)
    assert first.version.eval_set_id != second.version.eval_set_id
    assert second.decision.champion_score is not None and "re-scored" in second.decision.reason
    champion = registry.champion(TINY.model_name).version
    assert champion == (2 if second.decision.promoted else 1)


def test_a_failed_run_leaves_the_registry_untouched(tmp_path, store, monkeypatch) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    pipeline.run_training(store, registry, TINY)

    def diverge(*args, **kwargs):
        raise TweetgenError("Training diverged at step 3 (loss nan); lower the learning rate.")

    monkeypatch.setattr(pipeline, "train", diverge)
    with pytest.raises(TweetgenError, match="diverged"):
        pipeline.run_training(store, registry, TINY)
    assert [v.version for v in registry.versions(TINY.model_name)] == [1]
    assert registry.champion(TINY.model_name).version == 1


def test_a_checkpoint_outlives_a_failed_registration_and_is_removed_once_registered(tmp_path, store, monkeypatch) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    config = TrainConfig(**{**TINY.__dict__, "checkpoint_dir": str(tmp_path / "checkpoint")})

    def unreachable(*args, **kwargs):
        raise TweetgenError("The model registry could not be reached; try again.")

    with monkeypatch.context() as patch:
        patch.setattr(registry, "register", unreachable)
        with pytest.raises(TweetgenError, match="could not be reached"):
            pipeline.run_training(store, registry, config)
    assert (tmp_path / "checkpoint" / "checkpoint.pt").is_file()

    report = pipeline.run_training(store, registry, config)  # run again: no step is trained twice
    assert (report.result.resumed_from, report.result.steps) == (40, 40)
    assert report.version.version == 1 and not (tmp_path / "checkpoint" / "checkpoint.pt").exists()


def test_a_missing_group_names_the_command_and_writes_nothing(tmp_path) -> None:
    with pytest.raises(GroupNotFoundError, match="feature_engineering.py"):
        pipeline.run_training(LocalFeatureStore(tmp_path / "fs"), LocalModelRegistry(tmp_path / "models"), TINY)
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize(
    ("texts", "message"),
    [([], "is empty"), (["Rocket soon"] * 5 + [""] * 20, "at least 10 tweets with text, .* has 5 \\(20 empty")],
)
def test_too_little_text_is_refused_and_writes_nothing(tmp_path, texts, message) -> None:
    frame = tweets_with_texts(texts) if texts else tweets_with_texts(["x"]).iloc[:0]
    with pytest.raises(TweetgenError, match=message):
        pipeline.run_training(FrameStore(frame), LocalModelRegistry(tmp_path / "models"), TINY)
    assert not (tmp_path / "models").exists()


def test_an_invalid_model_name_fails_before_training(tmp_path, store, monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "train", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(TweetgenError, match="letters, digits and underscores"):
        pipeline.run_training(store, LocalModelRegistry(tmp_path / "models"), TrainConfig(model_name="tweet-gpt2"))


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_on_hopsworks_training_data_comes_from_a_feature_view(tmp_path, hopsworks_twin) -> None:
    from tweetgen.config import Settings
    from tweetgen.store.hopsworks import HopsworksFeatureStore

    store = HopsworksFeatureStore.from_settings(Settings.load(dotenv=None))
    store.insert(TWEETS, tweets_with_texts(invented_tweets(120)))
    report = pipeline.run_training(store, LocalModelRegistry(tmp_path / "models"), TINY)
    assert report.n_tweets == 120
    assert report.version.card["data_version"].startswith("feature view tweets_training v1, training dataset v1")
    views = hopsworks_twin.backend.feature_views
    assert list(views.views) == [("tweets_training", 1)]
    assert [len(datasets) for datasets in views.training_datasets.values()] == [1]
