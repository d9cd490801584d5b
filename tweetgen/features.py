"""Feature functions: pure DataFrame -> DataFrame transformations of raw tweets.

``clean_text`` is the text a model trains on: HTML entities decoded (``&amp;`` -> ``&``), links
removed, leading reply mentions removed, whitespace collapsed to single spaces, invisible
characters (zero-width spaces and joiners, byte-order marks) removed from both ends, Unicode in
NFC, emoji kept (a joiner inside an emoji sequence stays). A tweet that is only links, mentions
or invisible characters cleans to ``""``; such rows are kept (the raw tweet is still real) and
counted, and the training pipeline leaves them out.
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import datetime

import pandas as pd

from tweetgen.schema import RAW_COLUMNS, TWEETS

LINK = re.compile(r"(?:https?://|www\.|pic\.twitter\.com/)\S+", re.IGNORECASE)
LEADING_MENTIONS = re.compile(r"^(?:\s*[@＠][A-Za-z0-9_]{1,15}\b)+[\s:,]*")
WHITESPACE = re.compile(r"\s+")
# Characters that show nothing: zero-width space, non-joiner and joiner, word joiner, byte-order
# mark, soft hyphen, Mongolian vowel separator, left-to-right and right-to-left marks; and spaces.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f \t\n\r"


def clean_tweet(text: str) -> str:
    """Return the training text of one tweet (see the module docstring)."""
    text = html.unescape(text)
    text = LINK.sub(" ", text)
    text = LEADING_MENTIONS.sub("", text)
    text = WHITESPACE.sub(" ", text).strip(INVISIBLE)
    return unicodedata.normalize("NFC", text)


def count_words(text: str) -> int:
    """Number of whitespace-separated words (an emoji run counts as a word)."""
    return len(text.split())


def build_tweet_features(raw: pd.DataFrame, source: str, ingested_at: datetime) -> pd.DataFrame:
    """Derive the ``tweets`` group's columns from raw tweets (``schema.RAW_COLUMNS``).

    Args:
        raw: one row per tweet, raw columns only; not modified.
        source: ``"history"`` or ``"live"``.
        ingested_at: UTC time of this ingestion, the same for every row.

    Returns:
        A new frame with exactly the columns of ``TWEETS``, in order.
    """
    frame = raw[RAW_COLUMNS].copy()
    frame["clean_text"] = pd.Series([clean_tweet(text) for text in frame["text"]], index=frame.index, dtype=object)
    frame["n_chars"] = frame["clean_text"].str.len().astype("int64")
    frame["n_words"] = frame["clean_text"].map(count_words).astype("int64")
    frame["source"] = source
    frame["ingested_at"] = pd.Timestamp(ingested_at).tz_convert("UTC")
    frame["ingested_at"] = frame["ingested_at"].astype("datetime64[us, UTC]")
    return frame[TWEETS.columns]


def drop_duplicate_tweets(raw: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep the first row of each ``tweet_id``; return the frame and how many rows were dropped.

    Sources order their rows best first, so the first row of a duplicated id is the one to keep.
    """
    duplicated = raw.duplicated("tweet_id", keep="first")
    kept = raw[~duplicated] if duplicated.any() else raw
    if not kept.index.equals(pd.RangeIndex(len(kept))):
        kept = kept.reset_index(drop=True)
    return kept, int(duplicated.sum())
