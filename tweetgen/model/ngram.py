"""A count model of the training tweets that the LSTM mixes into its predictions.

An LSTM trained for a few minutes generalises well but remembers little verbatim: handles, links,
phrases the account repeats. An n-gram over the same tokens remembers exactly that and nothing
else. Mixed, ``p = (1 - w) * p_lstm + w * p_ngram``, they score better than either: on the real
Kaggle tweets (split 2021-10) one trained byte LSTM alone scores 1.99 bits/char, the n-gram 2.01,
the mixture 1.91 (bench/README.md). ``w`` is fitted on the validation slice, never on the eval
set; then the validation tweets, the newest of the training period, are counted as well.

The n-gram is interpolated modified Kneser-Ney (Chen and Goodman's): for a context ``c`` of ``k``
tokens,

    p_k(t | c) = max(a(c, t) - D(a(c, t)), 0) / n(c) + sum_t' D(a(c, t')) / n(c) * p_{k-1}(t | c's last k-1 tokens)

with ``a(c, t)`` the times ``t`` followed ``c`` at the highest order, and at lower orders the
number of distinct tokens seen before ``c t`` (a word that only ever follows one other word is
no evidence for the word anywhere else), ``n(c)`` their sum, ``D`` one of three discounts per
order (for 1, 2, 3 or more, from the counts of counts: ``count_discounts``), and ``p_{-1}``
uniform; a context never seen in training hands over to the shorter one. Contexts never cross a
tweet's start: each tweet is framed ``bos + tokens + eos`` as for training and evaluation, and a
pair at the start keeps its occurrences (nothing comes before it). Against plain counts and one
discount of 0.75 (absolute discounting, what models saved before kept, and still read that way),
the n-gram alone scores 2.34 bits/char instead of 2.01 on that split, the mixture 1.93 instead of
1.91.

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
    ``discounts`` (order + 1, 3): each order's discounts of a count of 1, 2, and 3 or more
    (modified Kneser-Ney); None: ``DISCOUNT`` for all, and the counts are plain counts (a table
    saved before Kneser-Ney).
    """

    order: int
    keys: torch.Tensor  # int64
    starts: torch.Tensor  # int64
    next_tokens: torch.Tensor  # int16
    counts: torch.Tensor  # int32
    discounts: torch.Tensor | None = None  # float32


def max_order(vocab_size: int) -> int:
    """The longest context whose packed key fits an int64 (at most ``MAX_ORDER``)."""
    order = 0
    while order < MAX_ORDER and vocab_size ** (order + 1) << ORDER_BITS < 1 << 63:
        order += 1
    return order


