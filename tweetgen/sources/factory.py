"""Open the history source a command names (``--source sample|kaggle``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tweetgen.errors import SourceError
from tweetgen.sources.port import TweetSource

HISTORY_SOURCES = ("sample", "kaggle")


def history_source(name: str, paths: Sequence[str | Path] = (), username: str = "elonmusk", progress: bool = False) -> TweetSource:
    """The history source ``name`` (one of ``HISTORY_SOURCES``), its module imported on first use.

    Raises:
        SourceError: an unknown name, or ``kaggle`` without paths.
    """
    if name == "sample":
        from tweetgen.sources.sample import SampleHistory

        return SampleHistory(username)
    if name == "kaggle":
        if not paths:
            raise SourceError("--source kaggle needs --path: the folder or CSV files of the Kaggle Elon Musk tweets.")
        from tweetgen.sources.kaggle import KaggleHistory

        return KaggleHistory(paths, progress=progress, username=username)
    raise SourceError(f"Unknown history source {name!r}; use one of {', '.join(HISTORY_SOURCES)}.")
