"""The training pipeline: tweets from the feature store in, a registered model version out.

``run_training`` reads the ``tweets`` group, splits it by time (the newest tweets are the eval
set), trains a tiny GPT-2 from scratch or fine-tunes a pretrained one, evaluates, samples,
registers the version with its card, and applies the champion rule (``tweetgen.registry.champion``). Bad
input raises a one-sentence ``TweetgenError`` before anything is written to the registry, and a
bad option or champion record before any training. The model is saved for the registry in a
locked scratch folder (``tweetgen-model-*`` in the temporary directory, ``tweetgen.files``); the
next run removes those a killed run left.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tweetgen.errors import TweetgenError
from tweetgen.files import remove_abandoned, scratch_folder
from tweetgen.model.build import TINY, build_tiny_model, context_length, count_parameters, load_base, train_tokenizer
from tweetgen.model.checkpoint import remove_checkpoint
from tweetgen.model.data import frame_texts, split_by_time
from tweetgen.model.evaluate import eval_set_id, evaluate
from tweetgen.model.generate import sample
from tweetgen.model.train import TrainConfig, TrainResult, train
from tweetgen.pipelines.preflight import check_train_options
from tweetgen.registry.champion import ChampionDecision
from tweetgen.registry.port import ModelRegistry, ModelVersion, check_model_name
from tweetgen.schema import TWEETS
from tweetgen.store.port import FeatureStore

MIN_TWEETS = 10  # fewer cannot give both a training and an evaluation set worth the name
STAGING_PREFIX = "tweetgen-model-"
COLUMNS = ["tweet_id", "created_at", "clean_text"]


@dataclass
class TrainReport:
    """What a training run produced and decided."""

    version: ModelVersion
    decision: ChampionDecision
    metrics: dict[str, float]
    samples: list[str]
    n_tweets: int  # rows read from the group
    n_empty: int  # rows dropped because clean_text was empty
    n_train: int
    n_eval: int
    result: TrainResult = field(repr=False)

    def counts(self) -> dict[str, int]:
        """The counts a ``job_runs`` row records (``promoted`` is 1 when the model became champion)."""
        return {"model_version": self.version.version, "tweets_read": self.n_tweets, "empty_dropped": self.n_empty,
                "train_tweets": self.n_train, "eval_tweets": self.n_eval, "promoted": int(self.decision.promoted)}

    def summary(self) -> str:
        """A few lines for the command line: what was trained, how well, and what was decided."""
        m = self.metrics
        return "\n".join([
            f"Trained {self.version.name} version {self.version.version} on {self.n_train} tweets "
            f"({self.n_empty} empty dropped) in {m['train_seconds']:.0f} s, {m['train_tokens_per_second']:,.0f} tokens/s.",
            f"Eval on the {self.n_eval} newest: {m['eval_bits_per_char']:.3f} bits/char, perplexity {m['eval_perplexity']:.1f}.",
            self.decision.reason,
            f"Saved in {self.version.location}.",
        ])


def run_training(store: FeatureStore, registry: ModelRegistry, config: TrainConfig, data_version: str | None = None) -> TrainReport:
    """Train a model on the ``tweets`` group and register it; it becomes champion only if better.

    Args:
        data_version: recorded in the model card (e.g. the Delta table version of the group).

    Raises:
        GroupNotFoundError: the ``tweets`` group was never written.
        TweetgenError: the group is empty or has too few tweets with text, the base model cannot
            be loaded, or training diverged; the registry is left untouched in each case.
    """
    check_model_name(config.model_name)
    check_train_options(config.max_steps, config.batch_size, config.epochs, config.max_seconds)
    registry.champion(config.model_name)  # a champion record naming a missing version fails now, not after training
    remove_abandoned(Path(tempfile.gettempdir()), STAGING_PREFIX)  # what a killed run left
    frame, n_read, n_empty, read_version = read_tweet_texts(store)
    data_version = data_version or read_version
    train_frame, eval_frame = split_by_time(frame, config.eval_fraction, config.eval_since)
    train_texts, eval_texts = train_frame["clean_text"].tolist(), eval_frame["clean_text"].tolist()
    model, tokenizer = prepare_model(config, train_texts)
    block_size = min(config.block_size, context_length(model))
    result = train(model, frame_texts(train_texts, tokenizer, block_size), frame_texts(eval_texts, tokenizer, block_size), config)
    metrics = {**evaluate(model, tokenizer, eval_texts), **_train_metrics(result, model, len(train_texts))}
    samples = sample(model, tokenizer, n=config.n_samples, seed=config.seed)
    card = _card(config, data_version, train_texts, eval_texts, result, samples)
    version = _register(registry, model, tokenizer, config.model_name, metrics, card)
    remove_checkpoint(config.checkpoint_dir)  # registered: a new run starts from the beginning
    decision = registry.promote_if_better(version, rescore=lambda champion: evaluate(*registry.load(champion), eval_texts)["eval_bits_per_char"])
    return TrainReport(version, decision, metrics, samples, n_read, n_empty, len(train_texts), len(eval_texts), result)


def read_tweet_texts(store: FeatureStore) -> tuple[pd.DataFrame, int, int, str]:
    """Tweets with a non-blank ``clean_text``, how many rows were read and dropped, and the data
    version read (a Delta table version locally, a training dataset version on Hopsworks).

    Raises:
        GroupNotFoundError: the group does not exist (its message names the command to run).
        TweetgenError: the group is empty or has fewer than ``MIN_TWEETS`` tweets with text.
    """
    frame, data_version = store.read_training_data(TWEETS, COLUMNS)
    if frame.empty:
        raise TweetgenError(f"The feature group '{TWEETS.name}' in {store.where} is empty; run `{TWEETS.filled_by}` first.")
    has_text = frame["clean_text"].fillna("").str.strip() != ""
    kept = frame[has_text].reset_index(drop=True)
    if len(kept) < MIN_TWEETS:
        raise TweetgenError(
            f"Training needs at least {MIN_TWEETS} tweets with text, but '{TWEETS.name}' in {store.where} has "
            f"{len(kept)} ({len(frame) - len(kept)} empty after cleaning); add tweets with `{TWEETS.filled_by}`."
        )
    return kept, len(frame), len(frame) - len(kept), data_version


def prepare_model(config: TrainConfig, train_texts: list[str]) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A fresh tiny GPT-2 with a tokenizer trained on ``train_texts``, or the pretrained base."""
    if config.base_model != TINY:
        return load_base(config.base_model)
    tokenizer = train_tokenizer(train_texts, vocab_size=config.vocab_size)
    model = build_tiny_model(
        tokenizer, n_layer=config.n_layer, n_embd=config.n_embd, n_head=config.n_head,
        n_positions=config.block_size, dropout=config.dropout, seed=config.seed,
    )
    return model, tokenizer


