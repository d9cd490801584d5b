"""The sample history: the project's own invented corpus (``tweetgen.sources.corpus``).

Every row belongs to the invented account ``SAMPLE_USERNAME`` (shown as ``SAMPLE_DISPLAY_NAME``),
whatever account the settings name: the sample is nobody's real tweets. Like every history source
it returns all it holds; the feature pipeline holds the newest back for the replay
(``tweetgen.sources.replay``).
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from tweetgen.schema import SAMPLE_USERNAME
from tweetgen.sources.port import TweetLoad, TweetSource

SAMPLE_TWEETS = 3600
SAMPLE_SEED = 7


def sample_corpus() -> pd.DataFrame:
    """The whole invented corpus of ``SAMPLE_USERNAME``, oldest first."""
    from tweetgen.sources.corpus import generate_corpus

    return generate_corpus(n_tweets=SAMPLE_TWEETS, seed=SAMPLE_SEED, username=SAMPLE_USERNAME)


class SampleHistory(TweetSource):
    """The invented corpus, all ``SAMPLE_TWEETS`` of it."""

    name = "sample corpus"
    account = SAMPLE_USERNAME

    def read(self, held_ids: Collection[int] = frozenset()) -> TweetLoad:
        corpus = sample_corpus()
        return TweetLoad(name=self.name, frame=corpus, rows_read=len(corpus))
