from datetime import UTC, datetime

import pandas as pd
import pytest

from tweetgen.features import build_tweet_features, clean_tweet, count_words, drop_duplicate_tweets
from tweetgen.schema import TWEETS


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("@alice @bob_2 Yes &amp; no https://t.co/AbC123xyZ9", "Yes & no"),
        ("Rockets &lt;3 &gt; cars", "Rockets <3 > cars"),
        ("https://t.co/AbC123xyZ9", ""),
        ("@alice", ""),
        ("@alice: exactly", "exactly"),
        ("Launch\n\n  tomorrow\t🚀🚀", "Launch tomorrow 🚀🚀"),
        ("Thanks @alice for the ride", "Thanks @alice for the ride"),
        ("Cafe\u0301 na\u0303o", "Café não"),
        ("Look pic.twitter.com/abcdef here www.example.com/x", "Look here"),
        ("❤️ 👨‍🚀 so — good – “quotes”", "❤️ 👨‍🚀 so — good – “quotes”"),
    ],
)
def test_clean_tweet(raw: str, clean: str) -> None:
    assert clean_tweet(raw) == clean


def test_count_words() -> None:
    assert count_words("Mars base 🚀 soon") == 4
    assert count_words("") == 0


def _raw(ids: list[int], texts: list[str]) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "tweet_id": pd.Series(ids, dtype="int64"),
            "created_at": pd.Series(pd.date_range("2021-01-01", periods=n, freq="h", tz="UTC"), dtype="datetime64[us, UTC]"),
            "text": texts,
            "username": ["someone"] * n,
            "is_reply": [t.startswith("@") for t in texts],
            "is_quote": [False] * n,
            "lang": ["en"] * n,
            "likes": pd.Series(range(n), dtype="int64"),
            "retweets": pd.Series([0] * n, dtype="int64"),
            "replies": pd.Series([1] * n, dtype="int64"),
        }
    )


def test_build_tweet_features_columns_and_values() -> None:
    raw = _raw([3, 5], ["@bob Big news &amp; more 🚀", "https://t.co/aaaaaaaaaa"])
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    frame = build_tweet_features(raw, source="history", ingested_at=at)
    assert list(frame.columns) == TWEETS.columns
    assert frame["clean_text"].tolist() == ["Big news & more 🚀", ""]
    assert frame["n_chars"].tolist() == [len("Big news & more 🚀"), 0]
    assert frame["n_words"].tolist() == [5, 0]
    assert frame["source"].unique().tolist() == ["history"]
    assert frame["ingested_at"].iloc[0] == pd.Timestamp(at)
    assert str(frame["ingested_at"].dtype) == "datetime64[us, UTC]"
    assert raw["text"].iloc[0].startswith("@bob")  # input untouched


def test_drop_duplicate_tweets_keeps_first_and_counts() -> None:
    raw = _raw([1, 2, 1, 3, 2], ["a", "b", "a again", "c", "b again"])
    kept, dropped = drop_duplicate_tweets(raw)
    assert dropped == 2
    assert kept["tweet_id"].tolist() == [1, 2, 3]
    assert kept["text"].tolist() == ["a", "b", "c"]


def test_build_tweet_features_of_no_rows_keeps_the_dtypes() -> None:
    frame = build_tweet_features(_raw([], []), source="live", ingested_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert frame.empty and list(frame.columns) == TWEETS.columns
    assert frame["n_chars"].dtype == "int64"
