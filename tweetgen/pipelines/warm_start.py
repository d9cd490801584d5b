"""Warm start: a training run that continues the champion's weights instead of starting afresh.

The run takes the champion's model and tokenizer and the settings its card records (family,
tokenizer, shape, dropout, n-gram order), so only the training budget and the data are new. A
setting given that contradicts the champion (another family, tokenizer or shape) is refused with
one sentence before anything is read. The LSTM's n-gram is taken out while the weights train (it
holds the validation tweets, which training must not fit) and rebuilt afterwards from every
tweet of the training period, old and new.

Each version's card records its lineage: ``parent_version`` (the version it continued; None for
a fresh start) and the newest tweet of the data it was given (``newest_tweet_id``,
``newest_tweet_at``, UTC ISO time).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from tweetgen.errors import TweetgenError
from tweetgen.model.train import WARM_START_MAX_SECONDS, TrainConfig
from tweetgen.registry.port import ModelRegistry, ModelVersion

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

# What the champion's weights fix: a warm start may not change them.
SHAPE_SETTINGS = ("family", "tokenizer", "n_layer", "n_embd", "n_head", "hidden_size")
# What else it inherits unless given: the model around the weights.
INHERITED_SETTINGS = (*SHAPE_SETTINGS, "base_model", "vocab_size", "block_size", "dropout", "ngram_order")
WARM_LEARNING_RATE_RATIO = 0.3  # the weights are trained already: a gentler peak than a fresh run's


def warm_start_parent(registry: ModelRegistry, config: TrainConfig) -> ModelVersion:
    """The champion a warm start of ``config.model_name`` continues, checked against ``config``.

    Raises:
        TweetgenError: there is no champion yet, or ``config`` names another family, tokenizer or
            shape than the champion's (one sentence, naming the flag).
    """
    champion = registry.champion(config.model_name)
    if champion is None:
        raise TweetgenError(
            f"There is no champion of '{config.model_name}' in {registry.where} to continue; run "
            "`python -m tweetgen train` without --warm-start first."
        )
    settings = champion_settings(champion)
    for key in SHAPE_SETTINGS:
        given, theirs = getattr(config, key), settings.get(key)
        if given is not None and given != theirs:
            flag = "--model" if key == "family" else f"--{key.replace('_', '-')}"
            raise TweetgenError(
                f"--warm-start continues the champion, version {champion.version}, whose {key} is {theirs!r}, but "
                f"{flag} is {given!r}; leave out {flag}, or train without --warm-start to start a new model."
            )
    return champion


def champion_settings(champion: ModelVersion) -> dict[str, Any]:
    """The settings the champion was trained with (its card), with its family."""
    return {**dict(champion.card.get("settings") or {}), "family": champion.family}


def warm_config(config: TrainConfig, parent: ModelVersion) -> TrainConfig:
    """``config`` with what the parent's card fixes (``INHERITED_SETTINGS``), a learning rate of
    ``WARM_LEARNING_RATE_RATIO`` times the parent's unless given, and ``WARM_START_MAX_SECONDS``
    when no budget was given at all."""
    settings = champion_settings(parent)
    inherited = {key: settings[key] for key in INHERITED_SETTINGS if key in settings and getattr(config, key) is None}
    inherited |= {key: settings[key] for key in ("base_model", "vocab_size", "block_size") if key in settings}
    if settings.get("base_model", "tiny") != "tiny":
        inherited |= {"family": None, "tokenizer": None}  # a pretrained base brings its own
    if config.learning_rate is None and settings.get("learning_rate"):
        inherited["learning_rate"] = float(settings["learning_rate"]) * WARM_LEARNING_RATE_RATIO
    if config.max_seconds is None and config.max_steps is None and config.epochs is None:
        inherited["max_seconds"] = WARM_START_MAX_SECONDS
    return dataclasses.replace(config, warm_start=True, **inherited)


def load_parent(registry: ModelRegistry, parent: ModelVersion) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The parent's model, ready to train: its n-gram taken out (``add_ngram`` rebuilds it).

    Raises:
        TweetgenError: the loaded model's family is not the one its card records.
    """
    from tweetgen.model.build import family_of

    model, tokenizer = registry.load(parent)
    if family_of(model) != parent.family:
        raise TweetgenError(
            f"Version {parent.version} of '{parent.name}' holds a {family_of(model)} model, but its card says "
            f"{parent.family}; train without --warm-start to start a new model."
        )
    if getattr(model.config, "ngram_order", 0):
        model.config.ngram_order = 0  # forward() mixes no n-gram while the weights train
    return model, tokenizer


def lineage(parent: ModelVersion | None, newest_tweet_id: int | None, newest_tweet_at: str | None) -> dict[str, Any]:
    """The card's lineage fields (module docstring)."""
    return {"parent_version": parent.version if parent else None, "newest_tweet_id": newest_tweet_id,
            "newest_tweet_at": newest_tweet_at}
