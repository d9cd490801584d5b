"""Tiny models registered in a local registry, made by the tests (no download)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.fakes.tweet_texts import invented_tweets
from tweetgen.model.build import build_tiny_model, train_tokenizer
from tweetgen.registry.port import ModelRegistry, ModelVersion

MODEL_NAME = "tweet_gpt2"


def register_tiny_model(
    registry: ModelRegistry, bits_per_char: float = 3.0, seed: int = 0, promote: bool = True, eval_set: str = "sha256:test"
) -> ModelVersion:
    """An untrained 2-layer GPT-2 with a tokenizer trained on invented tweets, registered (and
    promoted when it wins the champion rule) with the given score."""
    tokenizer = train_tokenizer(invented_tweets(200), vocab_size=300)
    model = build_tiny_model(tokenizer, n_layer=2, n_embd=32, n_head=2, n_positions=64, seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        version = registry.register(Path(folder), MODEL_NAME, {"eval_bits_per_char": bits_per_char}, {"eval_set_id": eval_set})
    if promote:
        registry.promote_if_better(version)
    return version
