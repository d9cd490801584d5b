"""A tiny registered champion model for the app's prompt box (built in about a second)."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.tweet_texts import invented_tweets
from tweetgen.model.build import build_tiny_model, train_tokenizer
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.registry.port import ModelVersion

MODEL_NAME = "tweet_gpt2"


def register_tiny_champion(root: Path, name: str = MODEL_NAME, train_steps: int = 0) -> tuple[LocalModelRegistry, ModelVersion]:
    """A ``LocalModelRegistry`` in ``root`` whose champion of ``name`` is a one-layer GPT-2.

    The tokenizer is trained on invented sentences, so generations are made of their pieces.
    With ``train_steps`` the model also learns them (about 0.2 s a step), so it writes whole
    invented sentences instead of word salad: for screenshots, not for every test run.
    """
    texts = invented_tweets(400)
    tokenizer = train_tokenizer(texts, vocab_size=400)
    model = build_tiny_model(tokenizer, n_layer=1, n_embd=64, n_head=2, n_positions=64, seed=0)
    if train_steps:
        from tweetgen.model.data import frame_texts
        from tweetgen.model.train import TrainConfig, train

        blocks = frame_texts(texts, tokenizer, 64)
        config = TrainConfig(max_steps=train_steps, batch_size=16, learning_rate=5e-3, block_size=64, precision="fp32", progress=False)
        train(model, blocks, config)
    saved = Path(root) / "saved"
    model.save_pretrained(saved)
    tokenizer.save_pretrained(saved)
    registry = LocalModelRegistry(Path(root) / "models")
    version = registry.register(saved, name, {"eval_bits_per_char": 3.5}, {"eval_set_id": "sha256:tiny"})
    decision = registry.promote_if_better(version)
    assert decision.promoted, decision.reason
    return registry, version
