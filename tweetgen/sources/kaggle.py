"""Loader for the Kaggle "Elon Musk tweets 2010-2021" year files (twint exports).

The files come in two layouts, recognised from each file's header:

* ``2010-2020``: an unnamed index column, ``created_at`` in epoch milliseconds
  (``1450760239000.0``), ``date`` in UTC, ``nlikes`` / ``nreplies`` / ``nretweets``.
* ``2021-2022``: ``created_at`` as text with a zone name (not used), ``date`` + ``time`` in the
  offset given by ``timezone`` (``+0400``), ``likes_count`` / ``replies_count`` /
  ``retweets_count``.

Some files have been through a spreadsheet (``2020.csv`` as published): ids in scientific notation
(``1.34E+18``), ``created_at`` rounded (``1.61E+12``), day-first dates without times. Damage is
detected per row: a row is *damaged* when its ``id`` is not a plain integer string. A damaged row's
id is recovered from the status id in its ``link`` and its time from that id (a Twitter
snowflake), checked against the row's date; a row that cannot be recovered is rejected and
counted, so a lossy id never becomes a key.

Every cell is read as text exactly as published (``&amp;`` stays in ``text``); cleaning happens
elsewhere. Rows are numbered from 1, counting data rows after the header; messages also give the
line a row starts on. The files are streamed in chunks (``tweetgen.sources.csv_chunks``), so memory
holds the accepted rows (their text in compact Arrow strings) and one chunk, not whole files.

Each file is opened once and read front to back, so a named pipe or ``<(...)`` works as a path.
Every physical line is accounted for (``LineCounts``: header, blank lines, lines in rows).

Row-level problems reject that row, counted by reason and listed with its file and line: the
damage above, a retweet, a row with another number of fields than the header, a stray quote that
ran into the following lines (those lines are read again as rows and kept), and the rules every
source's rows pass (``tweetgen.sources.screening``: over-long text, a time before X existed or
after now, another account's row, an id that is not positive). A time of any size is rejected
row by row, however far in the past or future (``created_at`` 2150, a date in year 9999). NUL
characters are removed from the cells, and the rows they were in are counted as cleaned. A value
that cannot be parsed at all (a date, a flag, a UTC offset) still refuses the whole load, naming
the file, row and line: it means the file is not the published layout.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from tweetgen.errors import SourceError
from tweetgen.schema import RAW_COLUMNS
from tweetgen.sources.csv_chunks import FIELD, MAX_FIELD_CHARS, QUOTE, SHAPE, Chunk, CsvFile
from tweetgen.sources.port import LineCounts, RowIssue, TweetLoad, TweetSource
from tweetgen.sources.screening import CLEAN_NUL, FIRST_TWEET_DAY, REJECT_BEFORE_X, REJECT_FUTURE, screen_tweets

SNOWFLAKE_EPOCH_MS = 1288834974657
# Ids before snowflakes (November 2010) were sequential and stayed below ~3e10; snowflake ids start
# near 2.9e16. Anything in between does not occur, so any threshold there separates the two.
FIRST_SNOWFLAKE_ID = 10**15
# How far a row's time may be from its date column: the damaged file keeps only the (UTC) day, and
# a date written in another time zone can be a day off.
DATE_TOLERANCE = pd.Timedelta(days=2)
INT64_MAX = str(2**63 - 1)
LATEST_EPOCH_MS = 4_102_444_800_000  # 2100-01-01: a larger created_at is not a tweet's time
DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d-%m-%Y %H:%M:%S",  # a spreadsheet's day-first rewrite, as in 2020.csv
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
)
TRUE_TEXT = frozenset({"true", "1"})
FALSE_TEXT = frozenset({"false", "0", ""})

REJECT_RETWEET = "retweet of another account's tweet (not the account's own words)"
REJECT_NO_ID = "tweet id is damaged (e.g. 1.34E+18) and the link holds no status id to recover it from"
REJECT_ID_MISMATCH = "tweet id does not match the status id in the link"
REJECT_PRE_SNOWFLAKE = "tweet id is damaged and predates snowflake ids (late 2010), so its time cannot be recovered"
REJECT_SNOWFLAKE_DATE = "time recovered from the tweet id is more than 2 days from the row's date"
REJECT_CREATED_DATE = "created_at is more than 2 days from the row's date"
REJECT_COUNT = "{column} is not a whole number"
REJECT_SHAPE = "row has another number of fields than the header (a line cut short or a stray delimiter)"
REJECT_FIELD = f"row has a field longer than {MAX_FIELD_CHARS:,} characters"
REJECT_QUOTE = 'row has a stray quote (") that ran into the lines after it (they are read again as rows)'
SET_APART_REASONS = {SHAPE: REJECT_SHAPE, FIELD: REJECT_FIELD, QUOTE: REJECT_QUOTE}
FIRST_TWEET_MS = int(FIRST_TWEET_DAY.timestamp() * 1000)


@dataclass(frozen=True)
class Layout:
    """One published column layout: which columns it needs and where the counts live."""

    name: str
    required: tuple[str, ...]
    counts: dict[str, str] = field(hash=False)  # RAW count column -> CSV column


COMMON = ("id", "date", "tweet", "language", "username", "link", "retweet", "quote_url", "reply_to")
OLD = Layout(
    name="2010-2020",
    required=(*COMMON, "created_at", "nlikes", "nreplies", "nretweets"),
    counts={"likes": "nlikes", "retweets": "nretweets", "replies": "nreplies"},
)
NEW = Layout(
    name="2021-2022",
    required=(*COMMON, "time", "timezone", "likes_count", "replies_count", "retweets_count"),
    counts={"likes": "likes_count", "retweets": "retweets_count", "replies": "replies_count"},
)


def find_csv_files(path_or_paths: Sequence[str | Path] | str | Path) -> list[Path]:
    """Expand files and folders into CSV files: a folder gives its ``*.csv`` files sorted by name.

    Raises:
        SourceError: a path does not exist, a folder holds no CSV file, or nothing was given.
    """
    paths = [path_or_paths] if isinstance(path_or_paths, (str, Path)) else list(path_or_paths)
    if not paths:
        raise SourceError("No Kaggle CSV path was given; pass the folder holding the year files (2010.csv ...).")
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
            if not found:
                raise SourceError(
                    f"{path} holds no .csv file; pass the folder holding the Kaggle year files (2010.csv ...)."
                )
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise SourceError(
                f"{path} does not exist; pass the folder holding the Kaggle year files or the files themselves."
            )
    seen: set[Path] = set()
    unique = []
    for file in files:  # a file named twice (itself and through its folder) is read once
        if file.resolve() not in seen:
            seen.add(file.resolve())
            unique.append(file)
    return unique


def load_kaggle(
    path_or_paths: Sequence[str | Path] | str | Path,
    progress: bool = False,
    username: str | None = None,
    now: datetime | None = None,
) -> TweetLoad:
    """Read the Kaggle year files into raw tweet rows (``RAW_COLUMNS``), rejecting what cannot be trusted.

    Every file is read and checked before this returns, so a caller that writes the result
    writes nothing when any file is bad.

    Args:
        username: the account the rows must belong to (None accepts any account).
        now: the current time, for the "after now" rule (default: the clock).

    Raises:
        SourceError: a missing path, a folder without CSV files, an empty or malformed file, a file
            that is not UTF-8, a file missing required columns, or an unparseable date or flag
            (naming the file, the data row and its line).
    """
    files = find_csv_files(path_or_paths)
    tally = _Tally()
    parts: list[pd.DataFrame] = []
    for path in tqdm(files, desc="Reading Kaggle CSVs", unit="file", disable=not progress):
        parts += _load_file(path, tally, username, now)
    return TweetLoad(
        KaggleHistory.name, _order(parts), tally.rows_read, dict(tally.rejected), files,
        cleaned=dict(tally.cleaned), issues=tally.issues, lines=tally.lines,
    )


@dataclass
class _Tally:
    """Every row read, rejected and cleaned so far, with where each rejected or cleaned row is."""

    rows_read: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    cleaned: Counter[str] = field(default_factory=Counter)
    issues: list[RowIssue] = field(default_factory=list)
    lines: LineCounts = field(default_factory=LineCounts)

    def add(self, counter: Counter[str], path: Path, line: int | str, reason: str) -> None:
        """Count one row for ``reason``; ``line`` is its line, or its place already written out."""
        counter[reason] += 1
        self.issues.append(RowIssue(line if isinstance(line, str) else f"{path} line {line}", reason))

    def add_all(self, counter: Counter[str], path: Path, lines: pd.Series, reasons: pd.Series) -> None:
        for row, reason in reasons.dropna().items():
            self.add(counter, path, int(lines[row]), reason)


def _load_file(path: Path, tally: _Tally, username: str | None, now: datetime | None) -> list[pd.DataFrame]:
    """The accepted rows of one file, in chunks; rejected and cleaned rows go to ``tally``."""
    parts, damaged = [], False
    with CsvFile(path) as reader:  # opened once: a pipe can be read only once
        layout = _detect_layout(path, reader.header)
        for chunk in reader.chunks(list(layout.required)):  # the other columns are never kept in memory
            tally.rows_read += chunk.rows_read
            for row in chunk.set_apart:
                tally.add(tally.rejected, path, row.where(path), SET_APART_REASONS[row.why])
            if chunk.frame.empty:
                continue
            part, rejected, cleaned = _convert_chunk(path, chunk, layout, username, now)
            tally.add_all(tally.rejected, path, chunk.lines, rejected)
            tally.add_all(tally.cleaned, path, chunk.lines, cleaned.where(rejected.isna()))
            damaged = damaged or bool(part["damaged"].any())
            parts.append(_compact(part[rejected.isna()]))
    tally.lines += reader.counts
    for part in parts:  # a file with any damaged row ranks below the others for the same tweet
        part["damaged_file"] = damaged
    return parts


def _convert_chunk(
    path: Path, chunk: Chunk, layout: Layout, username: str | None, now: datetime | None
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """One chunk's rows as ``RAW_COLUMNS`` (plus ``damaged``), with a reject and a clean reason per row."""
    part, reasons = _convert(_Place(path, chunk.lines), chunk.frame, layout)
    screened = screen_tweets(part[RAW_COLUMNS], username, now)
    rejected = reasons.where(reasons.notna(), screened.rejected)
    cleaned = screened.cleaned.copy()
    cleaned[cleaned.index.isin(chunk.nul_rows)] = CLEAN_NUL
    return screened.frame.assign(damaged=part["damaged"]), rejected, cleaned