def count_ngrams(sequences: list[list[int]], order: int, vocab_size: int, kneser_ney: bool = True) -> NGramTable:
    """The table of contexts of 0..``order`` tokens in ``sequences`` (each a framed tweet).

    With ``kneser_ney`` (the default), a (context, token) pair of a lower order counts the distinct
    tokens seen before it rather than its occurrences (a pair that starts at the tweet's start,
    where nothing comes before, keeps its occurrences), and each order's discounts are estimated
    from its counts of counts (``count_discounts``): interpolated modified Kneser-Ney. Without it,
    plain counts and ``DISCOUNT`` (absolute discounting).

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
    keys, nexts, counts, discounts = [], [], [], []
    body = np.zeros(targets.size, dtype=np.int64)
    for k in range(order + 1):
        if k:  # extend each context by the token k places before the target
            reach = position[targets] >= k
            body = body[reach] + flat[targets[reach] - k] * vocab_size ** (k - 1)
            targets = targets[reach]
        key, nxt = (body << ORDER_BITS) | k, flat[targets]
        if kneser_ney and k < order:
            extends = position[targets] > k  # a token comes before the context
            left = _pair_counts(key[extends], nxt[extends], flat[targets[extends] - k - 1])
            start = _pair_counts(key[~extends], nxt[~extends])
            pair_key, pair_next, pair_count = (np.concatenate(parts) for parts in zip(left, start, strict=True))
        else:
            pair_key, pair_next, pair_count = _pair_counts(key, nxt)
        keys.append(pair_key)
        nexts.append(pair_next)
        counts.append(pair_count)
        discounts.append(count_discounts(pair_count))
    key, nxt, count = np.concatenate(keys), np.concatenate(nexts), np.concatenate(counts)
    ordered = np.lexsort((nxt, key))
    key, nxt, count = key[ordered], nxt[ordered], count[ordered]
    context_at = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, np.int64)
    return NGramTable(
        order=order,
        keys=torch.from_numpy(key[context_at].copy()),
        starts=torch.from_numpy(np.r_[context_at, key.size].astype(np.int64)),
        next_tokens=torch.from_numpy(nxt.astype(np.int16)),
        counts=torch.from_numpy(count.astype(np.int32)),
        discounts=torch.tensor(discounts, dtype=torch.float32) if kneser_ney else None,
    )


def count_discounts(counts: np.ndarray) -> list[float]:
    """The discounts of counts of 1, 2, and 3 or more, from how many pairs have each count
    (``n1`` .. ``n4``; Chen and Goodman's estimate): ``D_i = i - (i + 1) Y n_(i+1) / n_i`` with
    ``Y = n1 / (n1 + 2 n2)``, each at least 0.05 (at most ``i`` by construction). ``DISCOUNT`` for all three when
    one of ``n1`` .. ``n4`` is 0: too few pairs to estimate from."""
    n = [int((counts == i).sum()) for i in (1, 2, 3, 4)]
    if not all(n):
        return [DISCOUNT] * 3
    y = n[0] / (n[0] + 2 * n[1])
    return [max(i - (i + 1) * y * n[i] / n[i - 1], 0.05) for i in (1, 2, 3)]


def _pair_counts(key: np.ndarray, nxt: np.ndarray, left: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (key, next) pairs, and how often each occurs (``left`` None) or how many
    distinct ``left`` tokens come before it."""
    if left is not None and key.size:
        ordered = np.lexsort((left, nxt, key))
        key, nxt, left = key[ordered], nxt[ordered], left[ordered]
        new = np.r_[True, (key[1:] != key[:-1]) | (nxt[1:] != nxt[:-1]) | (left[1:] != left[:-1])]
        key, nxt = key[new], nxt[new]  # one row per (key, next, left): count rows below
    elif key.size:
        ordered = np.lexsort((nxt, key))
        key, nxt = key[ordered], nxt[ordered]
    if not key.size:
        return key, nxt, np.zeros(0, np.int64)
    pair_at = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]) | (nxt[1:] != nxt[:-1])])
    return key[pair_at], nxt[pair_at], np.diff(np.r_[pair_at, key.size])


def ngram_probs(table: NGramTable, ids: torch.Tensor, vocab_size: int, discount: float = DISCOUNT) -> torch.Tensor:
    """Next-token probabilities (B, T, V) after each position of ``ids`` (B, T), from the tokens
    up to and including it (at most ``table.order`` of them). ``discount`` applies to a table
    without discounts of its own."""
    batch, length = ids.shape
    ids = ids.to(table.keys.device).long()
    n_positions = batch * length
    probs = torch.full((n_positions, vocab_size), 1.0 / vocab_size, device=ids.device)
    found = torch.ones(n_positions, dtype=torch.bool, device=ids.device)
    body = torch.zeros(batch, length, dtype=torch.long, device=ids.device)
    discounts = order_discounts(table, discount)
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
        probs[rows] = _interpolate(table, at[rows], probs[rows], discounts[k])
    return probs.view(batch, length, vocab_size)


