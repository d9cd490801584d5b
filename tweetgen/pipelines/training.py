"""The training pipeline: tweets from the feature store in, a registered model version out.

``run_training`` reads the ``tweets`` group and splits it by time: the newest tweets are the eval
set (the champion rule compares models on it; training never sees it), and the newest few
percent of the rest are the validation slice (training stops when held-out bits/char on it
stops improving, and keeps its best weights). It builds a model of the configured family (an
LSTM or a small GPT-2) from scratch or fine-tunes a pretrained one, trains, evaluates, samples a
hundred tweets and measures them, registers the version with its card, and applies the champion
rule (``tweetgen.registry.champion``) across families. Bad
input raises a one-sentence ``TweetgenError`` before anything is written to the registry, and a
bad option or champion record before any training. The model is saved for the registry in a
locked scratch folder (``tweetgen-model-*`` in the temporary directory, ``tweetgen.files``); the
next run removes those a killed run left.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pandas as pd
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tweetgen.errors import TweetgenError
from tweetgen.files import remove_abandoned, scratch_folder
from tweetgen.model.build import (
    TINY,
    build_model,
    context_length,
    count_parameters,
    family_of,
    load_base,
    make_tokenizer,
)
from tweetgen.model.checkpoint import remove_checkpoint
from tweetgen.model.data import TweetBlocks, split_by_time
from tweetgen.model.evaluate import eval_set_id, evaluate, validation_scorer
from tweetgen.model.generate import best_of
from tweetgen.model.measures import COPIED_RUN_WORDS, CopyIndex, Vocabulary, reference_measures, sample_measures
from tweetgen.model.ngram import mix_in_ngram, supports_ngram
from tweetgen.model.spelling import attach_words
from tweetgen.model.train import TrainConfig, TrainResult, train
from tweetgen.pipelines.preflight import check_train_options
from tweetgen.pipelines.warm_start import lineage, load_parent, warm_config, warm_start_parent
from tweetgen.registry.champion import ChampionDecision
from tweetgen.registry.port import ModelRegistry, ModelVersion, RegistryError, check_model_name
from tweetgen.schema import TWEETS
from tweetgen.store.port import FeatureStore

T = TypeVar("T")

FEW_STEPS_RATIO = 0.5  # a run with under half the steps per second of the family's usual runs was starved
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
    n_train: int  # tweets trained on
    n_eval: int
    result: TrainResult = field(repr=False)
    n_val: int = 0  # the validation slice: the newest training-period tweets, not trained on
    usual_steps: int | None = None  # set when the run got far fewer steps than runs of its length usually do

    def counts(self) -> dict[str, int]:
        """The counts a ``job_runs`` row records (``promoted`` is 1 when the model became champion)."""
        return {"model_version": self.version.version, "tweets_read": self.n_tweets, "empty_dropped": self.n_empty,
                "train_tweets": self.n_train, "val_tweets": self.n_val, "eval_tweets": self.n_eval,
                "promoted": int(self.decision.promoted)}

    def summary(self) -> str:
        """A few lines for the command line: what was trained, how well, and what was decided."""
        m = self.metrics
        return "\n".join([
            f"Trained {self.version.name} version {self.version.version} ({self.version.family}) on {self.n_train} tweets "
            f"({self.n_empty} empty dropped) in {m['train_seconds']:.0f} s, {m['train_tokens_per_second']:,.0f} tokens/s; "
            f"{_stopping(self.result, self.n_val, self.usual_steps)}.",
            *_lineage_line(self.version),
            *_ngram_line(m),
            f"Eval on the {self.n_eval} newest: {m['eval_bits_per_char']:.3f} bits/char, perplexity {m['eval_perplexity']:.1f}.",
            *_sample_line(m),
            self.decision.reason,
            f"Saved in {self.version.location}.",
        ])


def _lineage_line(version: ModelVersion) -> list[str]:
    card = version.card
    if card.get("parent_version") is None:
        return []
    return [f"Continued version {card['parent_version']} (warm start); its data now ends at tweet {card.get('newest_tweet_id')} "
            f"of {card.get('newest_tweet_at')}."]


def _ngram_line(m: dict[str, float]) -> list[str]:
    if not m.get("ngram_order"):
        return []
    return [f"Mixed in a {m['ngram_order']:.0f}-gram of the training tweets, weight {m['ngram_weight']:.2f}: "
            f"{m['val_bits_per_char']:.3f} -> {m['val_bits_per_char_with_ngram']:.3f} bits/char on the validation tweets."]


def _sample_line(m: dict[str, float]) -> list[str]:
    if "sample_count" not in m:
        return []
    lines = [f"{int(m['sample_count'])} samples: distinct-1 {m['sample_distinct_1']:.2f}, distinct-2 {m['sample_distinct_2']:.2f}, "
             f"{m['sample_copy_rate']:.0%} share a run of {COPIED_RUN_WORDS}+ words with a training tweet "
             f"(longest shared run {m['sample_copy_words']:.1f} words on average)."]
    if "sample_non_word_share" in m:
        real = (f" (real tweets: {m['real_non_word_share']:.1%} and {m['real_at_limit_share']:.0%} at the limit)"
                if "real_non_word_share" in m else "")
        lines.append(f"Non-words {m['sample_non_word_share']:.1%} of the samples' words; {m.get('sample_cut_share', 0):.0%} "
                     f"cut at the length limit{real}.")
    return lines


def _stopping(result: TrainResult, n_val: int, usual_steps: int | None = None) -> str:
    """Why the run stopped and which weights it kept, in a few words; a run that got far fewer
    steps than runs of its length usually do (a busy machine) says so."""
    why = {"steps": "its steps were done", "time": "its time budget ran out",
           "patience": "held-out bits/char stopped improving"}[result.stopped_by]
    if usual_steps is not None:
        why += (f" after only {result.steps} steps, under half the {usual_steps} a run of this length usually gets here "
                "(a busy machine?)")
    if result.best_step is None:
        return f"stopped at step {result.steps}: {why}"
    return (f"stopped at step {result.steps} ({why}), keeping step {result.best_step}: "
            f"{result.best_val:.3f} bits/char on the {n_val} validation tweets")


def run_training(store: FeatureStore, registry: ModelRegistry, config: TrainConfig, data_version: str | None = None) -> TrainReport:
    """Train a model on the ``tweets`` group and register it; it becomes champion only if better.

    With ``config.warm_start`` the run continues the champion's weights (``tweetgen.pipelines.warm_start``).

    Args:
        data_version: recorded in the model card (e.g. the Delta table version of the group).

    Raises:
        GroupNotFoundError: the ``tweets`` group was never written.
        TweetgenError: the group is empty or has too few tweets with text, the base model cannot
            be loaded, a warm start has no champion or contradicts it, or training diverged; the
            registry is left untouched in each case.
    """
    check_model_name(config.model_name)
    check_train_options(config.max_steps, config.batch_size, config.epochs, config.max_seconds, ngram_order=config.ngram_order)
    parent = warm_start_parent(registry, config) if config.warm_start else None
    config = (warm_config(config, parent) if parent else config).resolved()  # an unknown family fails here, before anything is read
    registry.champion(config.model_name)  # a champion record naming a missing version fails now, not after training
    remove_abandoned(Path(tempfile.gettempdir()), STAGING_PREFIX)  # what a killed run left
    frame, n_read, n_empty, read_version = read_tweet_texts(store)
    split = split_tweets(frame, config)
    model, tokenizer = load_parent(registry, parent) if parent else prepare_model(config, split.train)
    block_size = min(config.block_size, context_length(model))
    validate = validation_scorer(tokenizer, split.val) if split.val else None
    result = train(model, TweetBlocks(split.train, tokenizer, block_size), config, validate)
    with AfterTraining(config.progress) as phases:
        ngram_metrics = phases.run("n-gram", lambda: add_ngram(model, tokenizer, config, split))
        attach_words(model, split.train + split.val)  # what sampling may write besides English (tweetgen.model.spelling)
        metrics = phases.run("eval", lambda: evaluate(model, tokenizer, split.eval))
        samples, sample_metrics = phases.run("samples", lambda: sample_and_measure(model, tokenizer, config, split))
        metrics |= {**_train_metrics(result, model, len(split.train)), **ngram_metrics, **sample_metrics}
        card = _card(config, model, data_version or read_version, split, result, samples, parent) | lineage(parent, *newest_tweet(frame))
        version = phases.run("register", lambda: _register(registry, model, tokenizer, config.model_name, metrics, card))
        remove_checkpoint(config.checkpoint_dir)  # registered: a new run starts from the beginning
        rescore = lambda champion: evaluate(*registry.load(champion), split.eval)["eval_bits_per_char"]  # noqa: E731
        decision = phases.run("champion rule", lambda: registry.promote_if_better(version, rescore=rescore))
    usual = usual_steps(_readable_versions(registry, config.model_name), version, result)
    return TrainReport(version, decision, metrics, samples, n_read, n_empty, len(split.train), len(split.eval), result,
                       len(split.val), usual_steps=usual)


class AfterTraining:
    """A progress bar over the phases after the training loop (n-gram, eval, samples, register,
    champion rule): each can take a while on a big data set, and a bar that says which is running
    beats a silent terminal."""

    PHASES = 5

    def __init__(self, progress: bool) -> None:
        self._bar = tqdm(total=self.PHASES, desc="After training", unit="phase", disable=not progress)

    def __enter__(self) -> AfterTraining:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()

    def run(self, name: str, work: Callable[[], T]) -> T:
        """Run one phase, its name on the bar while it runs."""
        self._bar.set_postfix_str(name, refresh=True)
        result = work()
        self._bar.update(1)
        return result


def newest_tweet(frame: pd.DataFrame) -> tuple[int | None, str | None]:
    """The id and time (UTC ISO) of the newest tweet of ``frame``: the end of a model's data."""
    if frame.empty:
        return None, None
    newest = frame.sort_values(["created_at", "tweet_id"], kind="stable").iloc[-1]
    stamp = pd.Timestamp(newest["created_at"])
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(newest["tweet_id"]), stamp.isoformat()


