"""Sampling tweets from a trained model: nucleus sampling that stops at ``<|eos|>``.

``sample_rows`` writes several tweets at once, each from its own prompt and seed: rows whose
prompts have the same number of tokens share every forward pass (no padding, so nothing changes
what a row sees), and each row draws its tokens from its own random generator. A row's text
therefore depends on its prompt, its seed and the model alone, not on which other rows shared the
batch (up to the last bits of float rounding, which move a draw only when it lands within about
1e-7 of a boundary between two tokens). ``sample`` is the same for one prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tweetgen.errors import TweetgenError
from tweetgen.model.build import context_length, is_byte_level
from tweetgen.schema import MAX_TWEET_CHARS

BPE_TWEET_TOKENS = 80  # a BPE token of tweets is about 3.3 characters: 80 tokens hold a whole tweet


def tweet_tokens(tokenizer: PreTrainedTokenizerBase) -> int:
    """New tokens enough for a whole tweet: ``MAX_TWEET_CHARS`` for a byte tokenizer, 80 for BPE."""
    return MAX_TWEET_CHARS if is_byte_level(tokenizer) else BPE_TWEET_TOKENS


def sample(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt: str = "",
    n: int = 3,
    max_new_tokens: int | None = None,
    seed: int = 0,
    temperature: float = 0.9,
    top_p: float = 0.95,
) -> list[str]:
    """Generate ``n`` tweets that start with ``prompt``, row ``i`` from seed ``seed + i``.

    Each sequence starts as ``bos + prompt`` and ends at the first ``eos`` or after
    ``max_new_tokens`` tokens (``None``: ``tweet_tokens``; fewer if the model's context is
    shorter). Works for every family (GPT-2's key/value cache, the LSTM's state). The result is the same
    for the same model, prompt and ``seed``; the global torch RNG is left untouched. The model is
    left in eval mode.

    Returns:
        ``n`` texts, each the prompt followed by its continuation, without special tokens.

    Raises:
        TweetgenError: the prompt leaves no room in the model's context.
    """
    rows = sample_rows(model, tokenizer, [(prompt, seed + i) for i in range(n)], max_new_tokens, temperature, top_p)
    for row in rows:
        if isinstance(row, TweetgenError):
            raise row
    return [str(row) for row in rows]


@dataclass
class _Row:
    index: int  # where its text goes in the result
    prompt_ids: list[int]  # bos + the prompt's tokens
    room: int  # new tokens it may write
    generator: torch.Generator


@torch.inference_mode()
def sample_rows(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    requests: Sequence[tuple[str, int]],
    max_new_tokens: int | None = None,
    temperature: float = 0.9,
    top_p: float = 0.95,
) -> list[str | TweetgenError]:
    """One tweet per ``(prompt, seed)`` of ``requests``, in their order; a prompt that leaves no
    room in the model's context gets its ``TweetgenError`` in its place, and the others their texts.

    Rows with prompts of the same token count are generated together (see the module's docstring).
    """
    model.eval()
    results: list[str | TweetgenError] = [""] * len(requests)
    groups: dict[int, list[_Row]] = {}
    for index, (prompt, seed) in enumerate(requests):
        prompt_ids = [tokenizer.bos_token_id, *tokenizer(prompt, add_special_tokens=False)["input_ids"]]
        room = min(max_new_tokens or tweet_tokens(tokenizer), context_length(model) - len(prompt_ids))
        if room <= 0:
            results[index] = TweetgenError(
                f"The prompt is {len(prompt_ids) - 1} tokens long and leaves no room to generate; shorten it."
            )
            continue
        generator = torch.Generator().manual_seed(seed)
        groups.setdefault(len(prompt_ids), []).append(_Row(index, prompt_ids, room, generator))
    for rows in groups.values():
        for row, new_ids in zip(rows, _generate(model, tokenizer, rows, temperature, top_p), strict=True):
            results[row.index] = _decode(tokenizer, row.prompt_ids[1:] + new_ids, len(row.prompt_ids) - 1)
    return results


def _generate(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, rows: list[_Row], temperature: float, top_p: float
) -> list[list[int]]:
    """The new tokens of ``rows`` (prompts of one length), up to each row's ``eos`` or room."""
    eos = tokenizer.eos_token_id
    input_ids = torch.tensor([row.prompt_ids for row in rows], device=model.device)  # (B, P): no padding
    rooms = torch.tensor([row.room for row in rows])
    new: list[list[int]] = [[] for _ in rows]
    done = torch.zeros(len(rows), dtype=torch.bool)
    past = None
    for step in range(int(rooms.max())):
        output = model(input_ids=input_ids, past_key_values=past, use_cache=True)
        past = output.past_key_values
        tokens = _draw(output.logits[:, -1, :], temperature, top_p, [row.generator for row in rows])
        for i, token in enumerate(tokens.tolist()):
            if not done[i]:
                new[i].append(token)
        done |= (tokens == eos) | (rooms <= step + 1)
        if bool(done.all()):
            break
        input_ids = tokens.to(model.device)[:, None]
    return new


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


def _decode(tokenizer: PreTrainedTokenizerBase, ids: list[int], n_prompt: int) -> str:
    """Decode prompt tokens plus new tokens up to the first ``eos`` among the new ones."""
    new = ids[n_prompt:]
    if tokenizer.eos_token_id in new:
        new = new[: new.index(tokenizer.eos_token_id)]
    # A byte-level token can end inside a UTF-8 character; the partial bytes decode to U+FFFD.
    return tokenizer.decode(ids[:n_prompt] + new, skip_special_tokens=True).replace("\ufffd", "")