def _compact(part: pd.DataFrame) -> pd.DataFrame:
    """Store a part's text columns as Arrow strings: a few bytes of overhead a row, not ~50."""
    return part.astype({"text": "string[pyarrow]", "username": "string[pyarrow]", "lang": "string[pyarrow]"})


@dataclass(frozen=True)
class _Place:
    """A file and the line each of its data rows (by number) starts on, for messages."""

    path: Path
    lines: pd.Series

    def of(self, row: int) -> str:
        return f"{self.path}, data row {row} (line {int(self.lines[row])})"


def _detect_layout(path: Path, columns: Sequence[str]) -> Layout:
    """Pick the layout from the header (by its count columns) and check its required columns."""
    present = set(columns)
    if "nlikes" in present:
        layout = OLD
    elif "likes_count" in present:
        layout = NEW
    else:  # neither: report against the layout the header is closer to
        layout = min((OLD, NEW), key=lambda lay: len(set(lay.required) - present))
    missing = [c for c in layout.required if c not in present]
    if missing:
        raise SourceError(
            f"{path} is missing the column(s) {', '.join(missing)} of the {layout.name} layout; "
            "use the year files as published on Kaggle (twint exports)."
        )
    return layout


def _convert(place: _Place, raw: pd.DataFrame, layout: Layout) -> tuple[pd.DataFrame, pd.Series]:
    """Turn text cells into ``RAW_COLUMNS`` and ``damaged`` (the row's id was damaged); return it
    with a reject reason per row (or None)."""
    reasons = pd.Series(None, index=raw.index, dtype=object)

    def reject(mask: pd.Series, sentence: str) -> None:
        reasons[mask & reasons.isna()] = sentence  # a row keeps the first reason that applies

    reject(_parse_flag(place, raw["retweet"], "retweet"), REJECT_RETWEET)
    tweet_id, damaged = _tweet_ids(raw, reject)
    created_at = _created_at(place, raw, layout, tweet_id, damaged, reject)
    frame = pd.DataFrame(
        {
            "tweet_id": tweet_id,
            "created_at": created_at,
            "text": raw["tweet"],
            "username": raw["username"],
            "is_reply": _is_reply(raw),
            "is_quote": raw["quote_url"].str.strip() != "",
            "lang": raw["language"],
        }
    )
    for column, source in layout.counts.items():
        frame[column] = _count(raw[source], column, reject)
    frame["damaged"] = damaged
    return frame, reasons


