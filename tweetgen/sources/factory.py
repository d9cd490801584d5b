"""Open the history source a command names (``--source sample|kaggle``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tweetgen.errors import SourceError
from tweetgen.sources.port import TweetSource

HISTORY_SOURCES = ("sample", "kaggle")


def history_source(
    name: str, paths: Sequence[str | Path] = (), username: str | None = "elonmusk", progress: bool = False, download: bool = False
) -> TweetSource:
    """The history source ``name`` (one of ``HISTORY_SOURCES``), its module imported on first use.

    Args:
        username: the account of the Kaggle files (None accepts any); the sample corpus has its own
            invented one.
        download: fetch the Kaggle files with kagglehub (``tweetgen.sources.kaggle_download``)
            instead of reading ``paths``.

    Raises:
        SourceError: an unknown name, ``kaggle`` without paths or download, both, ``download``
            with the sample, or a download that failed.
    """
    if download and (name != "kaggle" or paths):
        raise SourceError("--download fetches the Kaggle files: use it with --source kaggle and without --path.")
    if name == "sample":
        from tweetgen.sources.sample import SampleHistory

        return SampleHistory()
    if name == "kaggle":
        if download:
            from tweetgen.sources.kaggle_download import download_kaggle_files

            paths = download_kaggle_files()
        if not paths:
            raise SourceError(
                "--source kaggle needs --path (the folder or CSV files of the Kaggle Elon Musk tweets) or --download."
            )
        from tweetgen.sources.kaggle import KaggleHistory

        return KaggleHistory(paths, progress=progress, username=username)
    raise SourceError(f"Unknown history source {name!r}; use one of {', '.join(HISTORY_SOURCES)}.")
