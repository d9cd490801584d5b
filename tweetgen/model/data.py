"""Data for a causal LM: tweets split by time, then framed and packed into blocks.

The recipe is ``run_clm``'s: every tweet is framed as ``<|bos|> text <|eos|>``, the framed
tweets are concatenated and cut into blocks of ``block_size`` tokens, and the labels are the
inputs (the model shifts them). Packed blocks waste nothing on padding, which matters most on a
CPU. ``frame_texts`` packs once, in the given order; ``TweetBlocks`` packs again for every
epoch, in a new order of the tweets and from a new offset, so a model that sees the data many
times never sees the same blocks twice (the tweets are the same, their neighbours and the
block boundaries are not).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import torch
from transformers import PreTrainedTokenizerBase

from tweetgen.errors import TweetgenError


def split_by_time(
    frame: pd.DataFrame, eval_fraction: float = 0.1, eval_since: datetime | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split tweets into a training set and the newest tweets for evaluation.

    Rows are ordered by ``created_at`` and then ``tweet_id``, so the split does not depend on the
    order the store returned them in. With ``eval_since`` (naive means UTC), the tweets created at
    or after it are the eval set; otherwise the newest ``eval_fraction`` of them (at least one).

    Raises:
        TweetgenError: either side of the split would be empty.
    """
    if not 0 < eval_fraction < 1:
        raise TweetgenError(f"The eval fraction is {eval_fraction}; use a number between 0 and 1, such as 0.1.")
    ordered = frame.sort_values(["created_at", "tweet_id"], kind="stable").reset_index(drop=True)
    if eval_since is not None:
        since = pd.Timestamp(eval_since if eval_since.tzinfo else eval_since.replace(tzinfo=UTC))
        n_eval = int((ordered["created_at"] >= since).sum())
    else:
        n_eval = max(1, round(len(ordered) * eval_fraction))
    if n_eval == 0 or n_eval >= len(ordered):
        raise TweetgenError(
            f"Splitting {len(ordered)} tweets by time leaves {n_eval} for evaluation and "
            f"{len(ordered) - n_eval} for training; both need at least one (change the eval fraction or date)."
        )
    cut = len(ordered) - n_eval
    return ordered.iloc[:cut].reset_index(drop=True), ordered.iloc[cut:].reset_index(drop=True)


def frame_texts(texts: list[str], tokenizer: PreTrainedTokenizerBase, block_size: int) -> torch.Tensor:
    """Frame each text as ``bos text eos``, concatenate, and cut into blocks.

    A remainder shorter than a block becomes one more block made of the stream's last
    ``block_size`` tokens (it overlaps the previous block), so no text is dropped and nothing is
    padded. A stream shorter than one block gives no blocks.

    Returns:
        Token ids of shape (n_blocks, block_size), dtype int64; the labels are the same tensor.
    """
    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    stream: list[int] = []
    for ids in encoded:
        stream += [tokenizer.bos_token_id, *ids, tokenizer.eos_token_id]
    n_full = len(stream) // block_size
    blocks = torch.tensor(stream[: n_full * block_size], dtype=torch.long).view(n_full, block_size)
    if n_full and len(stream) % block_size:
        blocks = torch.cat([blocks, torch.tensor([stream[-block_size:]], dtype=torch.long)])
    return blocks


class TweetBlocks:
    """Framed tweets that pack into blocks of ``block_size`` tokens in a new way for every epoch.

    Epoch ``e`` (with ``seed``) shuffles the tweets, drops a random number of leading tokens
    (fewer than a block) and cuts the rest into whole blocks; the same ``seed`` and ``e`` give
    the same blocks. ``len()`` is the number of blocks of an epoch (they differ by at most one).
    """

    def __init__(self, texts: list[str], tokenizer: PreTrainedTokenizerBase, block_size: int) -> None:
        encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        self.tweets = [torch.tensor([tokenizer.bos_token_id, *ids, tokenizer.eos_token_id], dtype=torch.long) for ids in encoded]
        self.block_size = block_size
        self.tokens = torch.cat(self.tweets) if self.tweets else torch.empty(0, dtype=torch.long)  # in the given order

    def __len__(self) -> int:
        return max(0, (len(self.tokens) - self.block_size + 1) // self.block_size)

    def epoch(self, index: int, seed: int = 0) -> torch.Tensor:
        """The blocks of epoch ``index``: token ids of shape (n_blocks, block_size), dtype int64."""
        generator = torch.Generator().manual_seed(seed * 1_000_003 + index)
        order = torch.randperm(len(self.tweets), generator=generator).tolist()
        offset = int(torch.randint(0, self.block_size, (1,), generator=generator))
        stream = torch.cat([self.tweets[i] for i in order])[offset:]
        n_blocks = len(stream) // self.block_size
        return stream[: n_blocks * self.block_size].view(n_blocks, self.block_size)
