import json
from pathlib import Path

import pytest

from tests.code.test_validation import tweets_frame
from tweetgen.errors import TweetgenError
from tweetgen.schema import TWEETS
from tweetgen.store.local import LocalFeatureStore
from tweetgen.store.port import GroupNotFoundError
from tweetgen.store.query import format_result, run_query


@pytest.fixture
def store(tmp_path: Path) -> LocalFeatureStore:
    store = LocalFeatureStore(tmp_path)
    store.insert(TWEETS, tweets_frame(4))
    return store


def test_sql_over_the_group_by_name_and_by_version(store: LocalFeatureStore) -> None:
    result = run_query(store, "SELECT count(*) AS n, max(tweet_id) AS newest FROM tweets")
    assert result.to_dict("records") == [{"n": 4, "newest": 103}]
    versioned = run_query(store, "SELECT tweet_id FROM tweets_v1 WHERE created_at >= '2022-05-03' ORDER BY 1")
    assert versioned["tweet_id"].tolist() == [102, 103]


def test_missing_group_says_which_command_fills_it(tmp_path: Path) -> None:
    with pytest.raises(GroupNotFoundError, match="python feature_engineering.py"):
        run_query(LocalFeatureStore(tmp_path), "SELECT * FROM tweets")


def test_bad_sql_is_one_line(store: LocalFeatureStore) -> None:
    with pytest.raises(TweetgenError, match="The query failed: .*") as caught:
        run_query(store, "SELECT nope FROM tweets")
    assert "\n" not in str(caught.value)


def test_formats(store: LocalFeatureStore) -> None:
    result = run_query(store, "SELECT tweet_id, text FROM tweets ORDER BY tweet_id LIMIT 2")
    table = format_result(result, "table")
    assert "tweet_id" in table and "Tweet number 0 🚀" in table and "(2 rows)" in table
    csv_lines = format_result(result, "csv").splitlines()
    assert csv_lines == ["tweet_id,text", "100,Tweet number 0 🚀", "101,Tweet number 1 🚀"]
    rows = [json.loads(line) for line in format_result(result, "json").splitlines()]
    assert rows == [{"tweet_id": 100, "text": "Tweet number 0 🚀"}, {"tweet_id": 101, "text": "Tweet number 1 🚀"}]
    with pytest.raises(TweetgenError, match="Unknown format 'xml'"):
        format_result(result, "xml")


def test_long_cells_are_shortened_in_tables_only(store: LocalFeatureStore) -> None:
    result = run_query(store, "SELECT repeat('a', 100) AS long_text")
    assert "a" * 59 + "…" in format_result(result, "table")
    assert "a" * 100 in format_result(result, "csv")
