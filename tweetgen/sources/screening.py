"""Row rules every source's tweets pass before they are written: what is rejected, what is cleaned.

Rejected (counted, never written): a tweet id that is not positive (X's ids start at 1); text
missing or longer than ``MAX_TEXT_CHARS``; ``created_at`` missing, before X existed
(``FIRST_TWEET_DAY``, 2006-03-21) or after now; a row of another account than the one the
pipeline learns from; a negative count.

Cleaned (counted, written changed): NUL characters removed from the text (a NUL cut the text
short before). A text of only invisible characters (zero-width spaces, joiners, byte-order marks)
is not changed here: it is kept as published, its ``clean_text`` is empty
(``tweetgen.features.clean_tweet``), so no model trains on it, and the feature report counts it.

Sources that know where a row came from (the Kaggle files) apply these rules themselves, so their
reports name the file and line; the feature pipeline applies them again to every source's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from tweetgen.schema import MAX_TEXT_CHARS

FIRST_TWEET_DAY = pd.Timestamp("2006-03-21", tz="UTC")  # the first tweet ever posted
CLOCK_SLACK = pd.Timedelta(minutes=10)  # a source's clock may run a little ahead of this machine's

REJECT_ID = "tweet id is not a positive number"
REJECT_NO_TEXT = "text is missing"
REJECT_TOO_LONG = f"text is longer than {MAX_TEXT_CHARS:,} characters"
REJECT_NO_TIME = "created_at is missing"
REJECT_BEFORE_X = f"created_at is before X existed ({FIRST_TWEET_DAY:%Y-%m-%d})"
REJECT_FUTURE = "created_at is later than now"
REJECT_ACCOUNT = "row of another account (username is not @{username})"
REJECT_NEGATIVE = "a count (likes, retweets, replies) is negative"
CLEAN_NUL = "NUL characters removed (they cut the text short)"


@dataclass(frozen=True)
class Screened:
    """Rows after the rules: ``frame`` holds every row (NULs removed); ``rejected`` and
    ``cleaned`` give each row's reason, or None, on the same index."""

    frame: pd.DataFrame
    rejected: pd.Series
    cleaned: pd.Series

    @property
    def kept(self) -> pd.DataFrame:
        """The rows not rejected (``frame`` itself when none is)."""
        keep = self.rejected.isna()
        return self.frame if keep.all() else self.frame[keep]


def screen_tweets(raw: pd.DataFrame, username: str | None = None, now: datetime | None = None) -> Screened:
    """Apply the rules of the module docstring to raw rows (``RAW_COLUMNS``); ``raw`` is not modified
    (the result's ``frame`` is ``raw`` itself when no cell needed cleaning).

    Args:
        username: the account the pipeline learns from; None skips the account rule.
        now: the current time (default: this machine's clock, UTC).
    """
    frame = raw
    rejected = pd.Series(None, index=frame.index, dtype=object)
    cleaned = pd.Series(None, index=frame.index, dtype=object)

    def mark(reasons: pd.Series, mask: pd.Series, sentence: str) -> None:
        reasons[mask & reasons.isna()] = sentence  # a row keeps the first reason that applies

    text = frame["text"]
    has_nul = text.str.contains("\x00", regex=False).fillna(False).astype(bool)
    if has_nul.any():
        frame = frame.assign(text=text.where(~has_nul, text.str.replace("\x00", "", regex=False)))
        mark(cleaned, has_nul, CLEAN_NUL)
    lengths = frame["text"].str.len()
    mark(rejected, ~(frame["tweet_id"] > 0), REJECT_ID)
    mark(rejected, frame["text"].isna(), REJECT_NO_TEXT)
    mark(rejected, lengths.fillna(0) > MAX_TEXT_CHARS, REJECT_TOO_LONG)
    _screen_times(frame["created_at"], pd.Timestamp(now or datetime.now(UTC)), lambda m, s: mark(rejected, m, s))
    if username is not None:
        account = frame["username"].fillna("").str.strip().str.removeprefix("@").str.lower()
        mark(rejected, account != username.strip().removeprefix("@").lower(), REJECT_ACCOUNT.format(username=username))
    for column in ("likes", "retweets", "replies"):
        mark(rejected, frame[column] < 0, REJECT_NEGATIVE)
    return Screened(frame, rejected, cleaned)


def _screen_times(created_at: pd.Series, now: pd.Timestamp, mark) -> None:
    mark(created_at.isna(), REJECT_NO_TIME)
    mark(created_at < FIRST_TWEET_DAY, REJECT_BEFORE_X)
    mark(created_at > now + CLOCK_SLACK, REJECT_FUTURE)


def count_reasons(reasons: pd.Series) -> dict[str, int]:
    """Reason sentence -> number of rows (rows without a reason are left out)."""
    return {str(k): int(v) for k, v in reasons.dropna().value_counts(sort=False).items()}
