"""Sampling tweets from a trained model: nucleus sampling that stops at ``<|eos|>``."""

from __future__ import annotations

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tweetgen.errors import TweetgenError
from tweetgen.model.build import context_length, is_byte_level
from tweetgen.schema import MAX_TWEET_CHARS

BPE_TWEET_TOKENS = 80  # a BPE token of tweets is about 3.3 characters: 80 tokens hold a whole tweet


def tweet_tokens(tokenizer: PreTrainedTokenizerBase) -> int:
    """New tokens enough for a whole tweet: ``MAX_TWEET_CHARS`` for a byte tokenizer, 80 for BPE."""
    return MAX_TWEET_CHARS if is_byte_level(tokenizer) else BPE_TWEET_TOKENS


@torch.inference_mode()
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
    """Generate ``n`` tweets that start with ``prompt``.

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


def _decode(tokenizer: PreTrainedTokenizerBase, ids: list[int], n_prompt: int) -> str:
    """Decode prompt tokens plus new tokens up to the first ``eos`` among the new ones."""
    new = ids[n_prompt:]
    if tokenizer.eos_token_id in new:
        new = new[: new.index(tokenizer.eos_token_id)]
    # A byte-level token can end inside a UTF-8 character; the partial bytes decode to U+FFFD.
    return tokenizer.decode(ids[:n_prompt] + new, skip_special_tokens=True).replace("\ufffd", "")

