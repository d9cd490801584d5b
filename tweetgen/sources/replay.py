"""Replay: the offline stand-in for the X API, releasing tweets of the history the user ingested.

At ingest the feature pipeline holds back the newest ``REPLAY_HOLDOUT`` tweets of the history
(``newest_tweets``: never more than ``MAX_HOLDOUT_SHARE`` of it) and writes them into the
``held_out_tweets`` group instead of ``tweets``: the newest Kaggle tweets when the history came
from the Kaggle files, the newest invented ones when it came from the sample corpus. Each replay
run releases the next few of them, oldest first, as live tweets.

There is no cursor: the next batch is the oldest held-out tweets whose ids the ``tweets`` group
does not hold yet, so a rerun, a crash between fetch and write, or two runs at once neither skip
nor duplicate a tweet (the store's merge keeps one row per id). The pool lives in a feature group,
so every runner (a laptop, the scheduler, Modal) reads the same one.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from tweetgen.schema import RAW_COLUMNS
from tweetgen.sources.port import TweetLoad, TweetSource

DEFAULT_BATCH = 4
REPLAY_HOLDOUT = 200  # 50 days of replay at 4 a day
MAX_HOLDOUT_SHARE = 0.1  # a small history keeps most of its tweets for training


def holdout_size(n_tweets: int, holdout: int = REPLAY_HOLDOUT) -> int:
    """How many of ``n_tweets`` are held back: ``holdout``, but at most a tenth of them."""
    return max(0, min(holdout, int(n_tweets * MAX_HOLDOUT_SHARE)))


def newest_tweets(raw: pd.DataFrame, holdout: int = REPLAY_HOLDOUT) -> pd.DataFrame:
    """The tweets of deduplicated raw rows that are held out: the newest ``holdout_size`` by
    ``created_at`` (then ``tweet_id``), oldest first. The same rows give the same tweets, so a
    rerun of an ingest holds back the same ones; ``raw`` itself is neither sorted nor copied.
    """
    size = holdout_size(len(raw), holdout)
    if size == 0:
        return raw.iloc[:0]
    return raw.nlargest(size, ["created_at", "tweet_id"]).iloc[::-1].reset_index(drop=True)


def next_replay_batch(pool: pd.DataFrame, held_ids: Collection[int], count: int = DEFAULT_BATCH) -> tuple[pd.DataFrame, int]:
    """The oldest ``count`` tweets of ``pool`` whose ids are not in ``held_ids``, and how many remain after them."""
    ordered = pool.sort_values(["created_at", "tweet_id"], kind="stable")
    pending = ordered[~ordered["tweet_id"].isin(set(held_ids))]
    return pending.head(count)[RAW_COLUMNS].reset_index(drop=True), max(len(pending) - count, 0)


class ReplaySource(TweetSource):
    """Releases ``count`` tweets of ``pool`` (the ``held_out_tweets`` group's rows) per read."""

    name = "replay"

    def __init__(self, pool: pd.DataFrame, count: int = DEFAULT_BATCH) -> None:
        self.pool, self.count = pool, count

    def read(self, held_ids: Collection[int] = frozenset()) -> TweetLoad:
        batch, remaining = next_replay_batch(self.pool, held_ids, self.count)
        return TweetLoad(self.name, batch, len(batch), remaining=remaining)

    def report_line(self, inserted: int, loaded: TweetLoad) -> str:
        return f"{inserted} new tweets released by the replay; {loaded.remaining} left to release."
