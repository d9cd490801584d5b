"""`query` sees the feature groups and nothing else, and its table cannot drive the terminal."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.fakes.frames import tweets_frame
from tests.reliability.processes import run_cli
from tweetgen.errors import TweetgenError
from tweetgen.schema import GROUPS, TWEETS
from tweetgen.store.local import LocalFeatureStore
from tweetgen.store.query import format_result, run_query

OUTSIDE = "/etc/hostname"  # a file every Linux machine has, readable by the test


@pytest.fixture
def store(tmp_path: Path) -> LocalFeatureStore:
    store = LocalFeatureStore(tmp_path / "data" / "feature_store")
    store.insert(TWEETS, tweets_frame(range(3)))
    return store


@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT 'x') TO '{target}'",
        "COPY tweets TO '{target}' (FORMAT csv)",
        f"SELECT content FROM read_text('{OUTSIDE}')",
        f"SELECT * FROM read_csv('{OUTSIDE}')",
        "SELECT count(*) FROM tweets; COPY (SELECT 1) TO '{target}'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "ATTACH '{target}' AS other",
        "EXPORT DATABASE '{target_dir}'",
        "SELECT * FROM glob('/etc/*')",
    ],
    ids=["copy-to", "copy-group", "read_text", "read_csv", "second-statement", "install", "load", "attach", "export", "glob"],
)
def test_no_statement_reaches_a_file_or_an_extension(store: LocalFeatureStore, tmp_path: Path, sql: str) -> None:
    target = tmp_path / "outside.txt"
    with pytest.raises(TweetgenError) as caught:
        run_query(store, sql.format(target=target, target_dir=tmp_path / "exported"))
    message = str(caught.value)
    assert message == f"The query tried to reach outside the feature groups; queries may only read {', '.join(GROUPS)}."
    assert not target.exists() and not (tmp_path / "exported").exists()


@pytest.mark.parametrize("sql", ["SET enable_external_access = true", "RESET enable_external_access",
                                 "SET lock_configuration = false", "PRAGMA enable_external_access=true"])
def test_settings_cannot_be_turned_back(store: LocalFeatureStore, sql: str) -> None:
    with pytest.raises(TweetgenError, match=r"^The query tried to change a setting; queries may only read the feature groups\.$"):
        run_query(store, sql)


def test_the_groups_are_still_queryable(store: LocalFeatureStore) -> None:
    assert run_query(store, "SELECT count(*) AS n FROM tweets").to_dict("records") == [{"n": 3}]


def test_the_cli_refuses_in_one_sentence_and_writes_nothing(store: LocalFeatureStore, tmp_path: Path) -> None:
    target = tmp_path / "overwritten.txt"
    target.write_text("keep me")
    result = run_cli(["query", f"COPY (SELECT 'x') TO '{target}'"], tmp_path / "data")
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: The query tried to reach outside the feature groups; queries may only read {', '.join(GROUPS)}."
    assert target.read_text() == "keep me"
    secret = run_cli(["query", f"SELECT content FROM read_text('{OUTSIDE}')"], tmp_path / "data")
    assert secret.returncode == 1 and Path(OUTSIDE).read_text().strip() not in secret.stdout + secret.stderr


def test_control_characters_in_a_tweet_are_escaped_in_the_table(store: LocalFeatureStore) -> None:
    hostile = "title\x1b]0;owned\x07 bell\x07 csi\x1b[2J c1\x9b31m rtl\u202eevil"
    store.insert(TWEETS, tweets_frame([99], text=[hostile]))
    result = run_query(store, 'SELECT text, text AS "col\x1b[31m" FROM tweets WHERE tweet_id = 99')
    table = format_result(result, "table")
    assert not any(ch in table for ch in "\x1b\x07\x9b\u202e")
    assert "title\\x1b]0;owned\\x07 bell" in table and "col\\x1b[31m" in table
    assert "\\u202e" in format_result(run_query(store, "SELECT substr(text, 40) AS t FROM tweets WHERE tweet_id = 99"), "table")
    assert "\\x1b" not in format_result(result, "json") and "\\u001b" in format_result(result, "json")  # JSON escapes by itself


def test_an_error_message_quoting_a_tweet_is_escaped(store: LocalFeatureStore) -> None:
    store.insert(TWEETS, tweets_frame([98], text=["\x1b]0;x\x07"]))
    with pytest.raises(TweetgenError) as caught:
        run_query(store, "SELECT CAST(text AS INTEGER) FROM tweets WHERE tweet_id = 98")
    assert "\x1b" not in str(caught.value) and "\x07" not in str(caught.value)


def test_a_query_past_its_time_is_stopped_with_one_sentence(store: LocalFeatureStore) -> None:
    started = time.monotonic()
    with pytest.raises(TweetgenError) as caught:
        run_query(store, "SELECT count(*) FROM range(1000000000000)", timeout_s=1.0)
    assert str(caught.value) == (
        "The query ran longer than 1 s and was stopped; narrow it (a WHERE, a LIMIT), or raise TWEETGEN_QUERY_TIMEOUT_S."
    )
    assert time.monotonic() - started < 30  # stopped, not run to the end (hours)
    assert run_query(store, "SELECT count(*) AS n FROM range(1000)", timeout_s=1.0).to_dict("records") == [{"n": 1000}]


@pytest.mark.parametrize(
    "sql",
    ["SELECT count(DISTINCT range) AS n FROM range(20000000)",  # DuckDB's own hash table
     "SELECT range::VARCHAR || 'padding the result' AS s FROM range(3000000)"],  # the result fetched into Python
    ids=["in-duckdb", "in-the-result"],
)
def test_a_query_past_its_memory_is_stopped_with_one_sentence(store: LocalFeatureStore, sql: str) -> None:
    with pytest.raises(TweetgenError) as caught:
        run_query(store, sql, memory_mb=64)
    assert str(caught.value) == (
        "The query needed more than 64 MB of memory and was stopped; narrow it (fewer columns or rows, a LIMIT), "
        "or raise TWEETGEN_QUERY_MEMORY_MB."
    )
    smaller = sql.replace("20000000", "1000").replace("3000000", "1000")
    assert len(run_query(store, smaller, memory_mb=64)) in (1, 1000)  # the same query, smaller, fits


def test_the_command_takes_its_bounds_from_the_settings(tmp_path: Path) -> None:
    result = run_cli(["query", "SELECT count(*) FROM range(1000000000000)"], tmp_path / "data", TWEETGEN_QUERY_TIMEOUT_S="1.5")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: The query ran longer than 1.5 s and was stopped; narrow it (a WHERE, a LIMIT), " \
                                    "or raise TWEETGEN_QUERY_TIMEOUT_S."
    bad = run_cli(["query", "SELECT 1"], tmp_path / "data", TWEETGEN_QUERY_MEMORY_MB="0")
    assert bad.returncode != 0
    assert "TWEETGEN_QUERY_MEMORY_MB is '0'; set it to a positive number of megabytes, e.g. 1024." in bad.stderr
