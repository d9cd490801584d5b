"""Replay: the offline stand-in for the X API.

The newest ``REPLAY_HOLDOUT`` tweets of the sample corpus are never part of the history ingest.
Each run releases the next few of them, oldest first, as live tweets. There is no cursor file:
the next batch is the oldest held-out tweets whose ids the ``tweets`` group does not hold yet, so a
rerun, a crash between fetch and write, or two runs at once neither skip nor duplicate a tweet
(the store's merge keeps one row per id).
"""

from __future__ import annotations

import pandas as pd

from tweetgen.feature_store import FeatureStore
from tweetgen.schema import TWEETS
from tweetgen.sources import sample_corpus, split_sample

DEFAULT_BATCH = 4


def replay_pool(username: str = "elonmusk") -> pd.DataFrame:
    """The held-out tweets, oldest first."""
    _, holdout = split_sample(sample_corpus(username))
    return holdout


def next_replay_batch(store: FeatureStore, count: int = DEFAULT_BATCH, username: str = "elonmusk") -> tuple[pd.DataFrame, int]:
    """The next ``count`` held-out tweets the group does not hold, and how many remain after them."""
    pool = replay_pool(username)
    released = stored_ids(store)
    pending = pool[~pool["tweet_id"].isin(released)]
    return pending.head(count).reset_index(drop=True), max(len(pending) - count, 0)


def stored_ids(store: FeatureStore) -> set[int]:
    """Ids the ``tweets`` group holds (empty when it was never written)."""
    if not store.exists(TWEETS):
        return set()
    return set(store.read(TWEETS, columns=["tweet_id"])["tweet_id"].tolist())