def _train_metrics(result: TrainResult, model: PreTrainedModel, n_train: int) -> dict[str, float]:
    return {
        "train_loss": result.final_train_loss,
        "train_steps": float(result.steps),
        "train_seconds": result.seconds,
        "train_tokens_per_second": result.tokens_per_second,
        "train_texts": float(n_train),
        "n_parameters": float(count_parameters(model)),
    }


def _card(config: TrainConfig, data_version: str | None, train_texts: list[str], eval_texts: list[str], result: TrainResult, samples: list[str]) -> dict:
    return {
        "description": f"GPT-2 ({config.base_model}) trained on {len(train_texts)} tweets, evaluated on the {len(eval_texts)} newest.",
        "data_version": data_version or f"{TWEETS.name} v{TWEETS.version} (table version not recorded)",
        "train_set_id": eval_set_id(train_texts),
        "eval_set_id": eval_set_id(eval_texts),
        "settings": {k: v for k, v in dataclasses.asdict(config).items() if k != "progress"}
        | {"precision": result.precision, "peak_learning_rate": config.peak_learning_rate},
        "stopped_by": result.stopped_by,
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "samples": samples,
        "loss_curve": [round(loss, 5) for loss in result.train_losses],
        "eval_losses": [[step, round(loss, 5)] for step, loss in result.eval_losses],
    }


def _register(registry: ModelRegistry, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, name: str, metrics: dict[str, float], card: dict) -> ModelVersion:
    with scratch_folder(Path(tempfile.gettempdir()), STAGING_PREFIX) as folder:
        model.save_pretrained(folder)  # safetensors
        tokenizer.save_pretrained(folder)
        return registry.register(folder, name, metrics, card)