def _readable_versions(registry: ModelRegistry, name: str) -> list[ModelVersion]:
    """The versions of ``name``, or none when one cannot be read (the run is registered already:
    a broken older folder must not fail it)."""
    try:
        return registry.versions(name)
    except RegistryError:
        return []


def usual_steps(versions: list[ModelVersion], version: ModelVersion, result: TrainResult) -> int | None:
    """The steps a run as long as ``result`` usually gets, from the median steps per second of
    the earlier versions of the same family; None without earlier versions, or when this run
    got at least ``FEW_STEPS_RATIO`` of them (or was not stopped by its time budget)."""
    rates = sorted(v.metrics["train_steps"] / v.metrics["train_seconds"] for v in versions
                   if v.version < version.version and v.family == version.family
                   and v.metrics.get("train_seconds", 0) > 0 and v.metrics.get("train_steps", 0) > 0)
    if not rates or result.stopped_by != "time":
        return None
    usual = round(rates[len(rates) // 2] * result.seconds)
    return usual if result.steps < FEW_STEPS_RATIO * usual else None


@dataclass(frozen=True)
class TweetSplit:
    """Texts split by time: ``train`` (trained on), ``val`` (the newest of the training period:
    early stopping), ``eval`` (the newest of all: the champion rule)."""

    train: list[str]
    val: list[str]
    eval: list[str]


def split_tweets(frame: pd.DataFrame, config: TrainConfig) -> TweetSplit:
    """The eval set (``config.eval_fraction`` or ``eval_since``), then the validation slice:
    the newest ``config.val_fraction`` of the rest (none when it is 0 or leaves nothing to train on)."""
    train_frame, eval_frame = split_by_time(frame, config.eval_fraction, config.eval_since)
    val_frame = train_frame.iloc[:0]
    if config.val_fraction > 0 and len(train_frame) >= 2:
        train_frame, val_frame = split_by_time(train_frame, config.val_fraction)
    texts = [part["clean_text"].tolist() for part in (train_frame, val_frame, eval_frame)]
    return TweetSplit(*texts)


def sample_and_measure(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, config: TrainConfig, split: TweetSplit
) -> tuple[list[str], dict[str, float]]:
    """The card's ``n_samples`` tweets, and the measures of ``n_quality_samples`` (the first of the
    same draw) as metrics: ``sample_distinct_1``, ``sample_distinct_2``, ``sample_copy_words``,
    ``sample_copy_rate``, ``sample_mean_chars``, ``sample_non_word_share``, ``sample_cut_share``
    and ``sample_count`` (``sample_measures``; copying and words are measured against the training
    tweets), and beside them the same for the real eval tweets: ``real_non_word_share`` and
    ``real_at_limit_share`` (``reference_measures``). Each sample is the best of
    ``config.best_of`` (``tweetgen.model.generate.best_of``)."""
    drawn = best_of(model, tokenizer, n=max(config.n_samples, config.n_quality_samples), candidates=config.best_of, seed=config.seed)
    texts = [s.text for s in drawn]
    measured = drawn[: config.n_quality_samples]
    if not measured:
        return texts[: config.n_samples], {}
    known = split.train + split.val
    vocabulary = Vocabulary(known)
    quality = sample_measures([s.text for s in measured], CopyIndex(known), vocabulary, [s.finished for s in measured])
    real = reference_measures(split.eval, vocabulary) if split.eval else {}
    return texts[: config.n_samples], ({f"sample_{key}": value for key, value in quality.items()} | {"sample_count": float(len(measured))}
                                       | {f"real_{key}": value for key, value in real.items()})


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
    """A fresh model of ``config.family`` with its tokenizer (a BPE one trained on ``train_texts``),
    or the pretrained base. ``config`` is resolved first (``TrainConfig.resolved``)."""
    config = config.resolved()
    if config.base_model != TINY:
        return load_base(config.base_model)
    tokenizer = make_tokenizer(config.tokenizer, train_texts, vocab_size=config.vocab_size)
    model = build_model(
        config.family, tokenizer, n_layer=config.n_layer, n_embd=config.n_embd, n_head=config.n_head,
        hidden_size=config.hidden_size, n_positions=config.block_size, dropout=config.dropout, seed=config.seed,
    )
    return model, tokenizer


def add_ngram(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, config: TrainConfig, split: TweetSplit) -> dict[str, float]:
    """Mix an n-gram of the training tweets into the trained model (``config.ngram_order``, the
    LSTM over bytes only, with a validation slice to fit its weight on); its metrics, or none."""
    if not (config.ngram_order and split.val and supports_ngram(model, tokenizer)):
        return {}
    fit = mix_in_ngram(model, tokenizer, split.train, split.val, config.ngram_order)
    return {"ngram_order": float(fit.order), "ngram_weight": fit.weight, "val_bits_per_char_with_ngram": fit.val_bits_per_char_mixed}


def _train_metrics(result: TrainResult, model: PreTrainedModel, n_train: int) -> dict[str, float]:
    metrics = {
        "train_loss": result.final_train_loss,
        "train_steps": float(result.steps),
        "train_seconds": result.seconds,
        "train_tokens_per_second": result.tokens_per_second,
        "train_texts": float(n_train),
        "n_parameters": float(count_parameters(model)),
    }
    if result.best_step is not None:
        metrics |= {"best_step": float(result.best_step), "val_bits_per_char": result.best_val}
    return metrics


def describe(family: str, config: TrainConfig, model: PreTrainedModel) -> str:
    """What the model is, in a few words: "LSTM 1x768 over bytes", "GPT-2 4x256, BPE 4,096", "gpt2 (pretrained)"."""
    if config.base_model != TINY:
        return f"{family} fine-tuned from {config.base_model}"
    tokens = "bytes" if config.tokenizer == "byte" else f"BPE {config.vocab_size:,}"
    if family == "lstm":
        ngram = getattr(model.config, "ngram_order", 0)
        mixed = f" mixed with a {ngram}-gram (weight {model.config.ngram_weight:.2f})" if ngram else ""
        return f"LSTM {config.n_layer}x{config.hidden_size} over {tokens}{mixed}"
    return f"GPT-2 {config.n_layer}x{config.n_embd} over {tokens}"


def _card(
    config: TrainConfig, model: PreTrainedModel, data_version: str | None, split: TweetSplit, result: TrainResult, samples: list[str],
    parent: ModelVersion | None = None,
) -> dict:
    family = family_of(model)
    trained = f"continued from version {parent.version} on" if parent else "trained on"
    return {
        "description": (f"{describe(family, config, model)}, {trained} {len(split.train)} tweets, early-stopped on the "
                        f"{len(split.val)} newest of its period, evaluated on the {len(split.eval)} newest."),
        "family": family,
        "data_version": data_version or f"{TWEETS.name} v{TWEETS.version} (table version not recorded)",
        "train_set_id": eval_set_id(split.train),
        "val_set_id": eval_set_id(split.val) if split.val else None,
        "eval_set_id": eval_set_id(split.eval),
        "settings": {k: v for k, v in dataclasses.asdict(config).items() if k != "progress"}
        | {"precision": result.precision, "peak_learning_rate": config.peak_learning_rate},
        "stopped_by": result.stopped_by,
        "best_step": result.best_step,
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "samples": samples,
        "loss_curve": [round(loss, 5) for loss in result.train_losses],
        "val_bits_per_char": [[step, round(bpc, 5)] for step, bpc in result.val_curve],
    }


def _register(registry: ModelRegistry, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, name: str, metrics: dict[str, float], card: dict) -> ModelVersion:
    with scratch_folder(Path(tempfile.gettempdir()), STAGING_PREFIX) as folder:
        model.save_pretrained(folder)  # safetensors
        tokenizer.save_pretrained(folder)
        return registry.register(folder, name, metrics, card)

