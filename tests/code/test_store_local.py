"""Local Delta Lake store: what the contract suite does not cover (concurrency, snapshots, files)."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from tests.code.test_validation import tweets_frame
from tweetgen.errors import StoreError
from tweetgen.schema import TWEETS
from tweetgen.store.local import GROUP_FILE, LocalFeatureStore
from tweetgen.store.port import GroupNotFoundError


def test_table_is_delta_with_a_group_record(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path)
    store.insert(TWEETS, tweets_frame(3))
    path = tmp_path / "tweets_1"
    assert DeltaTable.is_deltatable(str(path))
    record = json.loads((path / GROUP_FILE).read_text())
    assert record["primary_key"] == ["tweet_id"] and record["event_time"] == "created_at" and record["version"] == 1


def test_duckdb_reads_the_table_through_arrow(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path)
    store.insert(TWEETS, tweets_frame(5))
    dataset = store.scan(TWEETS)  # noqa: F841 (read by DuckDB by name)
    assert duckdb.sql("SELECT count(*), min(tweet_id) FROM dataset").fetchall() == [(5, 100)]


def test_a_reader_keeps_its_snapshot_while_a_writer_commits(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path)
    store.insert(TWEETS, tweets_frame(3))
    snapshot = DeltaTable(str(store.path(TWEETS)))
    more = tweets_frame(6)
    store.insert(TWEETS, more)
    assert snapshot.to_pyarrow_table().num_rows == 3  # the old snapshot is unchanged
    assert store.read(TWEETS).shape[0] == 6
    assert store.table_version(TWEETS) == 2  # version 0 creates the table, 1 and 2 are the two merges


def test_concurrent_writers_neither_lose_nor_duplicate(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path)
    frames = []
    for start in range(0, 40, 10):  # four overlapping batches: ids 100..139 and overlaps
        frame = tweets_frame(15)
        frame["tweet_id"] = frame["tweet_id"] + start
        frames.append(frame)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda f: store.insert(TWEETS, f), frames))
    ids = store.read(TWEETS, columns=["tweet_id"])["tweet_id"]
    assert ids.is_unique
    assert sorted(ids) == list(range(100, 145))
    assert sum(r.inserted for r in results) == 45


def test_a_table_with_another_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tweets_1"
    write_deltalake(str(path), pa.table({"tweet_id": pa.array([1], pa.int64())}))
    with pytest.raises(StoreError, match="another schema than the contract"):
        LocalFeatureStore(tmp_path).insert(TWEETS, tweets_frame(2))
    assert DeltaTable(str(path)).to_pyarrow_table().num_rows == 1


def test_commits_list_each_write_with_the_rows_it_added_and_read_version_travels_back(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path)
    with pytest.raises(GroupNotFoundError):
        store.commits(TWEETS)
    frame = tweets_frame(5)
    store.insert(TWEETS, frame.iloc[:3])
    store.insert(TWEETS, frame.iloc[:3])  # nothing new: no commit
    store.insert(TWEETS, frame.iloc[2:])
    history = store.commits(TWEETS)
    assert history["version"].tolist() == [0, 1, 2] == list(range(store.table_version(TWEETS) + 1))
    assert history["operation"].tolist() == ["WRITE", "MERGE", "MERGE"]
    assert history["rows_added"].tolist()[1:] == [3, 2]
    assert str(history["timestamp"].dt.tz) == "UTC"
    assert [len(store.read_version(TWEETS, v)) for v in (0, 1, 2)] == [0, 3, 5]
