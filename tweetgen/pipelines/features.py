"""Feature pipeline: historical tweets into the ``tweets`` feature group.

Steps: load a source -> drop duplicate ids -> derive features -> validate and upsert. Every row
read is accounted for in the report: kept, dropped as a duplicate, or rejected with a reason.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tweetgen.features import build_tweet_features, drop_duplicate_tweets
from tweetgen.schema import TWEETS
from tweetgen.sources.factory import history_source
from tweetgen.sources.port import TweetLoad
from tweetgen.store.port import FeatureStore


@dataclass
class FeatureReport:
    """What one run of the feature pipeline did."""

    source: str
    rows_read: int
    duplicates_dropped: int
    rejected: dict[str, int]
    inserted: int
    already_present: int
    empty_clean_text: int
    elapsed_s: float
    where: str = ""
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    def counts(self) -> dict[str, int]:
        """The counts a ``job_runs`` row records."""
        return {"rows_read": self.rows_read, "duplicates_dropped": self.duplicates_dropped, "rows_rejected": self.rows_rejected,
                "inserted": self.inserted, "already_present": self.already_present, "empty_clean_text": self.empty_clean_text}

    def lines(self) -> list[str]:
        """The report as aligned lines for a terminal."""
        files = f" ({len(self.files)} files)" if self.files else ""
        counts = [
            ("rows read", self.rows_read, ""),
            ("duplicates dropped", self.duplicates_dropped, ""),
            ("rows rejected", self.rows_rejected, ""),
            *[(f"  {reason}", count, "") for reason, count in sorted(self.rejected.items())],
            ("rows inserted", self.inserted, ""),
            ("already present", self.already_present, ""),
            ("empty after cleaning", self.empty_clean_text, "  (kept, not trained on)"),
        ]
        lines = [f"{'source':<22}{self.source}{files}"]
        lines += [f"{label:<22}{count:>9,}{note}" for label, count, note in counts]
        lines += [
            f"{'feature group':<22}{TWEETS.name} v{TWEETS.version} in {self.where}",
            f"{'elapsed':<22}{self.elapsed_s:.2f} s",
        ]
        lines += self.notes
        if self.inserted == 0 and self.already_present:
            lines.append("Nothing new: every tweet was already in the feature group.")
        return lines


def run_feature_pipeline(
    store: FeatureStore,
    source: str = "sample",
    paths: Sequence[str | Path] = (),
    username: str = "elonmusk",
    progress: bool = False,
    now: datetime | None = None,
) -> FeatureReport:
    """Load historical tweets from ``source`` and upsert them into the ``tweets`` group.

    Raises:
        SourceError: the source cannot be read; nothing is written.
        ValidationError, StoreError: the write was refused; nothing is written.
    """
    started = time.perf_counter()
    loaded = history_source(source, paths, username=username, progress=progress).read()
    return write_tweets(store, loaded, source_label="history", now=now, started=started)


def write_tweets(
    store: FeatureStore,
    loaded: TweetLoad,
    source_label: str,
    now: datetime | None = None,
    started: float | None = None,
) -> FeatureReport:
    """Drop duplicates, derive features and upsert ``loaded`` tweets; return the report."""
    started = time.perf_counter() if started is None else started
    raw, duplicates = drop_duplicate_tweets(loaded.frame)
    frame = build_tweet_features(raw, source=source_label, ingested_at=now or datetime.now(UTC))
    result = store.insert(TWEETS, frame)
    return FeatureReport(
        source=loaded.name,
        rows_read=loaded.rows_read,
        duplicates_dropped=duplicates,
        rejected=dict(loaded.rejected),
        inserted=result.inserted,
        already_present=result.already_present,
        empty_clean_text=int((frame["clean_text"] == "").sum()),
        elapsed_s=time.perf_counter() - started,
        where=store.where,
        files=list(loaded.files),
    )