def next_token_probs(table: NGramTable, ids: torch.Tensor, vocab_size: int, discount: float = DISCOUNT) -> torch.Tensor:
    """``ngram_probs(table, ids, vocab_size)[:, -1]`` (B, V), the same numbers, for the last position
    alone: every order's context looked up at once, then the same interpolation order by order.
    Generation calls it once per new token with at most ``table.order + 1`` tokens a row."""
    batch, length = ids.shape
    ids = ids.to(table.keys.device).long()
    probs = torch.full((batch, vocab_size), 1.0 / vocab_size, device=ids.device)
    orders = table.order + 1
    if not len(table.keys):
        return probs
    # the context of k tokens ends at the last one: digits ids[-1], ids[-2], ... in base vocab_size
    digits = ids.flip(1)[:, : orders - 1]  # (B, <= order)
    weights = vocab_size ** torch.arange(digits.shape[1], device=ids.device)
    bodies = torch.zeros(batch, orders, dtype=torch.long, device=ids.device)
    bodies[:, 1 : digits.shape[1] + 1] = (digits * weights).cumsum(dim=1)
    keys = (bodies << ORDER_BITS) | torch.arange(orders, device=ids.device)  # (B, orders)
    at = torch.searchsorted(table.keys, keys.reshape(-1)).clamp(max=len(table.keys) - 1).view(batch, orders)
    reach = torch.arange(orders, device=ids.device) <= length  # a context of k tokens needs k of them
    found = ((table.keys[at] == keys) & reach).cumprod(dim=1).bool()  # a longer context only after the shorter one
    per_row = order_discounts(table, discount).to(ids.device).repeat(batch, 1)  # (B * orders, 3)
    share, weight = _parts(table, at.reshape(-1), found.reshape(-1), vocab_size, per_row)
    share, weight = share.view(batch, orders, vocab_size), weight.view(batch, orders, 1)
    for k in range(orders):
        probs = torch.where(found[:, k, None], share[:, k] + weight[:, k] * probs, probs)
    return probs


def order_discounts(table: NGramTable, discount: float = DISCOUNT) -> torch.Tensor:
    """The discounts (order + 1, 3) of ``table`` for counts of 1, 2, and 3 or more: its own, or
    ``discount`` for all (a table saved before Kneser-Ney)."""
    return table.discounts if table.discounts is not None else torch.full((table.order + 1, 3), discount)


def _interpolate(table: NGramTable, contexts: torch.Tensor, lower: torch.Tensor, discount: torch.Tensor) -> torch.Tensor:
    """``p_k`` for each row's context from its counts and the shorter context's ``lower`` (R, V);
    ``discount`` (3,): what a count of 1, 2, and 3 or more gives up to the shorter context."""
    share, weight = _parts(table, contexts, None, lower.shape[1], discount.expand(len(contexts), 3))
    return share + weight * lower


def _parts(table: NGramTable, contexts: torch.Tensor, seen: torch.Tensor | None, vocab_size: int,
           discount: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``p_k = share + weight * p_{k-1}`` for each row's context: ``share`` (R, V) the discounted
    counts over ``n(c)``, ``weight`` (R, 1) the mass handed to the shorter context; ``discount``
    (R, 3) each row's discounts. Rows where ``seen`` is False (their context is not in the table)
    get no counts and meaningless parts."""
    begin, end = table.starts[contexts], table.starts[contexts + 1]
    sizes = end - begin  # distinct next tokens u(c)
    if seen is not None:
        sizes = sizes * seen
    row = torch.repeat_interleave(torch.arange(len(contexts), device=contexts.device), sizes)
    entry = torch.arange(int(sizes.sum()), device=contexts.device) - torch.repeat_interleave(torch.cumsum(sizes, 0) - sizes, sizes)
    entry = entry + torch.repeat_interleave(begin, sizes)
    count = table.counts[entry]
    given = discount.to(contexts.device)[row, count.long().clamp(1, 3) - 1]
    count = count.float()
    share = torch.zeros(len(contexts), vocab_size, device=contexts.device)
    share[row, table.next_tokens[entry].long()] = (count - given).clamp(min=0)
    total = torch.zeros(len(contexts), device=contexts.device).index_add_(0, row, count)[:, None]  # n(c)
    handed = torch.zeros(len(contexts), device=contexts.device).index_add_(0, row, given)[:, None]
    return share / total, handed / total


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
