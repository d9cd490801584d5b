"""History sources: where the tweets of the feature pipeline come from.

``sample``: the project's own invented corpus (``tweetgen.corpus``), minus its newest
``REPLAY_HOLDOUT`` tweets, which the replay source releases later as if they were new.
``kaggle``: the Kaggle "Elon Musk tweets 2010-2021" CSVs as published (``tweetgen.kaggle``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tweetgen.errors import SourceError

HISTORY_SOURCES = ("sample", "kaggle")
SAMPLE_TWEETS = 3600
SAMPLE_SEED = 7
REPLAY_HOLDOUT = 200


@dataclass(frozen=True)
class TweetLoad:
    """Raw tweets read from a source (history or live), with the rows it rejected and why."""

    name: str
    frame: pd.DataFrame
    rows_read: int
    rejected: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def sample_corpus(username: str = "elonmusk") -> pd.DataFrame:
    """The whole invented corpus, oldest first (history followed by the replay holdout)."""
    from tweetgen.corpus import generate_corpus

    return generate_corpus(n_tweets=SAMPLE_TWEETS, seed=SAMPLE_SEED, username=username)


def split_sample(corpus: pd.DataFrame, holdout: int = REPLAY_HOLDOUT) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the corpus by time into (history, replay holdout = the newest ``holdout`` tweets)."""
    corpus = corpus.sort_values(["created_at", "tweet_id"], kind="stable").reset_index(drop=True)
    return corpus.iloc[:-holdout].reset_index(drop=True), corpus.iloc[-holdout:].reset_index(drop=True)


def load_history(
    source: str, paths: Sequence[str | Path] = (), username: str = "elonmusk", progress: bool = False
) -> TweetLoad:
    """Load the historical tweets of ``source`` (one of ``HISTORY_SOURCES``)."""
    if source == "sample":
        history, _ = split_sample(sample_corpus(username))
        return TweetLoad(name="sample corpus", frame=history, rows_read=len(history))
    if source == "kaggle":
        if not paths:
            raise SourceError("--source kaggle needs --path: the folder or CSV files of the Kaggle Elon Musk tweets.")
        from tweetgen.kaggle import load_kaggle

        loaded = load_kaggle(paths, progress=progress)
        return TweetLoad("kaggle csv", loaded.frame, loaded.rows_read, loaded.rejected, loaded.files)
    raise SourceError(f"Unknown history source {source!r}; use one of {', '.join(HISTORY_SOURCES)}.")
