"""Replay: the offline stand-in for the X API.

The newest ``REPLAY_HOLDOUT`` tweets of the sample corpus are never part of the history ingest.
Each run releases the next few of them, oldest first, as live tweets. There is no cursor file:
the next batch is the oldest held-out tweets whose ids the ``tweets`` group does not hold yet, so a
rerun, a crash between fetch and write, or two runs at once neither skip nor duplicate a tweet
(the store's merge keeps one row per id).
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from tweetgen.sources.port import TweetLoad, TweetSource
from tweetgen.sources.sample import sample_corpus, split_sample

DEFAULT_BATCH = 4


def replay_pool(username: str = "elonmusk") -> pd.DataFrame:
    """The held-out tweets, oldest first."""
    _, holdout = split_sample(sample_corpus(username))
    return holdout


def next_replay_batch(held_ids: Collection[int], count: int = DEFAULT_BATCH, username: str = "elonmusk") -> tuple[pd.DataFrame, int]:
    """The next ``count`` held-out tweets not in ``held_ids``, and how many remain after them."""
    pool = replay_pool(username)
    pending = pool[~pool["tweet_id"].isin(set(held_ids))]
    return pending.head(count).reset_index(drop=True), max(len(pending) - count, 0)


class ReplaySource(TweetSource):
    """Releases ``count`` held-out tweets per read."""

    name = "replay"

    def __init__(self, count: int = DEFAULT_BATCH, username: str = "elonmusk") -> None:
        self.count, self.username = count, username

    def read(self, held_ids: Collection[int] = frozenset()) -> TweetLoad:
        batch, remaining = next_replay_batch(held_ids, self.count, self.username)
        return TweetLoad(self.name, batch, len(batch), remaining=remaining)

    def report_line(self, inserted: int, loaded: TweetLoad) -> str:
        return f"{inserted} new tweets released by the replay; {loaded.remaining} left to release."