def _tweet_ids(raw: pd.DataFrame, reject) -> tuple[pd.Series, pd.Series]:
    """Return int64 ids (0 where rejected) and the damaged mask; lossy ids come back from ``link``."""
    ids = raw["id"].str.strip()
    plain = _is_int64_text(ids)
    from_link = raw["link"].str.extract(r"/status/([0-9]+)", expand=False)
    link_ok = from_link.notna() & _is_int64_text(from_link.fillna(""))
    damaged = ~plain
    reject(damaged & ~link_ok, REJECT_NO_ID)
    reject(plain & link_ok & (from_link != ids), REJECT_ID_MISMATCH)
    # A damaged id that still reads as a number (1.34E+18) must agree with the link to its precision.
    approx = pd.to_numeric(ids.where(damaged), errors="coerce")
    exact = pd.to_numeric(from_link.where(damaged & link_ok), errors="coerce")
    reject(damaged & approx.notna() & exact.notna() & ((approx - exact).abs() > 0.01 * exact), REJECT_ID_MISMATCH)
    chosen = ids.where(plain, from_link.where(link_ok, "0"))
    return chosen.astype("int64"), damaged


def _is_int64_text(values: pd.Series) -> pd.Series:
    """True where the text is a plain non-negative integer that fits in int64."""
    digits = values.str.fullmatch(r"[0-9]{1,19}")
    return digits & ((values.str.len() < 19) | (values <= INT64_MAX))  # same length: text order = number order


