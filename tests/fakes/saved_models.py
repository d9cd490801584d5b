"""A tiny GPT-2 and its tokenizer saved with ``save_pretrained``, for registry tests (no download)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import PreTrainedModel

from tests.fakes.tweet_texts import invented_tweets
from tweetgen.model.build import build_tiny_model, train_tokenizer


def save_tiny_model(folder: Path, seed: int = 0) -> PreTrainedModel:
    """Save a 2-layer GPT-2 (tokenizer trained on invented tweets) into ``folder``; return it in eval mode."""
    tokenizer = train_tokenizer(invented_tweets(100), vocab_size=300)
    model = build_tiny_model(tokenizer, n_layer=2, n_embd=32, n_head=2, n_positions=64, seed=seed).eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return model


def logits(model: PreTrainedModel, token_ids: list[int]) -> torch.Tensor:
    """The model's logits for one sequence, without gradients."""
    with torch.no_grad():
        return model(input_ids=torch.tensor([token_ids])).logits


@pytest.fixture(scope="module", name="saved")
def saved_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PreTrainedModel]:
    """A tiny model saved once per test module: (its folder, the model)."""
    folder = tmp_path_factory.mktemp("saved")
    return folder, save_tiny_model(folder)
