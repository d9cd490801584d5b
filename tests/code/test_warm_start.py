"""Warm start: `train --warm-start` continues the champion's weights, records its lineage, and
refuses settings that contradict the champion."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import tweetgen.pipelines.training as pipeline
from tests.code.test_training_pipeline import TINY, TINY_GPT2
from tests.fakes.tweet_texts import invented_tweets, tweets_with_texts
from tests.twin.fixtures import hopsworks_twin_fixture  # noqa: F401 - the hopsworks_twin fixture
from tweetgen.errors import TweetgenError
from tweetgen.model.evaluate import evaluate
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.registry.port import format_versions
from tweetgen.schema import TWEETS
from tweetgen.store.local import LocalFeatureStore


@pytest.fixture
def store(tmp_path) -> LocalFeatureStore:
    store = LocalFeatureStore(tmp_path / "feature_store")
    store.insert(TWEETS, tweets_with_texts(invented_tweets(300)))
    return store


WARM = dataclasses.replace(TINY, family=None, n_layer=None, n_embd=None, hidden_size=None, learning_rate=None,
                           warm_start=True, max_steps=10)


def test_a_warm_start_begins_at_the_champions_weights_and_records_its_lineage(tmp_path, store) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    first = pipeline.run_training(store, registry, TINY)
    parent_model, tokenizer = registry.load(first.version)
    warm = pipeline.run_training(store, registry, WARM)

    # The loop scored its starting weights first: the parent's LSTM (no n-gram) on the same validation slice.
    start_step, start_bpc = warm.result.val_curve[0]
    assert start_step == 0 and start_bpc == pytest.approx(first.metrics["val_bits_per_char"], rel=1e-5)
    fresh = pipeline.run_training(store, LocalModelRegistry(tmp_path / "fresh"), dataclasses.replace(TINY, max_steps=1))
    assert start_bpc < fresh.metrics["val_bits_per_char"] - 0.5  # premise: a fresh model starts far worse

    child, _ = registry.load(warm.version)
    assert child.config.hidden_size == 96 and child.config.ngram_order == 7  # the parent's shape; the n-gram rebuilt
    moved = [name for name, weight in child.named_parameters() if not torch.equal(weight, dict(parent_model.named_parameters())[name])]
    assert moved or warm.result.best_step == 0  # trained on, unless no step beat the starting weights

    card = warm.version.card
    newest = pipeline.read_tweet_texts(store)[0].sort_values("created_at").iloc[-1]
    assert (card["parent_version"], card["newest_tweet_id"]) == (1, int(newest["tweet_id"]))
    assert card["newest_tweet_at"].startswith(str(newest["created_at"].date()))
    assert first.version.card["parent_version"] is None and card["settings"]["warm_start"] is True
    assert card["settings"]["learning_rate"] == pytest.approx(0.3 * TINY.learning_rate)
    assert card["description"].startswith("LSTM 1x96 over bytes mixed with a 7-gram") and "continued from version 1 on 256 tweets" in card["description"]
    assert "Continued version 1 (warm start)" in warm.summary()
    page = (tmp_path / "models" / TINY.model_name / "2" / "model_card.md").read_text()
    assert "Continued from version 1 (warm start); its data ends at tweet" in page
    assert "Trained from a fresh start" in (tmp_path / "models" / TINY.model_name / "1" / "model_card.md").read_text()
    table = format_versions(registry, TINY.model_name).splitlines()
    assert "parent" in table[0] and table[2].split()[7] == "1"  # version 2's parent column


def test_the_n_gram_of_a_warm_start_counts_the_new_tweets(tmp_path, store) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    first = pipeline.run_training(store, registry, TINY)
    store.insert(TWEETS, tweets_with_texts(invented_tweets(360)[300:], first_id=10_000))
    warm = pipeline.run_training(store, registry, WARM)
    before, after = (registry.load(r.version)[0].ngram_counts.sum() for r in (first, warm))
    assert after > before  # every tweet of the training period, the new ones included
    assert warm.version.card["newest_tweet_id"] == 10_059 and warm.n_train > first.n_train


@pytest.mark.parametrize(
    ("change", "message"),
    [({"family": "gpt2"}, "whose family is 'lstm', but --model is 'gpt2'"),
     ({"tokenizer": "bpe"}, "whose tokenizer is 'byte', but --tokenizer is 'bpe'"),
     ({"hidden_size": 128}, "whose hidden_size is 96, but --hidden-size is 128")],
)
def test_a_warm_start_that_contradicts_the_champion_is_refused_before_training(tmp_path, store, monkeypatch, change, message) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    pipeline.run_training(store, registry, TINY)
    monkeypatch.setattr(pipeline, "train", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(TweetgenError, match=message):
        pipeline.run_training(store, registry, dataclasses.replace(WARM, **change))
    assert len(registry.versions(TINY.model_name)) == 1


def test_a_warm_start_without_a_champion_is_refused(tmp_path, store) -> None:
    with pytest.raises(TweetgenError, match="no champion of 'tweet_model' .* to continue; run `python -m tweetgen train` without --warm-start"):
        pipeline.run_training(store, LocalModelRegistry(tmp_path / "models"), WARM)


def test_a_gpt2_champion_warm_starts_with_its_own_tokenizer(tmp_path, store) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    first = pipeline.run_training(store, registry, dataclasses.replace(TINY_GPT2, ngram_order=0))
    assert registry.champion(TINY.model_name).family == "gpt2"
    warm = pipeline.run_training(store, registry, dataclasses.replace(WARM, vocab_size=4096))
    assert warm.version.family == "gpt2" and warm.version.card["parent_version"] == first.version.version
    parent_tokenizer, child_tokenizer = (registry.load(r.version)[1] for r in (first, warm))
    assert child_tokenizer.get_vocab() == parent_tokenizer.get_vocab() and len(child_tokenizer) < 4096  # not retrained
    assert warm.result.val_curve[0][1] == pytest.approx(first.metrics["val_bits_per_char"], rel=1e-5)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_a_warm_start_works_on_the_hopsworks_registry(store, hopsworks_twin) -> None:
    from tweetgen.config import Settings
    from tweetgen.registry.hopsworks import HopsworksModelRegistry

    registry = HopsworksModelRegistry.from_settings(Settings.load(dotenv=None))
    first = pipeline.run_training(store, registry, TINY)
    warm = pipeline.run_training(store, registry, WARM)
    assert warm.result.val_curve[0][1] == pytest.approx(first.metrics["val_bits_per_char"], rel=1e-5)
    [_, second] = registry.versions(TINY.model_name)
    assert second.card["parent_version"] == 1 and second.card["newest_tweet_id"] == first.version.card["newest_tweet_id"]
    model, tokenizer = registry.load(second)
    eval_texts = pipeline.split_tweets(pipeline.read_tweet_texts(store)[0], TINY).eval
    assert evaluate(model, tokenizer, eval_texts)["eval_bits_per_char"] == pytest.approx(warm.metrics["eval_bits_per_char"], rel=1e-5)
