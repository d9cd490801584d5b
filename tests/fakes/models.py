"""Tiny models registered in a local registry, made by the tests (no download)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.fakes.tweet_texts import invented_tweets
from tweetgen.config import DEFAULT_MODEL_NAME
from tweetgen.model.build import build_tiny_model, byte_tokenizer, train_tokenizer
from tweetgen.model.lstm import build_lstm
from tweetgen.registry.port import ModelRegistry, ModelVersion

MODEL_NAME = DEFAULT_MODEL_NAME


def register_tiny_model(
    registry: ModelRegistry, bits_per_char: float = 3.0, seed: int = 0, promote: bool = True, eval_set: str = "sha256:test",
    family: str | None = None, name: str = MODEL_NAME,
) -> ModelVersion:
    """An untrained model registered (and promoted when it wins the champion rule) with the given
    score: a 2-layer GPT-2 with a tokenizer trained on invented tweets, or with ``family="lstm"``
    a one-layer byte-level LSTM. ``family=None`` leaves the family out of the card, as cards
    written before families were recorded (the registry reads them as GPT-2s). ``name``: the registry name."""
    if family == "lstm":
        tokenizer = byte_tokenizer()
        model = build_lstm(tokenizer, n_embd=16, hidden_size=32, seed=seed)
    else:
        tokenizer = train_tokenizer(invented_tweets(200), vocab_size=300)
        model = build_tiny_model(tokenizer, n_layer=2, n_embd=32, n_head=2, n_positions=64, seed=seed)
    card = {"eval_set_id": eval_set} | ({"family": family} if family else {})
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        version = registry.register(Path(folder), name, {"eval_bits_per_char": bits_per_char}, card)
    if promote:
        registry.promote_if_better(version)
    return version