def _created_at(
    place: _Place, raw: pd.DataFrame, layout: Layout, tweet_id: pd.Series, damaged: pd.Series, reject
) -> pd.Series:
    """UTC time of each row: from the file for undamaged rows, from the snowflake id for damaged ones."""
    if layout is OLD:
        day = _parse_dates(place, raw["date"], "date", reject).dt.tz_localize("UTC")  # twint wrote this column in UTC
        ms = pd.to_numeric(raw["created_at"].str.strip().where(~damaged, "0"), errors="coerce")
        _raise_first_bad(place, raw["created_at"], ~np.isfinite(ms), "created_at", "epoch milliseconds like 1450760239000.0")
        # A number of any size is a time: one before X or past 2100 rejects its row, not the file.
        reject(~damaged & (ms < FIRST_TWEET_MS), REJECT_BEFORE_X)
        reject(~damaged & (ms > LATEST_EPOCH_MS), REJECT_FUTURE)
        published = pd.to_datetime(ms.where(ms.between(FIRST_TWEET_MS, LATEST_EPOCH_MS)), unit="ms", utc=True)
    else:
        local = _parse_dates(place, raw["date"].str.strip() + " " + raw["time"].str.strip(), "date and time", reject)
        published = (local - _utc_offsets(place, raw["timezone"])).dt.tz_localize("UTC")
        day = published  # nothing else to check an undamaged row's time against
    # Snowflake: the top 41 bits are milliseconds since Twitter's epoch. Floored to whole seconds,
    # the resolution of the published created_at, so a recovered time equals the other files' one.
    since_epoch = pd.Series(tweet_id.to_numpy() >> 22, index=tweet_id.index)
    recovered = pd.to_datetime(since_epoch + SNOWFLAKE_EPOCH_MS, unit="ms", utc=True).dt.floor("s")
    reject(damaged & (tweet_id < FIRST_SNOWFLAKE_ID), REJECT_PRE_SNOWFLAKE)
    created_at = published.where(~damaged, recovered)
    far = (created_at - day).abs() > DATE_TOLERANCE
    reject(damaged & far, REJECT_SNOWFLAKE_DATE)
    reject(~damaged & far, REJECT_CREATED_DATE)
    return created_at.dt.as_unit("us")


def _parse_dates(place: _Place, values: pd.Series, column: str, reject) -> pd.Series:
    """Parse naive date-times in any of ``DATE_FORMATS`` (year-first or day-first); raise on the first failure.

    A real date outside the range pandas holds (years 1677-2262, such as 0001-01-01 or 9999-12-31)
    rejects its row as before X or in the future, and comes back as NaT.
    """
    text = values.str.strip()
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in DATE_FORMATS:
        todo = parsed.isna()
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    years = text[parsed.isna()].map(_year_of)
    reject(years.reindex(values.index).lt(FIRST_TWEET_DAY.year).fillna(False).astype(bool), REJECT_BEFORE_X)
    reject(years.reindex(values.index).ge(FIRST_TWEET_DAY.year).fillna(False).astype(bool), REJECT_FUTURE)
    _raise_first_bad(place, values, parsed.isna() & ~values.index.isin(years.dropna().index), column,
                     "a date like 2019-12-31 23:59:59 or 31-12-2019 23:59")
    return parsed


def _year_of(text: str) -> float:
    """The year of a date in one of ``DATE_FORMATS`` that pandas cannot hold, or NaN if it is no date."""
    for fmt in DATE_FORMATS:
        try:
            return float(datetime.strptime(text, fmt).year)
        except ValueError:
            continue
    return float("nan")


