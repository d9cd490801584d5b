"""The sample history: the project's own invented corpus (``tweetgen.sources.corpus``).

Its newest ``REPLAY_HOLDOUT`` tweets are never part of the history ingest: the replay source
releases them later, a few per run, as if they were new.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from tweetgen.sources.port import TweetLoad, TweetSource

SAMPLE_TWEETS = 3600
SAMPLE_SEED = 7
REPLAY_HOLDOUT = 200


def sample_corpus(username: str = "elonmusk") -> pd.DataFrame:
    """The whole invented corpus, oldest first (history followed by the replay holdout)."""
    from tweetgen.sources.corpus import generate_corpus

    return generate_corpus(n_tweets=SAMPLE_TWEETS, seed=SAMPLE_SEED, username=username)


def split_sample(corpus: pd.DataFrame, holdout: int = REPLAY_HOLDOUT) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the corpus by time into (history, replay holdout = the newest ``holdout`` tweets)."""
    corpus = corpus.sort_values(["created_at", "tweet_id"], kind="stable").reset_index(drop=True)
    return corpus.iloc[:-holdout].reset_index(drop=True), corpus.iloc[-holdout:].reset_index(drop=True)


class SampleHistory(TweetSource):
    """The invented corpus minus its replay holdout."""

    name = "sample corpus"

    def __init__(self, username: str = "elonmusk") -> None:
        self.username = username

    def read(self, held_ids: Collection[int] = frozenset()) -> TweetLoad:
        history, _ = split_sample(sample_corpus(self.username))
        return TweetLoad(name=self.name, frame=history, rows_read=len(history))
