import json
from pathlib import Path

import pandas as pd
import pytest

from tests.code.test_validation import tweets_frame
from tweetgen.errors import TweetgenError
from tweetgen.schema import GROUPS, TWEETS
from tweetgen.store.local import LocalFeatureStore
from tweetgen.store.port import GroupNotFoundError
from tweetgen.store.query import MAX_CELL_CHARS, format_result, run_query


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


def two_rows() -> pd.DataFrame:
    times = pd.to_datetime(["2022-05-01 12:00", "2022-05-02 08:30"]).tz_localize("UTC")
    return pd.DataFrame({"tweet_id": [100, 101], "created_at": times, "text": ["Mars 🚀", "a\tb"]})


def test_each_format_exactly() -> None:
    frame = two_rows()
    assert format_result(frame, "table") == (
        " tweet_id                created_at   text\n"
        "      100 2022-05-01 12:00:00+00:00 Mars 🚀\n"
        "      101 2022-05-02 08:30:00+00:00   a\\tb\n"  # one line per row: a tab is shown as \t
        "(2 rows)\n"
    )
    assert format_result(frame, "csv") == "tweet_id,created_at,text\n100,2022-05-01 12:00:00+00:00,Mars 🚀\n101,2022-05-02 08:30:00+00:00,a\tb\n"
    assert format_result(frame, "json") == (  # ISO times in UTC, and the text as written, not as \u escapes
        '{"tweet_id":100,"created_at":"2022-05-01T12:00:00.000Z","text":"Mars 🚀"}\n'
        '{"tweet_id":101,"created_at":"2022-05-02T08:30:00.000Z","text":"a\\tb"}\n'
    )


def test_an_unknown_format_names_the_formats() -> None:
    with pytest.raises(TweetgenError) as refused:
        format_result(two_rows(), "xml")
    assert str(refused.value) == "Unknown format 'xml'; use one of table, csv, json."


def test_an_empty_result_says_whether_it_has_columns() -> None:
    assert format_result(two_rows().iloc[0:0], "table") == "(no rows)\n"
    assert format_result(pd.DataFrame(), "table") == "(no result)\n"


def test_an_unknown_table_names_the_tables_and_another_unknown_name_is_said_as_duckdb_says_it(store: LocalFeatureStore) -> None:
    with pytest.raises(TweetgenError) as unknown_table:
        run_query(store, "SELECT * FROM generated_tweet")
    tables = ", ".join(f"{spec.name} (or {spec.name}_v{spec.version})" for spec in GROUPS.values())
    assert str(unknown_table.value) == f"Table with name generated_tweet does not exist; the tables are {tables}."
    assert "tweets (or tweets_v1), held_out_tweets (or held_out_tweets_v1), generated_tweets (or generated_tweets_v2)" in tables
    with pytest.raises(TweetgenError) as unknown_function:
        run_query(store, "SELECT nofunc(1)")
    assert str(unknown_function.value) == "Scalar Function with name nofunc does not exist."


def test_invalid_input_that_is_no_setting_is_said_as_a_failed_query(store: LocalFeatureStore) -> None:
    with pytest.raises(TweetgenError) as refused:
        run_query(store, "SELECT strptime('x', '%Y') FROM tweets")
    assert str(refused.value) == 'The query failed: Invalid Input Error: Could not parse string "x" according to format specifier "%Y"'


@pytest.mark.parametrize(("rows", "ok"), [(131_071, True), (131_072, True), (131_073, False)])
def test_a_result_may_take_up_to_its_memory_bound_and_not_a_byte_more(store: LocalFeatureStore, rows: int, ok: bool) -> None:
    sql = f"SELECT range AS n FROM range({rows})"  # 8 bytes a row: 131,072 rows are 1 MiB
    if ok:
        assert run_query(store, sql, memory_mb=1)["n"].tolist() == list(range(rows))
    else:
        with pytest.raises(TweetgenError, match=r"^The query needed more than 1 MB of memory and was stopped"):
            run_query(store, sql, memory_mb=1)


@pytest.mark.parametrize(("length", "shown"), [(MAX_CELL_CHARS - 1, "a" * (MAX_CELL_CHARS - 1)), (MAX_CELL_CHARS, "a" * MAX_CELL_CHARS),
                                               (MAX_CELL_CHARS + 1, "a" * (MAX_CELL_CHARS - 1) + "…")])
def test_a_cell_is_shortened_from_one_character_over_max_cell_chars(length: int, shown: str) -> None:
    assert format_result(pd.DataFrame({"t": ["a" * length]}), "table").splitlines()[1].strip() == shown


def test_a_cell_is_shown_on_one_line() -> None:
    assert format_result(pd.DataFrame({"t": ["two\nlines"]}), "table").splitlines()[1].strip() == "two lines"


def test_a_result_of_many_chunks_is_one_frame_in_order(store: LocalFeatureStore) -> None:
    result = run_query(store, "SELECT range AS n FROM range(300000)", memory_mb=4)  # three chunks of at most 131,072 rows
    assert result["n"].tolist() == list(range(300_000)) and result.index.equals(pd.RangeIndex(300_000))


def test_a_query_cannot_read_the_python_variables_around_it(store: LocalFeatureStore) -> None:
    # `store` is a variable of the function that runs the query: DuckDB's replacement scans would
    # look it up there (and read a data frame of that name). Two locks keep them off: the setting
    # `python_enable_replacements`, and the sealed connection (no external access: no replacement scans).
    with pytest.raises(TweetgenError) as refused:
        run_query(store, "SELECT * FROM store")
    assert str(refused.value).startswith("Table with name store does not exist; the tables are tweets (or tweets_v1),")


def test_the_default_format_is_the_text_table() -> None:
    assert format_result(two_rows()) == format_result(two_rows(), "table")
    assert format_result(two_rows()).endswith("\n(2 rows)\n")


def test_a_missing_group_names_the_store_it_is_missing_from(tmp_path: Path) -> None:
    empty = LocalFeatureStore(tmp_path / "store")
    with pytest.raises(GroupNotFoundError) as missing:
        run_query(empty, "SELECT * FROM tweets")
    assert str(missing.value) == (
        f"The feature group 'tweets' (version 1) does not exist yet in {tmp_path / 'store'}. "
        "Run `python feature_engineering.py` to create it."
    )


def test_a_result_of_exactly_two_chunks_is_one_frame_in_order(store: LocalFeatureStore) -> None:
    result = run_query(store, "SELECT range AS n FROM range(200000)", memory_mb=4)  # 131,072 rows, then 68,928
    assert result["n"].tolist() == list(range(200_000)) and result.index.equals(pd.RangeIndex(200_000))


def test_an_empty_result_keeps_its_columns(store: LocalFeatureStore) -> None:
    result = run_query(store, "SELECT tweet_id, text FROM tweets WHERE tweet_id < 0")
    assert list(result.columns) == ["tweet_id", "text"] and len(result) == 0
    assert format_result(result) == "(no rows)\n"
