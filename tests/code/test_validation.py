from datetime import UTC, datetime

import pandas as pd
import pytest

from tweetgen.errors import ValidationError
from tweetgen.features import build_tweet_features
from tweetgen.schema import TWEETS
from tweetgen.store.validation import validate


def tweets_frame(n: int = 3) -> pd.DataFrame:
    raw = pd.DataFrame(
        {
            "tweet_id": pd.Series(range(100, 100 + n), dtype="int64"),
            "created_at": pd.Series(pd.date_range("2022-05-01", periods=n, freq="D", tz="UTC"), dtype="datetime64[us, UTC]"),
            "text": [f"Tweet number {i} 🚀" for i in range(n)],
            "username": "someone",
            "is_reply": False,
            "is_quote": False,
            "lang": "en",
            "likes": pd.Series([10] * n, dtype="int64"),
            "retweets": pd.Series([1] * n, dtype="int64"),
            "replies": pd.Series([2] * n, dtype="int64"),
        }
    )
    return build_tweet_features(raw, "history", datetime(2026, 1, 1, tzinfo=UTC))


def test_valid_frame_becomes_a_table_of_the_contract() -> None:
    table = validate(TWEETS, tweets_frame())
    assert table.schema.equals(TWEETS.schema, check_metadata=False)
    assert table.column("tweet_id").to_pylist() == [100, 101, 102]


def test_missing_and_extra_columns_are_named() -> None:
    frame = tweets_frame().drop(columns=["lang"]).assign(colour="red")
    with pytest.raises(ValidationError, match=r"missing \['lang'\], unexpected \['colour'\]"):
        validate(TWEETS, frame)


def test_naive_timestamps_are_refused() -> None:
    frame = tweets_frame()
    frame["created_at"] = frame["created_at"].dt.tz_localize(None)
    with pytest.raises(ValidationError, match="'created_at' must hold UTC-aware timestamps"):
        validate(TWEETS, frame)


def test_other_time_zones_are_refused() -> None:
    frame = tweets_frame()
    frame["created_at"] = frame["created_at"].dt.tz_convert("Asia/Dubai")
    with pytest.raises(ValidationError, match="UTC-aware"):
        validate(TWEETS, frame)


def test_duplicate_key_names_the_row() -> None:
    frame = tweets_frame()
    frame.loc[2, "tweet_id"] = 100
    with pytest.raises(ValidationError, match=r"\{'tweet_id': 100\} appears more than once \(row 2\)"):
        validate(TWEETS, frame)


def test_empty_id_is_refused() -> None:
    frame = tweets_frame()
    frame["tweet_id"] = frame["tweet_id"].astype("Int64")
    frame.loc[1, "tweet_id"] = pd.NA
    with pytest.raises(ValidationError, match="'tweet_id' is empty in row 1"):
        validate(TWEETS, frame)


def test_wrong_type_is_refused() -> None:
    frame = tweets_frame()
    frame["likes"] = ["many", "few", "none"]
    with pytest.raises(ValidationError, match="wrong type"):
        validate(TWEETS, frame)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("text", "x" * 25_001, "longer than 25,000"),
        ("source", "rumour", "'source' in row 0 is 'rumour'"),
        ("likes", -1, "'likes' in row 0 is negative"),
    ],
)
def test_tweet_rules(column: str, value: object, message: str) -> None:
    frame = tweets_frame()
    frame.loc[0, column] = value
    with pytest.raises(ValidationError, match=message):
        validate(TWEETS, frame)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("arm", "canary", "'arm' in row 1 is 'canary', not one of"),
        ("random_text", "x" * 281, "'random_text' in row 1 is longer than a tweet \\(280 characters\\)"),
    ],
)
def test_monitor_rules(column: str, value: object, message: str) -> None:
    from tests.fakes.monitor_rows import monitor_frame
    from tweetgen.schema import GENERATED_TWEETS

    frame = monitor_frame(n_runs=2)
    validate(GENERATED_TWEETS, frame)  # valid as made
    frame.loc[1, column] = value
    with pytest.raises(ValidationError, match=message):
        validate(GENERATED_TWEETS, frame)
