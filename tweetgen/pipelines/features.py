"""Feature pipeline: historical tweets into the ``tweets`` feature group.

Steps: load a source -> screen rows (``tweetgen.sources.screening``) -> drop duplicate ids ->
hold the newest back for the replay (``held_out_tweets``, ``tweetgen.sources.replay``) -> check
that invented and real tweets stay apart (``tweetgen.pipelines.provenance``) -> derive features
-> validate and upsert. Every row read is accounted for in the report: kept, cleaned (kept,
changed), held out, or rejected with a reason, where the source knows it with the file and line,
or dropped as a duplicate. A large load is written in batches of ``WRITE_BATCH`` rows, one commit
each, so memory holds one batch's features; rerunning a load that stopped half way writes the
rest (the upsert skips what is there).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from tweetgen.features import INVISIBLE, build_tweet_features, drop_duplicate_tweets
from tweetgen.pipelines.provenance import check_provenance
from tweetgen.schema import HELD_OUT_TWEETS, TWEETS
from tweetgen.sources.factory import history_source
from tweetgen.sources.port import LineCounts, RowIssue, TweetLoad
from tweetgen.sources.replay import REPLAY_HOLDOUT, newest_tweets
from tweetgen.sources.screening import count_reasons, screen_tweets
from tweetgen.store.port import FeatureStore

WRITE_BATCH = 100_000  # rows per commit of a large load
SHOWN_PLACES = 3  # rejected or cleaned rows named per reason in the report


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
    cleaned: dict[str, int] = field(default_factory=dict)
    issues: list[RowIssue] = field(default_factory=list)
    invisible_only: int = 0
    held_out: int = 0
    lines_read: LineCounts | None = None

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    def counts(self) -> dict[str, int]:
        """The counts a ``job_runs`` row records."""
        return {"rows_read": self.rows_read, "duplicates_dropped": self.duplicates_dropped, "rows_rejected": self.rows_rejected,
                "inserted": self.inserted, "already_present": self.already_present, "empty_clean_text": self.empty_clean_text,
                "held_out": self.held_out}

    @property
    def rows_cleaned(self) -> int:
        return sum(self.cleaned.values())

    def places(self, reason: str) -> str:
        """Where the first rows with ``reason`` are, for the report (": a.csv line 3, ...")."""
        found = [issue.where for issue in self.issues if issue.reason == reason]
        if not found:
            return ""
        more = f"; {len(found) - SHOWN_PLACES:,} more" if len(found) > SHOWN_PLACES else ""
        return f": {', '.join(found[:SHOWN_PLACES])}{more}"

    def _line_note(self) -> str:
        """Where every line read went: ``1 header, 0 blank, 50 in rows; 2 rows span several lines``."""
        counts = self.lines_read
        note = f"{counts.header:,} header, {counts.blank:,} blank, {counts.in_rows:,} in rows"
        if counts.multi_line_rows:
            note += f"; {counts.multi_line_rows:,} rows span several lines"
        if counts.reread:
            note += f"; {counts.reread:,} rows read again after a stray quote"
        return note

    def lines(self) -> list[str]:
        """The report as aligned lines for a terminal."""
        files = f" ({len(self.files)} files)" if self.files else ""
        counts = [
            *([("lines read", self.lines_read.lines, f"  ({self._line_note()})")] if self.lines_read else []),
            ("rows read", self.rows_read, ""),
            ("duplicates dropped", self.duplicates_dropped, ""),
            ("rows rejected", self.rows_rejected, "  (not written)"),
            *[("", count, f"  {reason}{self.places(reason)}") for reason, count in sorted(self.rejected.items())],
            ("rows cleaned", self.rows_cleaned, "  (written, changed)"),
            *[("", count, f"  {reason}{self.places(reason)}") for reason, count in sorted(self.cleaned.items())],
            *([("held out", self.held_out, f"  (the newest, into {HELD_OUT_TWEETS.name}: the replay releases them)")]
              if self.held_out else []),
            ("rows inserted", self.inserted, ""),
            ("already present", self.already_present, ""),
            ("empty after cleaning", self.empty_clean_text, "  (kept, not trained on)"),
            ("", self.invisible_only, "  of them, only invisible characters (zero-width)"),
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
    username: str | None = "elonmusk",
    progress: bool = False,
    now: datetime | None = None,
    holdout: int = REPLAY_HOLDOUT,
    download: bool = False,
) -> FeatureReport:
    """Load historical tweets from ``source``; hold the newest back for the replay and upsert the rest
    into the ``tweets`` group.

    Args:
        username: the account of the Kaggle files (None accepts any); the sample corpus is its own
            invented account's.
        holdout: how many of the newest tweets go to ``held_out_tweets`` instead (at most a tenth).
        download: fetch the Kaggle files with kagglehub instead of reading ``paths``.

    Raises:
        SourceError: the source cannot be read; nothing is written.
        ValidationError, StoreError: the write was refused; nothing is written.
    """
    started = time.perf_counter()
    history = history_source(source, paths, username=username, progress=progress, download=download)
    if history.account:  # refuse before reading: the source's account says if its tweets are invented
        check_provenance(store, [pd.DataFrame({"username": [history.account]})], [TWEETS, HELD_OUT_TWEETS])
    loaded = history.read()
    return write_tweets(store, loaded, source_label="history", now=now, started=started, username=history.account, holdout=holdout,
                        checked=bool(history.account))


def write_tweets(
    store: FeatureStore,
    loaded: TweetLoad,
    source_label: str,
    now: datetime | None = None,
    started: float | None = None,
    username: str | None = None,
    holdout: int = 0,
    checked: bool = False,
) -> FeatureReport:
    """Screen, drop duplicates, hold out the newest ``holdout``, derive features and upsert ``loaded``
    tweets; return the report.

    Args:
        now: the ingestion time written to every row (default: the clock).
        username: the account the rows must belong to (None: any account).
        holdout: how many of the newest tweets to write into ``held_out_tweets`` instead of
            ``tweets`` (``tweetgen.sources.replay.newest_tweets``); 0 for live tweets.
        checked: the caller already ran ``check_provenance`` for ``username`` (every row kept
            belongs to it), so the groups are not read again.

    Raises:
        ValidationError: invented and real tweets would share a group (``check_provenance``), or a
            batch breaks the contract; nothing of it is written.
    """
    started = time.perf_counter() if started is None else started
    screened = screen_tweets(loaded.frame, username)
    raw, duplicates = drop_duplicate_tweets(screened.kept)
    held = newest_tweets(raw, holdout)
    held_ids = set(held["tweet_id"].tolist())  # a few hundred: each batch leaves them out, raw is not copied
    if not checked:
        check_provenance(store, [raw], [TWEETS, *([HELD_OUT_TWEETS] if len(held) else [])])
    ingested_at = now or datetime.now(UTC)
    if len(held):  # first: a run that stops after it holds the same tweets back when run again
        store.insert(HELD_OUT_TWEETS, held.assign(ingested_at=pd.Series(pd.Timestamp(ingested_at).tz_convert(UTC), index=held.index)
                                                  .astype("datetime64[us, UTC]")))
    counts: Counter[str] = Counter()
    for start in range(0, max(len(raw), 1), WRITE_BATCH):  # one insert even when empty: it creates the group
        batch = raw.iloc[start : start + WRITE_BATCH]
        batch = batch[~batch["tweet_id"].isin(held_ids)] if held_ids else batch
        frame = build_tweet_features(batch, source=source_label, ingested_at=ingested_at)
        result = store.insert(TWEETS, frame)
        empty = frame["clean_text"] == ""
        counts.update(
            inserted=result.inserted, already_present=result.already_present, empty=int(empty.sum()),
            invisible=int((empty & (frame["text"].str.strip(INVISIBLE) == "") & (frame["text"] != "")).sum()),
        )
    return FeatureReport(
        source=loaded.name,
        rows_read=loaded.rows_read,
        duplicates_dropped=duplicates,
        rejected=dict(Counter(loaded.rejected) + Counter(count_reasons(screened.rejected))),
        inserted=counts["inserted"],
        already_present=counts["already_present"],
        empty_clean_text=counts["empty"],
        elapsed_s=time.perf_counter() - started,
        where=store.where,
        files=list(loaded.files),
        cleaned=dict(Counter(loaded.cleaned) + Counter(count_reasons(screened.cleaned.where(screened.rejected.isna())))),
        issues=list(loaded.issues),
        invisible_only=counts["invisible"],
        held_out=len(held),
        lines_read=loaded.lines,
    )
