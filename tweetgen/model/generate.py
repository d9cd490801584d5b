"""Sampling tweets from a trained model: nucleus sampling that stops at ``<|eos|>``.

A sample ends where the model ends it (``eos``); one that runs out of room first is cut where a
reader expects a cut (``tweetgen.model.ending``), never inside a word. ``best_of`` draws several
candidates per tweet and keeps the one the model itself finds most likely per character.

``sample_rows`` writes several tweets at once, each from its own prompt and seed. Rows whose
prompts have the same number of tokens read them in one forward pass (no padding, so nothing
changes what a row sees); after that, the LSTM's rows continue as one batch, one forward pass per
new token for all of them (GPT-2's key/value caches of different lengths stay apart, one batch per
prompt length). Each row draws its tokens from its own random generator, so its text depends on
its prompt, its seed and the model alone, not on which rows shared the batch (up to the last bits
of float rounding, which move a draw only when it lands within about 1e-7 of a boundary between
two tokens). ``sample_tweets`` is the same for one prompt, row ``i`` from seed ``seed + i``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tweetgen.errors import TweetgenError
from tweetgen.model.build import context_length, is_byte_level
from tweetgen.model.ending import end_tweet
from tweetgen.schema import MAX_TWEET_CHARS

BPE_TWEET_TOKENS = 80  # a BPE token of tweets is about 3.3 characters: 80 tokens hold a whole tweet


def tweet_tokens(tokenizer: PreTrainedTokenizerBase) -> int:
    """New tokens enough for a whole tweet: ``MAX_TWEET_CHARS`` for a byte tokenizer, 80 for BPE."""
    return MAX_TWEET_CHARS if is_byte_level(tokenizer) else BPE_TWEET_TOKENS


@dataclass(frozen=True)
class Sampled:
    """One generated tweet: its text, and whether the model ended it (``eos`` within the limit)
    rather than the limit (then the text was cut at a sentence end or a word boundary)."""

    text: str
    finished: bool


def sample(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt: str = "", n: int = 3, **settings: Any) -> list[str]:
    """The texts of ``sample_tweets`` (the same arguments: ``max_new_tokens``, ``seed``, ``temperature``, ``top_p``)."""
    return [s.text for s in sample_tweets(model, tokenizer, prompt, n, **settings)]


def sample_tweets(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt: str = "",
    n: int = 3,
    max_new_tokens: int | None = None,
    seed: int = 0,
    temperature: float = 0.9,
    top_p: float = 0.95,
) -> list[Sampled]:
    """Generate ``n`` tweets that start with ``prompt``, row ``i`` from seed ``seed + i``.

    Each sequence starts as ``bos + prompt`` and ends at the first ``eos`` or after
    ``max_new_tokens`` tokens (``None``: ``tweet_tokens``; fewer if the model's context is
    shorter); one that did not reach ``eos`` within ``MAX_TWEET_CHARS`` characters is cut
    (``tweetgen.model.ending.end_tweet``). Works for every family (GPT-2's key/value cache, the
    LSTM's state). The result is the same for the same model, prompt and ``seed``; the global
    torch RNG is left untouched. The model is left in eval mode.

    Returns:
        ``n`` samples, each the prompt followed by its continuation, without special tokens.

    Raises:
        TweetgenError: the prompt leaves no room in the model's context.
    """
    rows = sample_rows(model, tokenizer, [(prompt, seed + i) for i in range(n)], max_new_tokens, temperature, top_p)
    for row in rows:
        if isinstance(row, TweetgenError):
            raise row
    return [row for row in rows if isinstance(row, Sampled)]


@dataclass
class _Row:
    index: int  # where its text goes in the result
    prompt_ids: list[int]  # bos + the prompt's tokens
    room: int  # new tokens it may write
    generator: torch.Generator
    new: list[int] = field(default_factory=list)
    done: bool = False


@dataclass
class _Cohort:
    """Rows that run as one batch: the model's state after their tokens, and its next logits."""

    rows: list[_Row]
    past: object
    logits: torch.Tensor  # (B, V)
    tokens: torch.Tensor | None = None  # (B,) drawn from the logits: what the next pass reads


@torch.inference_mode()
def sample_rows(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    requests: Sequence[tuple[str, int]],
    max_new_tokens: int | None = None,
    temperature: float = 0.9,
    top_p: float = 0.95,
) -> list[Sampled | TweetgenError]:
    """One tweet per ``(prompt, seed)`` of ``requests``, in their order; a prompt that leaves no
    room in the model's context gets its ``TweetgenError`` in its place, and the others their texts.

    Rows are generated together (see the module's docstring).
    """
    model.eval()
    results: list[Sampled | TweetgenError] = []
    results.extend(Sampled("", False) for _ in requests)
    by_length: dict[int, list[_Row]] = {}
    for index, (prompt, seed) in enumerate(requests):
        prompt_ids = [tokenizer.bos_token_id, *tokenizer(prompt, add_special_tokens=False)["input_ids"]]
        room = min(max_new_tokens or tweet_tokens(tokenizer), context_length(model) - len(prompt_ids))
        if room <= 0:
            results[index] = TweetgenError(
                f"The prompt is {len(prompt_ids) - 1} tokens long and leaves no room to generate; shorten it."
            )
            continue
        by_length.setdefault(len(prompt_ids), []).append(_Row(index, prompt_ids, room, torch.Generator().manual_seed(seed)))
    cohorts = [_step(model, rows, torch.tensor([row.prompt_ids for row in rows], device=model.device), None)
               for rows in by_length.values()]
    while cohorts:
        for cohort in cohorts:
            cohort.tokens = _draw(cohort.logits, temperature, top_p, [row.generator for row in cohort.rows])
            for row, token in zip(cohort.rows, cohort.tokens.tolist(), strict=True):
                if not row.done:
                    row.new.append(token)
                    row.done = token == tokenizer.eos_token_id or len(row.new) >= row.room
        cohorts = _join(model, [cohort for cohort in cohorts if not all(row.done for row in cohort.rows)])
        cohorts = [_step(model, c.rows, c.tokens.to(model.device)[:, None], c.past) for c in cohorts]  # type: ignore[union-attr]
    for rows in by_length.values():
        for row in rows:
            results[row.index] = _decode(tokenizer, row.prompt_ids[1:] + row.new, len(row.prompt_ids) - 1)
    return results


def _step(model: PreTrainedModel, rows: list[_Row], input_ids: torch.Tensor, past: object) -> _Cohort:
    """One forward pass of ``rows`` over ``input_ids`` (B, T) from ``past``."""
    output = model(input_ids=input_ids, past_key_values=past, use_cache=True)
    return _Cohort(rows, output.past_key_values, output.logits[:, -1, :])


def _join(model: PreTrainedModel, cohorts: list[_Cohort]) -> list[_Cohort]:
    """The LSTM's cohorts as one where their states can be joined (``lstm.join_states``); the rest as they are."""
    if len(cohorts) < 2 or not all(isinstance(c.past, tuple) for c in cohorts) or not hasattr(model, "attach_ngram"):
        return cohorts
    from tweetgen.model.lstm import join_states

    widths: dict[int, list[_Cohort]] = {}
    for cohort in cohorts:  # cohorts whose n-gram contexts have the same width can be joined
        widths.setdefault(cohort.past[2].shape[1] if len(cohort.past) > 2 else 0, []).append(cohort)  # type: ignore[arg-type]
    joined = []
    for group in widths.values():
        past = join_states([c.past for c in group]) if len(group) > 1 else None  # type: ignore[misc]
        if past is None:
            joined.extend(group)
        else:
            rows = [row for c in group for row in c.rows]
            joined.append(_Cohort(rows, past, torch.cat([c.logits for c in group]), torch.cat([c.tokens for c in group])))  # type: ignore[misc]
    return joined


def _draw(logits: torch.Tensor, temperature: float, top_p: float, generators: list[torch.Generator]) -> torch.Tensor:
    """One token per row (B,) from ``logits`` (B, V): the smallest set of the likeliest tokens
    whose probability reaches ``top_p``, renormalised, sampled with each row's own generator."""
    probs = torch.softmax(logits.float().cpu() / temperature, dim=-1)
    ordered, order = probs.sort(dim=-1, descending=True, stable=True)
    ordered = ordered * ((ordered.cumsum(dim=-1) - ordered) < top_p)  # the first token always stays
    cumulative = ordered.cumsum(dim=-1)
    draws = torch.stack([torch.rand((), generator=g, dtype=torch.float64) for g in generators]).float()
    picks = torch.searchsorted(cumulative, (draws * cumulative[:, -1])[:, None], right=True)
    return order.gather(1, picks.clamp(max=probs.shape[-1] - 1)).squeeze(1)


def _decode(tokenizer: PreTrainedTokenizerBase, ids: list[int], n_prompt: int) -> Sampled:
    """Decode prompt tokens plus new tokens up to the first ``eos`` among the new ones, cut if
    there is none (or the text is past the limit)."""
    new = ids[n_prompt:]
    finished = tokenizer.eos_token_id in new
    if finished:
        new = new[: new.index(tokenizer.eos_token_id)]
    # A byte-level token can end inside a UTF-8 character; the partial bytes decode to U+FFFD.
    text = tokenizer.decode(ids[:n_prompt] + new, skip_special_tokens=True).replace("\ufffd", "")
    prompt = tokenizer.decode(ids[:n_prompt], skip_special_tokens=True).strip()
    ended = end_tweet(text, finished, keep=len(prompt))
    return Sampled(ended, finished and ended == text.strip())


def best_of(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt: str = "",
    n: int = 3,
    candidates: int = 4,
    max_new_tokens: int | None = None,
    seed: int = 0,
    temperature: float = 0.9,
    top_p: float = 0.95,
) -> list[Sampled]:
    """``n`` tweets, each the best of ``candidates`` samples by the model's own bits per character
    (the whole tweet scored as ``evaluate`` scores one, its end included). ``candidates`` 1 is
    ``sample_tweets``."""
    from tweetgen.model.evaluate import text_bits_per_char

    drawn = sample_tweets(model, tokenizer, prompt, n * candidates, max_new_tokens, seed, temperature, top_p)
    if candidates == 1:
        return drawn
    scores = text_bits_per_char(model, tokenizer, [s.text for s in drawn])
    groups = range(0, len(drawn), candidates)
    return [drawn[min(range(i, i + candidates), key=scores.__getitem__)] for i in groups]

