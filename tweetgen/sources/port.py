"""The tweet-source port: where raw tweets come from, before any feature is derived.

A source returns raw rows (``tweetgen.schema.RAW_COLUMNS``, ``created_at`` UTC-aware) and counts
every row it read: kept as read, kept after cleaning (with a reason), or rejected with a reason;
sources that read files also say where each rejected or cleaned row is (file and line). History sources (the sample corpus, the Kaggle
files) return everything they hold; the upsert skips tweets the group already has. Live sources
(the replay, the X API) return only tweets the group does not hold yet, so they are given the ids
it holds. Sources never touch the feature store: the pipelines read and write it.
"""

from __future__ import annotations

import abc
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tweetgen.errors import TweetgenError


@dataclass(frozen=True)
class RowIssue:
    """One row a source rejected or cleaned: where it is (``data/2019.csv line 7313``) and why."""

    where: str
    reason: str


@dataclass
class LineCounts:
    """What each physical line of the files read was: ``lines == header + blank + in_rows``.

    ``rows`` counts the data rows (a row may span several lines: ``multi_line_rows``); ``reread``
    the rows recovered from lines a stray quote had run into.
    """

    lines: int = 0
    header: int = 0
    blank: int = 0
    in_rows: int = 0
    rows: int = 0
    multi_line_rows: int = 0
    reread: int = 0  # rows recovered from the lines a stray quote had swallowed

    def __iadd__(self, other: LineCounts) -> LineCounts:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


@dataclass(frozen=True)
class TweetLoad:
    """Raw tweets read from a source, with the rows it rejected and why.

    Attributes:
        name: the source, as reports name it ("kaggle csv", "replay", ...).
        frame: the accepted rows, columns exactly ``RAW_COLUMNS``.
        rows_read: rows the source read, accepted or not.
        rejected: reason sentence -> number of rows rejected for it (not in ``frame``).
        files: the files read, for sources that read files.
        remaining: tweets the source holds for later reads (``None`` when it cannot know).
        detail: how the read went, for the report ("3 requests, stopped: done").
        error: a failure that ended the read after some rows were read; the caller writes
            ``frame`` first, then raises it.
        cleaned: reason sentence -> number of rows changed for it (in ``frame``, changed).
        issues: every rejected or cleaned row whose place the source knows, file by file.
        lines: what every line of the files was, for sources that read files.
    """

    name: str
    frame: pd.DataFrame
    rows_read: int
    rejected: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    remaining: int | None = None
    detail: str = ""
    error: TweetgenError | None = None
    cleaned: dict[str, int] = field(default_factory=dict)
    issues: list[RowIssue] = field(default_factory=list)
    lines: LineCounts | None = None


class TweetSource(abc.ABC):
    """One place tweets come from; ``read`` may be called again for the next batch."""

    #: How reports name the source.
    name: str = ""
    #: The account whose tweets the source returns; the pipeline rejects rows of any other
    #: (None: the source's rows are not checked, e.g. the replay's, checked when they were held out).
    account: str | None = None

    @abc.abstractmethod
    def read(self, held_ids: Collection[int] = frozenset()) -> TweetLoad:
        """Read raw tweets.

        Args:
            held_ids: ids the ``tweets`` group already holds; live sources read only after them.

        Raises:
            SourceError: the source cannot be read at all (one sentence naming what and where).
        """

    def report_line(self, inserted: int, loaded: TweetLoad) -> str:
        """The report's sentence about one read of which ``inserted`` tweets were new to the group."""
        detail = f" ({loaded.detail})" if loaded.detail else ""
        return f"{inserted} new tweets from the {self.name}{detail}."
