"""A count model of the training tweets that the LSTM mixes into its predictions.

An LSTM trained for a few minutes generalises well but remembers little verbatim: handles, links,
phrases the account repeats. An n-gram over the same tokens remembers exactly that and nothing
else. Mixed, ``p = (1 - w) * p_lstm + w * p_ngram``, they score better than either: on the real
Kaggle tweets the byte LSTM alone scores about 1.99 bits/char, the n-gram 2.36, the mixture 1.93
(bench/README.md). ``w`` is fitted on the validation slice, never on the eval set; then the
validation tweets, the newest of the training period, are counted as well.

The n-gram is interpolated absolute discounting (Ney's): for a context ``c`` of ``k`` tokens,

    p_k(t | c) = max(count(c, t) - D, 0) / n(c) + D * u(c) / n(c) * p_{k-1}(t | c's last k-1 tokens)

with ``n(c)`` the times ``c`` was followed by anything, ``u(c)`` by how many distinct tokens, and
``p_{-1}`` uniform; a context never seen in training hands over to the shorter one. Contexts never
cross a tweet's start: each tweet is framed ``bos + tokens + eos`` as for training and evaluation.

The table is a handful of flat tensors (``NGramTable``), so the model saves it in its safetensors
file and looks it up with ``torch.searchsorted``: a context of ``k`` tokens is packed into one
int64 key, its tokens as the digits of a number in base ``vocab_size`` and the order in the low
``ORDER_BITS`` bits. That bounds the order: up to 7 over the 259 tokens of the byte tokenizer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tweetgen.model.evaluate import framed_ids, token_nats

ORDER_BITS = 3
MAX_ORDER = 7
DISCOUNT = 0.75


@dataclass(frozen=True)
class NGramTable:
    """Counts of (context, next token) in the training text, sorted by context key.

    ``keys`` (C,): packed contexts of every order, ascending; ``starts`` (C + 1,): context ``i``'s
    next tokens are ``next_tokens[starts[i]:starts[i + 1]]`` with ``counts`` alongside (E,).
    """

    order: int
    keys: torch.Tensor  # int64
    starts: torch.Tensor  # int64
    next_tokens: torch.Tensor  # int16
    counts: torch.Tensor  # int32


def max_order(vocab_size: int) -> int:
    """The longest context whose packed key fits an int64 (at most ``MAX_ORDER``)."""
    order = 0
    while order < MAX_ORDER and vocab_size ** (order + 1) << ORDER_BITS < 1 << 63:
        order += 1
    return order


def count_ngrams(sequences: list[list[int]], order: int, vocab_size: int) -> NGramTable:
    """The table of contexts of 0..``order`` tokens in ``sequences`` (each a framed tweet).

    Raises:
        ValueError: ``order`` is outside 1..``max_order(vocab_size)``, or a token is not below ``vocab_size``.
    """
    if not 1 <= order <= max_order(vocab_size):
        raise ValueError(f"The n-gram order must be 1 to {max_order(vocab_size)} for {vocab_size} tokens, not {order}.")
    flat = np.fromiter((t for seq in sequences for t in seq), dtype=np.int64)
    if flat.size and not 0 <= int(flat.min()) <= int(flat.max()) < vocab_size:
        raise ValueError(f"The token ids must be 0 to {vocab_size - 1}.")
    position = np.concatenate([np.arange(len(seq)) for seq in sequences]) if sequences else np.zeros(0, np.int64)
    targets = np.flatnonzero(position >= 1)  # every token after bos is predicted
    keys, nexts = [], []
    body = np.zeros(targets.size, dtype=np.int64)
    for k in range(order + 1):
        if k:  # extend each context by the token k places before the target
            reach = position[targets] >= k
            body = body[reach] + flat[targets[reach] - k] * vocab_size ** (k - 1)
            targets = targets[reach]
        keys.append((body << ORDER_BITS) | k)
        nexts.append(flat[targets])
    key, nxt = np.concatenate(keys), np.concatenate(nexts)
    ordered = np.lexsort((nxt, key))
    key, nxt = key[ordered], nxt[ordered]
    new_pair = np.r_[True, (key[1:] != key[:-1]) | (nxt[1:] != nxt[:-1])]
    pair_at = np.flatnonzero(new_pair)
    counts = np.diff(np.r_[pair_at, key.size])
    pair_key, pair_next = key[pair_at], nxt[pair_at]
    new_context = np.r_[True, pair_key[1:] != pair_key[:-1]]
    context_at = np.flatnonzero(new_context)
    return NGramTable(
        order=order,
        keys=torch.from_numpy(pair_key[context_at].copy()),
        starts=torch.from_numpy(np.r_[context_at, pair_key.size].astype(np.int64)),
        next_tokens=torch.from_numpy(pair_next.astype(np.int16)),
        counts=torch.from_numpy(counts.astype(np.int32)),
    )


def ngram_probs(table: NGramTable, ids: torch.Tensor, vocab_size: int, discount: float = DISCOUNT) -> torch.Tensor:
    """Next-token probabilities (B, T, V) after each position of ``ids`` (B, T), from the tokens
    up to and including it (at most ``table.order`` of them)."""
    batch, length = ids.shape
    ids = ids.to(table.keys.device).long()
    n_positions = batch * length
    probs = torch.full((n_positions, vocab_size), 1.0 / vocab_size, device=ids.device)
    found = torch.ones(n_positions, dtype=torch.bool, device=ids.device)
    body = torch.zeros(batch, length, dtype=torch.long, device=ids.device)
    for k in range(table.order + 1):
        if k:
            shifted = torch.zeros_like(ids)
            shifted[:, k - 1 :] = ids[:, : length - k + 1]  # the token k - 1 places back
            body = body + shifted * vocab_size ** (k - 1)
            reach = (torch.arange(length, device=ids.device) >= k - 1).expand(batch, length).reshape(-1)
            found = found & reach
        key = ((body << ORDER_BITS) | k).reshape(-1)
        at = torch.searchsorted(table.keys, key).clamp(max=max(len(table.keys) - 1, 0))
        found = found & (table.keys[at] == key) if len(table.keys) else found & False
        rows = found.nonzero().squeeze(1)
        if rows.numel() == 0:
            break
        probs[rows] = _interpolate(table, at[rows], probs[rows], discount)
    return probs.view(batch, length, vocab_size)


def _interpolate(table: NGramTable, contexts: torch.Tensor, lower: torch.Tensor, discount: float) -> torch.Tensor:
    """``p_k`` for each row's context from its counts and the shorter context's ``lower`` (R, V)."""
    begin, end = table.starts[contexts], table.starts[contexts + 1]
    sizes = end - begin  # distinct next tokens u(c)
    row = torch.repeat_interleave(torch.arange(len(contexts), device=contexts.device), sizes)
    entry = torch.arange(int(sizes.sum()), device=contexts.device) - torch.repeat_interleave(torch.cumsum(sizes, 0) - sizes, sizes)
    entry = entry + torch.repeat_interleave(begin, sizes)
    counts = torch.zeros_like(lower)
    counts[row, table.next_tokens[entry].long()] = table.counts[entry].float()
    total = counts.sum(dim=1, keepdim=True)  # n(c)
    return (counts - discount).clamp(min=0) / total + discount * sizes[:, None].float() / total * lower


def best_weight(lstm_nats: torch.Tensor, ngram_nats: torch.Tensor) -> float:
    """The mixture weight of the n-gram (0 to 0.9 in steps of 0.01) that gives the fewest total nats
    to tokens scored ``lstm_nats`` by the LSTM alone and ``ngram_nats`` by the n-gram alone."""
    weights = torch.arange(91, dtype=torch.float64) / 100
    a, b = -lstm_nats.double(), -ngram_nats.double()
    mixed = torch.logaddexp(torch.log1p(-weights)[:, None] + a[None], torch.log(weights)[:, None] + b[None])
    return float(weights[int(torch.argmax(mixed.sum(dim=1)))])


def supports_ngram(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether ``model`` can mix in an n-gram: an LSTM (``attach_ngram``) over a vocabulary small
    enough for contexts of a few tokens (the 259 of the byte tokenizer)."""
    return hasattr(model, "attach_ngram") and max_order(len(tokenizer)) >= 4


