"""Tiny models of both families (a GPT-2, an LSTM) and their tokenizers saved with ``save_pretrained``,
for registry tests (no download)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import PreTrainedModel

from tests.fakes.tweet_texts import invented_tweets
from tweetgen.model.build import build_tiny_model, byte_tokenizer, train_tokenizer
from tweetgen.model.lstm import TweetLSTMConfig, build_lstm


def save_tiny_model(folder: Path, seed: int = 0) -> PreTrainedModel:
    """Save a 2-layer GPT-2 (tokenizer trained on invented tweets) into ``folder``; return it in eval mode."""
    tokenizer = train_tokenizer(invented_tweets(100), vocab_size=300)
    model = build_tiny_model(tokenizer, n_layer=2, n_embd=32, n_head=2, n_positions=64, seed=seed).eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return model


def save_tiny_lstm(folder: Path, seed: int = 0) -> PreTrainedModel:
    """Save a one-layer byte-level LSTM (32-wide embedding, 64-wide state) into ``folder``; return it in eval mode."""
    tokenizer = byte_tokenizer()
    model = build_lstm(tokenizer, n_embd=32, hidden_size=64, seed=seed).eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return model


def forget_lstm_auto_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo ``register_auto_classes`` for one test, as in a fresh process that never imported the
    LSTM: whatever loads a saved ``tweet_lstm`` must register the Auto classes itself."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    monkeypatch.delitem(CONFIG_MAPPING._extra_content, "tweet_lstm", raising=False)
    monkeypatch.delitem(MODEL_FOR_CAUSAL_LM_MAPPING._extra_content, TweetLSTMConfig, raising=False)


def logits(model: PreTrainedModel, token_ids: list[int]) -> torch.Tensor:
    """The model's logits for one sequence, without gradients."""
    with torch.no_grad():
        return model(input_ids=torch.tensor([token_ids])).logits


@pytest.fixture(scope="module", name="saved")
def saved_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PreTrainedModel]:
    """A tiny model saved once per test module: (its folder, the model)."""
    folder = tmp_path_factory.mktemp("saved")
    return folder, save_tiny_model(folder)


@pytest.fixture(scope="module", name="saved_lstm")
def saved_lstm_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PreTrainedModel]:
    """A tiny LSTM saved once per test module: (its folder, the model)."""
    folder = tmp_path_factory.mktemp("saved_lstm")
    return folder, save_tiny_lstm(folder)
