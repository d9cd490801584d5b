"""The training pipeline end to end on a local feature store and a local model registry."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch

import tweetgen.pipelines.training as pipeline
from tests.fakes.tweet_texts import invented_tweets, tweets_with_texts
from tests.twin.fixtures import hopsworks_twin_fixture  # noqa: F401 - the hopsworks_twin fixture
from tweetgen.errors import TweetgenError
from tweetgen.model.evaluate import evaluate, framed_ids
from tweetgen.model.ngram import count_ngrams
from tweetgen.model.train import TrainConfig
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.schema import TWEETS
from tweetgen.store.local import LocalFeatureStore
from tweetgen.store.port import FeatureStore, GroupNotFoundError

# The LSTM (the default family), small; and a small GPT-2.
TINY = TrainConfig(
    family="lstm", n_layer=1, n_embd=32, hidden_size=96, block_size=64, batch_size=8, learning_rate=1e-2, max_steps=40,
    max_seconds=None, n_samples=2, n_quality_samples=10, num_threads=1, progress=False,
)
TINY_GPT2 = dataclasses.replace(TINY, family="gpt2", vocab_size=400, n_layer=2, n_embd=64, n_head=2, learning_rate=None)


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
    assert (report.n_tweets, report.n_empty, report.n_train + report.n_val + report.n_eval) == (300, 2, 298)
    assert (report.n_eval, report.n_val) == (30, 13)  # the newest 10%, then the newest 5% of the rest
    assert report.version.version == 1 and report.decision.promoted
    assert 0 < report.metrics["eval_bits_per_char"] < 8 and report.metrics["train_steps"] == 40
    assert len(report.samples) == 2 and report.result.train_losses[-1] < report.result.train_losses[0]
    card = report.version.card
    assert card["data_version"] == "tweets v1 @ 0" and card["family"] == report.version.family == "lstm"
    weight = report.metrics["ngram_weight"]
    assert card["description"].startswith(f"LSTM 1x96 over bytes mixed with a 7-gram (weight {weight:.2f}), trained on 255 tweets, "
                                          "early-stopped on the 13 newest")
    assert card["val_set_id"] not in (None, card["eval_set_id"], card["train_set_id"])
    assert report.metrics["sample_count"] == 10 and 0 < report.metrics["sample_distinct_1"] <= 1
    assert 0 <= report.metrics["sample_copy_rate"] <= 1 and report.metrics["sample_copy_words"] >= 0
    assert "10 samples: distinct-1" in report.summary()
    assert 0 <= report.metrics["sample_non_word_share"] <= 1 and 0 <= report.metrics["sample_cut_share"] <= 1
    assert report.metrics["real_non_word_share"] == 0 and report.metrics["real_at_limit_share"] == 0  # invented, short, seen words
    assert "of the samples' words" in report.summary() and "(real tweets: 0.0% and 0% at the limit)" in report.summary()

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


def test_a_run_whose_validation_turns_worse_registers_the_best_steps_weights_and_metrics(tmp_path, store, monkeypatch) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    seen: list[tuple[float, dict[str, torch.Tensor]]] = []
    real_scorer = pipeline.validation_scorer

    def scorer(tokenizer, texts):
        real = real_scorer(tokenizer, texts)

        def made_to_rise(model) -> float:  # the real score, made best at the second validation and worse after it
            bpc = real(model) + [10.0, 0.0, 10.0, 20.0, 30.0][len(seen)]
            seen.append((bpc, {k: v.detach().clone() for k, v in model.state_dict().items()}))
            return bpc

        return made_to_rise

    monkeypatch.setattr(pipeline, "validation_scorer", scorer)
    config = dataclasses.replace(TINY, max_steps=200, val_interval=10, patience=2)
    report = pipeline.run_training(store, registry, config)
    result = report.result
    assert (result.stopped_by, result.steps, result.best_step) == ("patience", 40, 20) and len(seen) == 4
    assert report.metrics["best_step"] == 20 and report.metrics["val_bits_per_char"] == seen[1][0] == result.best_val
    model, tokenizer = registry.load(report.version)
    weights = dict(model.named_parameters())
    assert all(torch.equal(weights[k], seen[1][1][k]) for k in weights)  # step 20's weights were registered
    eval_texts = pipeline.split_tweets(pipeline.read_tweet_texts(store)[0], config).eval
    assert report.metrics["eval_bits_per_char"] == pytest.approx(evaluate(model, tokenizer, eval_texts)["eval_bits_per_char"])
    assert report.version.card["best_step"] == 20 and report.version.card["stopped_by"] == "patience"
    assert "stopped at step 40 (held-out bits/char stopped improving), keeping step 20" in report.summary()


def test_both_families_train_from_the_same_view_and_compete_for_champion(tmp_path, store) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    lstm = pipeline.run_training(store, registry, TINY)
    gpt2 = pipeline.run_training(store, registry, TINY_GPT2)
    assert (lstm.version.family, gpt2.version.family) == ("lstm", "gpt2")
    assert lstm.version.eval_set_id == gpt2.version.eval_set_id  # the same eval tweets, whatever the tokenizer
    assert gpt2.version.card["description"].startswith("GPT-2 2x64 over BPE 400, trained on 255 tweets")
    assert gpt2.decision.champion_score == lstm.metrics["eval_bits_per_char"] and "on the same eval set" in gpt2.decision.reason
    winner = 2 if gpt2.metrics["eval_bits_per_char"] < lstm.metrics["eval_bits_per_char"] else 1
    assert registry.champion(TINY.model_name).version == winner
    model, tokenizer = registry.load(registry.versions(TINY.model_name)[0])
    assert type(model).__name__ == "TweetLSTMForCausalLM" and len(tokenizer) == 259


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_an_lstm_is_registered_and_loaded_through_the_hopsworks_registry(store, hopsworks_twin) -> None:
    from tweetgen.config import Settings
    from tweetgen.registry.hopsworks import HopsworksModelRegistry

    registry = HopsworksModelRegistry.from_settings(Settings.load(dotenv=None))
    report = pipeline.run_training(store, registry, TINY)
    assert report.decision.promoted and registry.champion(TINY.model_name).family == "lstm"
    model, tokenizer = registry.load(report.version)
    eval_texts = pipeline.split_tweets(pipeline.read_tweet_texts(store)[0], TINY).eval
    assert evaluate(model, tokenizer, eval_texts)["eval_bits_per_char"] == pytest.approx(report.metrics["eval_bits_per_char"])
    [stored] = hopsworks_twin.backend.registry.models.values()
    assert stored["description"].startswith(f"LSTM 1x96 over bytes mixed with a 7-gram (weight {model.config.ngram_weight:.2f}), trained on 255 tweets")
    assert model.config.ngram_order == 7 and model.ngram_keys.numel() > 1000  # the n-gram travels with the weights


def test_the_lstm_mixes_in_an_ngram_fitted_on_the_validation_slice(tmp_path, store) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    mixed = pipeline.run_training(store, registry, TINY)
    plain = pipeline.run_training(store, registry, dataclasses.replace(TINY, ngram_order=0))
    m = mixed.metrics
    assert m["ngram_order"] == 7 and 0 < m["ngram_weight"] <= 0.9
    # Each figure exactly, computed again through the model's own forward pass: the network alone
    # (weight 0) and the mixture with the fitted weight, both with the n-gram of the training
    # tweets alone, on the validation tweets; the eval figure with the n-gram the model carries.
    model, tokenizer = registry.load(mixed.version)
    split = pipeline.split_tweets(pipeline.read_tweet_texts(store)[0], TINY)
    of_training_tweets = count_ngrams(framed_ids(tokenizer, split.train), 7, len(tokenizer))
    assert evaluate(model, tokenizer, split.eval)["eval_bits_per_char"] == pytest.approx(m["eval_bits_per_char"], rel=1e-6)
    for weight, reported in ((0.0, "val_bits_per_char"), (m["ngram_weight"], "val_bits_per_char_with_ngram")):
        model.attach_ngram(of_training_tweets, weight)
        # rel 1e-5: the forward mixes in float32, the fit mixes the two parts' nats in float64
        assert evaluate(model, tokenizer, split.val)["eval_bits_per_char"] == pytest.approx(m[reported], rel=1e-5), reported
    assert m["val_bits_per_char_with_ngram"] < m["val_bits_per_char"] == plain.metrics["val_bits_per_char"]  # same network
    assert m["eval_bits_per_char"] < plain.metrics["eval_bits_per_char"]  # and it carries to the eval set
    assert "ngram_weight" not in plain.metrics and registry.load(plain.version)[0].config.ngram_order == 0
    assert registry.champion(TINY.model_name).version == mixed.version.version
    assert f"Mixed in a 7-gram of the training tweets, weight {m['ngram_weight']:.2f}: " in mixed.summary()
    assert "## The n-gram mixed in" in (tmp_path / "models" / TINY.model_name / "1" / "model_card.md").read_text()
    gpt2 = pipeline.run_training(store, registry, TINY_GPT2)  # BPE: no n-gram
    assert "ngram_weight" not in gpt2.metrics


def test_a_pretrained_base_brings_its_own_family_and_tokenizer(tmp_path, store) -> None:
    from tests.fakes.saved_models import save_tiny_model

    save_tiny_model(tmp_path / "base")  # what `--base-model gpt2` is, offline: a saved pretrained GPT-2
    config = dataclasses.replace(TINY, base_model=str(tmp_path / "base"), family=None, n_layer=None, n_embd=None,
                                 hidden_size=None, learning_rate=None)
    report = pipeline.run_training(store, LocalModelRegistry(tmp_path / "models"), config)
    card = report.version.card
    assert report.version.family == "gpt2" and card["settings"]["learning_rate"] == 5e-5
    assert card["description"].startswith(f"gpt2 fine-tuned from {tmp_path / 'base'}, trained on 255 tweets")
    with pytest.raises(TweetgenError, match="--model lstm is for a model built from scratch"):
        pipeline.run_training(store, LocalModelRegistry(tmp_path / "models"), dataclasses.replace(config, family="lstm"))


def test_a_run_starved_of_steps_says_so_with_its_step_count() -> None:
    from tweetgen.model.train import TrainResult
    from tweetgen.registry.port import ModelVersion

    def version(number: int, family: str, steps: float, seconds: float) -> ModelVersion:
        return ModelVersion("m", number, {"train_steps": steps, "train_seconds": seconds}, {"family": family})

    earlier = [version(1, "lstm", 3000, 300), version(2, "lstm", 2800, 280), version(3, "gpt2", 100, 300)]
    starved = TrainResult(steps=400, seconds=300, tokens=0, stopped_by="time", precision="fp32")
    new = version(4, "lstm", 400, 300)
    assert pipeline.usual_steps(earlier + [new], new, starved) == 3000  # 10 steps/s, the LSTMs' median
    assert pipeline.usual_steps(earlier + [new], new, dataclasses.replace(starved, steps=1500)) is None  # half: not starved
    assert pipeline.usual_steps(earlier + [new], new, dataclasses.replace(starved, stopped_by="patience")) is None
    assert pipeline.usual_steps([new], new, starved) is None  # nothing to compare with
    line = pipeline._stopping(starved, 13, usual_steps=3000)
    assert line == ("stopped at step 400: its time budget ran out after only 400 steps, under half the 3000 a run of this "
                    "length usually gets here (a busy machine?)")


def test_the_phases_after_the_training_loop_show_progress(capsys) -> None:
    with pipeline.AfterTraining(progress=True) as phases:
        assert phases.run("n-gram", lambda: 7) == 7
        for name in ("eval", "samples", "register", "champion rule"):
            phases.run(name, lambda: None)
    shown = capsys.readouterr().err.replace("\r", "\n")
    assert "After training" in shown and "5/5" in shown and "champion rule" in shown and "n-gram" in shown
    with pipeline.AfterTraining(progress=False) as quiet:
        quiet.run("eval", lambda: None)
    assert capsys.readouterr().err == ""
