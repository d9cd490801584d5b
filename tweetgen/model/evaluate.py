"""Evaluation of a causal LM on held-out tweets, in units that compare across tokenizers.

Definitions (``evaluate`` returns them under these names):

- Each text is framed as ``bos + tokens(text) + eos`` and scored on its own, from its start. The
  model predicts every token after ``bos``: the text's tokens and the ``eos`` that ends it.
- ``eval_loss``: total nats over those predictions / their number (mean nats per token).
- ``eval_perplexity``: ``exp(eval_loss)``. Per token, so it depends on the tokenizer.
- ``eval_bits_per_char``: total nats / ln 2 / total characters, where total characters is
  ``sum(len(text) + 1)``: Unicode code points of each text plus one for its end. This counts
  the same thing whatever the tokenizer, so two models with different vocabularies compare
  directly, and so does a compressor: compress ``"".join(text + "\\n" for text in texts)`` and
  divide its size in bits by the same character count (the newline plays the part of ``eos``).
- ``eval_set_id``: a hash of the texts in order; two numbers compare only if their ids are equal.

A text longer than the model's context is scored in overlapping windows (each token once, with at
least half a window of context), so every character counts.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import math
from collections.abc import Callable, Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase


def eval_set_id(texts: list[str]) -> str:
    """A short, stable hash of ``texts`` (order matters): identifies an evaluation set."""
    digest = hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode("utf-8")).hexdigest()
    return f"sha256:{digest[:16]}"


@torch.inference_mode()
def evaluate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str], batch_size: int = 32) -> dict[str, float]:
    """Score ``model`` on ``texts`` (float32, dropout off); see the module docstring for units.

    Returns:
        ``eval_loss``, ``eval_perplexity``, ``eval_bits_per_char``, ``eval_tokens``,
        ``eval_chars`` and ``eval_texts`` (all numbers).
    """
    framed = framed_ids(tokenizer, texts)
    nats = float(token_nats(model, framed, tokenizer.pad_token_id, batch_size).sum())
    tokens = sum(len(ids) - 1 for ids in framed)
    chars = sum(len(text) + 1 for text in texts)
    loss = nats / tokens
    return {
        "eval_loss": loss,
        "eval_perplexity": math.exp(min(loss, 700.0)),  # exp overflows past ~709
        "eval_bits_per_char": nats / math.log(2) / chars,
        "eval_tokens": float(tokens),
        "eval_chars": float(chars),
        "eval_texts": float(len(texts)),
    }


def framed_ids(tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> list[list[int]]:
    """Each text as ``bos + tokens + eos`` token ids.

    Raises:
        ValueError: ``texts`` is empty.
    """
    if not texts:
        raise ValueError("evaluate needs at least one text.")
    return [[tokenizer.bos_token_id, *ids, tokenizer.eos_token_id] for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]


@torch.inference_mode()
def token_nats(model: PreTrainedModel, framed: list[list[int]], pad_id: int, batch_size: int = 32) -> torch.Tensor:
    """Nats of every predicted token of the ``framed`` sequences (float32, dropout off), one flat
    tensor: the short sequences batched by length, then the long ones in windows."""
    was_training = model.training
    model.eval()
    context = model.config.n_positions if hasattr(model.config, "n_positions") else model.config.max_position_embeddings
    short = [ids for ids in framed if len(ids) <= context]
    nats = [_batched_nats(model, short, batch_size, pad_id)]
    nats += [_windowed_nats(model, ids, context) for ids in framed if len(ids) > context]
    model.train(was_training)
    return torch.cat(nats)


@torch.inference_mode()
def text_bits_per_char(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> list[float]:
    """Each text's own bits per character (its nats, end included, over ``len(text) + 1``), in order."""
    return [float(token_nats(model, [ids], tokenizer.pad_token_id).sum()) / math.log(2) / (len(text) + 1)
            for ids, text in zip(framed_ids(tokenizer, texts), texts, strict=True)]


def validation_scorer(tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> Callable[[PreTrainedModel], float]:
    """A function giving a model's ``eval_bits_per_char`` on ``texts`` (e.g. the validation slice
    ``train`` stops early on)."""
    return lambda model: evaluate(model, tokenizer, texts)["eval_bits_per_char"]


def _batched_nats(model: PreTrainedModel, sequences: list[list[int]], batch_size: int, pad_id: int) -> torch.Tensor:
    """Nats of predicting tokens 1.. of each sequence, batched by similar length (flat, in length order).

    Sequences are padded on the right and the pads' predictions are masked out. No attention mask
    is needed: attention is causal, so a real token never sees the pads that follow it.
    """
    ordered = sorted(sequences, key=len)
    nats = [torch.zeros(0)]
    for start in range(0, len(ordered), batch_size):
        batch = ordered[start : start + batch_size]
        width = len(batch[-1])
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)  # (B, T)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = torch.tensor(seq)
        lengths = torch.tensor([len(seq) for seq in batch])
        mask = torch.arange(1, width)[None, :] < lengths[:, None]  # (B, T-1): target is real
        nats.append(_token_nats(model, ids).cpu()[mask])
    return torch.cat(nats)


def _windowed_nats(model: PreTrainedModel, ids: list[int], context: int) -> torch.Tensor:
    """Nats of each token of one long sequence: windows of ``context`` tokens advancing by half of it."""
    stride = context // 2
    parts, scored = [], 1  # scored: tokens whose prediction is counted (the first is bos)
    for start in range(0, len(ids), stride):
        window = torch.tensor([ids[start : start + context]])  # (1, T)
        nats = _token_nats(model, window)[0].cpu()  # (T-1,): nats of predicting window[1:]
        first_new = scored - start - 1  # index into nats of the first target not yet scored
        parts.append(nats[first_new:])
        scored = start + window.shape[1]
        if scored >= len(ids):
            break
    return torch.cat(parts)


def _token_nats(model: PreTrainedModel, ids: torch.Tensor) -> torch.Tensor:
    """Nats of predicting ``ids[:, 1:]`` from the tokens before each: shape (B, T-1)."""
    # An all-ones mask changes nothing (see _batched_nats) but tells transformers the padding is deliberate.
    ids = ids.to(model.device)
    logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[:, :-1].float()  # (B, T-1, V)
    return torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")


def compressor_bits_per_char(texts: Sequence[str]) -> float:
    """Bits per character of ``texts`` compressed with LZMA (xz), counted as ``evaluate`` counts.

    Each text ends with a newline, which plays the part of the end token, so the character count is
    ``sum(len(text) + 1)``: the same denominator as ``eval_bits_per_char``. A language model that
    does not beat a general-purpose compressor has learnt little about the text.
    """
    if not texts:
        raise ValueError("compressor_bits_per_char needs at least one text.")
    data = "".join(f"{text}\n" for text in texts).encode("utf-8")
    compressed = lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)
    return 8 * len(compressed) / sum(len(text) + 1 for text in texts)