@dataclass(frozen=True)
class NGramFit:
    """What ``mix_in_ngram`` chose and measured: the weight, and held-out bits per character on the
    validation slice without and with the n-gram (the table of the training tweets alone)."""

    order: int
    weight: float
    val_bits_per_char_alone: float
    val_bits_per_char_mixed: float


def mix_in_ngram(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, train_texts: list[str], val_texts: list[str], order: int) -> NGramFit:
    """Fit the weight of an n-gram of ``train_texts`` on ``val_texts`` (never trained on), then
    attach to ``model`` that weight and the n-gram of both: the validation tweets are the newest
    of the training period, and counting them costs the eval set nothing."""
    order = min(order, max_order(len(tokenizer)))
    table = count_ngrams(framed_ids(tokenizer, train_texts), order, len(tokenizer))
    val = framed_ids(tokenizer, val_texts)
    nats = []
    for weight in (0.0, 1.0):  # the LSTM alone, then the n-gram alone
        model.attach_ngram(table, weight)
        nats.append(token_nats(model, val, tokenizer.pad_token_id).double())
    weight = best_weight(*nats)
    mixed = -torch.logaddexp(math.log1p(-weight) - nats[0], math.log(weight) - nats[1]) if weight else nats[0]
    bits = lambda total: float(total) / math.log(2) / sum(len(text) + 1 for text in val_texts)  # noqa: E731
    model.attach_ngram(count_ngrams(framed_ids(tokenizer, train_texts + val_texts), order, len(tokenizer)), weight)
    return NGramFit(order, weight, bits(nats[0].sum()), bits(mixed.sum()))
