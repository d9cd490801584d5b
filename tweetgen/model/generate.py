"""Sampling tweets from a trained model: nucleus sampling that stops at ``<|eos|>``.

A sample ends where the model ends it (``eos``); one that runs out of room first is cut where a
reader expects a cut (``tweetgen.model.ending``), never inside a word. ``best_of`` draws several
candidates per tweet and keeps the one the model itself finds most likely per character.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tweetgen.errors import TweetgenError
from tweetgen.model.build import context_length, is_byte_level
from tweetgen.model.ending import end_tweet
from tweetgen.schema import MAX_TWEET_CHARS

# Candidates per tweet: on the real tweets, the best of 4 by the model's own bits/char halves the
# share of invented words against plain sampling, copies no more, and costs 4x the sampling
# (bench/README.md, "Samples a person reads").
BEST_OF = 4
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


@torch.inference_mode()
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
    """Generate ``n`` tweets that start with ``prompt``.

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
    model.eval()
    prompt_ids = [tokenizer.bos_token_id, *tokenizer(prompt, add_special_tokens=False)["input_ids"]]
    room = min(max_new_tokens or tweet_tokens(tokenizer), context_length(model) - len(prompt_ids))
    if room <= 0:
        raise TweetgenError(f"The prompt is {len(prompt_ids) - 1} tokens long and leaves no room to generate; shorten it.")
    input_ids = torch.tensor([prompt_ids] * n, device=model.device)  # (n, P): same prompt, so no padding
    with torch.random.fork_rng(devices=[model.device] if model.device.type == "cuda" else []):
        torch.manual_seed(seed)
        output = model.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            do_sample=True,
            temperature=temperature,
            top_p=top_p,
            top_k=0,  # nucleus sampling only
            max_new_tokens=room,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.eos_token_id,  # fills rows that ended early; cut off below anyway
        )  # (n, P + new)
    return [_decode(tokenizer, row[1:].tolist(), len(prompt_ids) - 1) for row in output.cpu()]


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
    candidates: int = BEST_OF,
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

