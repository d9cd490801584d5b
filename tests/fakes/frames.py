"""Valid rows for the feature groups, written by the project (no real tweets)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pyarrow as pa

from tweetgen.schema import TWEETS, GroupSpec

BASE_TIME = pd.Timestamp("2021-03-01 12:00:00", tz="UTC")
INGESTED_AT = pd.Timestamp("2026-01-15 06:00:00", tz="UTC")
# Texts that a store must keep byte for byte: emoji (outside the BMP, and with a ZWJ), accents,
# CJK, a newline and quotes.
TEXTS = (
    "Launching to Mars 🚀🔥",
    "Café crème, naïve façade, Ångström ✨",
    "Family: 👨‍👩‍👧 and 日本語",
    "Line one\nline two, with \"quotes\" and 'apostrophes'",
)


def tweets_frame(tweet_ids: Iterable[int], **columns: object) -> pd.DataFrame:
    """Valid ``TWEETS`` rows, one per id, in the contract's column order.

    Defaults are derived from the id (``created_at`` is ``BASE_TIME`` plus id minutes, UTC;
    texts cycle through ``TEXTS``). A keyword replaces a column: a scalar for every row, or a
    list with one value per row.
    """
    ids = [int(i) for i in tweet_ids]
    texts = [f"{TEXTS[i % len(TEXTS)]} #{i}" for i in ids]
    frame = pd.DataFrame(
        {
            "tweet_id": pd.Series(ids, dtype="int64"),
            "created_at": pd.Series(
                [BASE_TIME + pd.Timedelta(minutes=i % 1_000_000) for i in ids], dtype="datetime64[us, UTC]"
            ),
            "text": pd.Series(texts, dtype="object"),
            "username": "elonmusk",
            "is_reply": pd.Series([i % 3 == 0 for i in ids], dtype="bool"),
            "is_quote": False,
            "lang": "en",
            "likes": pd.Series([i % 1000 * 10 for i in ids], dtype="int64"),
            "retweets": pd.Series([i % 100 for i in ids], dtype="int64"),
            "replies": pd.Series([0] * len(ids), dtype="int64"),
            "clean_text": pd.Series(texts, dtype="object"),
            "n_chars": pd.Series([len(t) for t in texts], dtype="int64"),
            "n_words": pd.Series([len(t.split()) for t in texts], dtype="int64"),
            "source": "history",
            "ingested_at": pd.Series([INGESTED_AT] * len(ids), dtype="datetime64[us, UTC]"),
        }
    )
    for name, value in columns.items():
        if name not in frame.columns:
            raise KeyError(f"{name!r} is not a column of {TWEETS.name}")
        frame[name] = value
    if "text" in columns and "clean_text" not in columns:
        frame["clean_text"] = frame["text"]
    return frame[TWEETS.columns]


def as_contract(spec: GroupSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with exactly the dtypes a store's ``read`` returns for ``spec``, sorted by key."""
    table = pa.Table.from_pandas(frame[spec.columns], schema=spec.schema, preserve_index=False)
    return sort_by_key(spec, table.to_pandas())


def sort_by_key(spec: GroupSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """Reads have no order: sort by the primary key before comparing."""
    return frame.sort_values(list(spec.primary_key), kind="stable").reset_index(drop=True)
