"""A naive row-by-row pandas feature pipeline: the baseline ``bench_features.py`` measures against.

It does what a first notebook would: ``iterrows`` over each CSV, parse and clean every row in
Python, then rewrite the whole table as one Parquet file, skipping ids already stored.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from tweetgen.features import clean_tweet

SNOWFLAKE_EPOCH_MS = 1288834974657
STATUS_ID = re.compile(r"/status/(\d+)")


def parse_row(row: pd.Series) -> dict | None:
    """One CSV row to a tweet dict, or None when it cannot be keyed or is a retweet."""
    if str(row["retweet"]).lower() == "true":
        return None
    raw_id = str(row["id"])
    if raw_id.isdigit():
        tweet_id = int(raw_id)
    else:
        match = STATUS_ID.search(str(row["link"]))
        if not match:
            return None
        tweet_id = int(match.group(1))
    if "time" in row.index:  # 2021-2022 layout
        local = datetime.strptime(f"{row['date']} {row['time']}", "%Y-%m-%d %H:%M:%S")
        sign = 1 if row["timezone"][0] == "+" else -1
        offset = timedelta(hours=int(row["timezone"][1:3]), minutes=int(row["timezone"][3:5])) * sign
        created_at = (local - offset).replace(tzinfo=UTC)
        likes, retweets, replies = row["likes_count"], row["retweets_count"], row["replies_count"]
    else:
        if raw_id.isdigit():
            created_at = datetime.fromtimestamp(float(row["created_at"]) / 1000, tz=UTC)
        else:
            created_at = datetime.fromtimestamp(((tweet_id >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, tz=UTC)
        likes, retweets, replies = row["nlikes"], row["nretweets"], row["nreplies"]
    text = str(row["tweet"])
    clean = clean_tweet(text)
    return {
        "tweet_id": tweet_id, "created_at": created_at, "text": text, "username": row["username"],
        "is_reply": text.startswith("@"), "is_quote": bool(row["quote_url"]), "lang": row["language"],
        "likes": int(float(likes or 0)), "retweets": int(float(retweets or 0)), "replies": int(float(replies or 0)),
        "clean_text": clean, "n_chars": len(clean), "n_words": len(clean.split()),
        "source": "history", "ingested_at": datetime.now(UTC),
    }


def run_naive(files: list[Path], table: Path) -> dict[str, int]:
    """Parse, clean and upsert ``files`` into the Parquet file ``table``; return counts."""
    existing = pd.read_parquet(table) if table.exists() else pd.DataFrame()
    seen = set(existing["tweet_id"]) if len(existing) else set()
    new_rows, read = [], 0
    for path in files:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for _, row in frame.iterrows():
            read += 1
            tweet = parse_row(row)
            if tweet is None or tweet["tweet_id"] in seen:
                continue
            seen.add(tweet["tweet_id"])
            new_rows.append(tweet)
    if new_rows:
        pd.concat([existing, pd.DataFrame(new_rows)], ignore_index=True).to_parquet(table)
    return {"rows_read": read, "inserted": len(new_rows)}