def _utc_offsets(place: _Place, values: pd.Series) -> pd.Series:
    """Turn offsets like ``+0400`` or ``-05:30`` into timedeltas; raise on the first that is not one."""
    parts = values.str.strip().str.extract(r"^([+-])(\d{2}):?(\d{2})$")
    _raise_first_bad(place, values, parts[0].isna(), "timezone", "a UTC offset like +0400")
    minutes = parts[1].astype("int64") * 60 + parts[2].astype("int64")
    return pd.to_timedelta(minutes.where(parts[0] == "+", -minutes), unit="min")


def _parse_flag(place: _Place, values: pd.Series, column: str) -> pd.Series:
    """Read True/False as twint (``False``) or a spreadsheet (``FALSE``) wrote it; empty is False."""
    lowered = values.str.strip().str.lower()
    _raise_first_bad(place, values, ~lowered.isin(TRUE_TEXT | FALSE_TEXT), column, "True or False")
    return lowered.isin(TRUE_TEXT)


def _raise_first_bad(place: _Place, values: pd.Series, bad: pd.Series, column: str, expected: str) -> None:
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        raise SourceError(
            f"{place.of(int(values.index[position]))}: {column} is {values.iloc[position]!r}, not {expected}; "
            "fix or delete that row."
        )


def _count(values: pd.Series, column: str, reject) -> pd.Series:
    """Parse a count column; an empty cell means 0 (twint leaves it empty when there were none)."""
    text = values.str.strip()
    if text.str.fullmatch(r"[0-9]{1,18}").all():
        return text.astype("int64")  # the usual case: plain digits in every row
    whole = text.str.fullmatch(r"[0-9]{1,18}(\.0*)?")  # 12 or 12.0; 1.2E+05 is a spreadsheet's rounding
    reject(~whole & (text != ""), REJECT_COUNT.format(column=column))
    return text.str.replace(r"\.0*$", "", regex=True).where(whole, "0").astype("int64")


def _is_reply(raw: pd.DataFrame) -> pd.Series:
    """A reply starts with an @mention, or its ``reply_to`` names someone other than the account.

    Older twint rows leave ``reply_to`` empty, hence the text test; a thread of the account's own
    tweets lists only the account in ``reply_to`` and is not a reply.
    """
    starts_with_mention = raw["tweet"].str.match(r"@\w")
    undecided = raw["reply_to"][~starts_with_mention]  # only these need reply_to read
    names = undecided.str.extractall(r"'screen_name':\s*'(\w+)'")[0].str.lower()
    if names.empty:
        return starts_with_mention
    rows = names.index.get_level_values(0)
    account = raw["username"].str.strip().str.lower().loc[rows]
    other = pd.Series(names.to_numpy() != account.to_numpy(), index=rows).groupby(level=0).any()
    return starts_with_mention | other.reindex(raw.index, fill_value=False).astype(bool)


def _order(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate accepted rows, ordered by id and, within an id, best row first."""
    if not parts:
        return _empty_frame()
    frame = pd.concat(parts, ignore_index=True)
    parts.clear()  # the parts are in ``frame`` now: let them go before sorting copies it
    frame["position"] = range(len(frame))  # file order, then row order, breaks remaining ties
    frame = frame.sort_values(["tweet_id", "damaged_file", "likes", "position"], ascending=[True, True, False, True])
    frame.drop(columns=[c for c in frame.columns if c not in RAW_COLUMNS], inplace=True)
    frame.reset_index(drop=True, inplace=True)  # in place: a 1M-row frame is not copied again
    return frame[RAW_COLUMNS].astype(_DTYPES, copy=False)


_DTYPES = {
    "tweet_id": "int64",
    "created_at": "datetime64[us, UTC]",
    "text": "string[pyarrow]",
    "username": "string[pyarrow]",
    "is_reply": bool,
    "is_quote": bool,
    "lang": "string[pyarrow]",
    "likes": "int64",
    "retweets": "int64",
    "replies": "int64",
}


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=_DTYPES[c]) for c in RAW_COLUMNS})


class KaggleHistory(TweetSource):
    """The Kaggle year files at ``paths`` (files or folders), read by ``load_kaggle``."""

    name = "kaggle csv"

    def __init__(self, paths: Sequence[str | Path] | str | Path, progress: bool = False, username: str | None = None) -> None:
        self.paths, self.progress, self.username = paths, progress, username
        self.account = username

    def read(self, held_ids: Collection[int] = frozenset()) -> TweetLoad:
        return load_kaggle(self.paths, progress=self.progress, username=self.username)
