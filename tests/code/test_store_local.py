"""Local Delta Lake store: what the contract suite does not cover (concurrency, snapshots, files)."""

import json
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from tests.code.test_validation import tweets_frame
from tests.reliability.processes import in_threads_together, spans_overlap
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
    frames = []
    for start in range(0, 40, 10):  # four overlapping batches: ids 100..139 and overlaps
        frame = tweets_frame(15)
        frame["tweet_id"] = frame["tweet_id"] + start
        frames.append(frame)
    for attempt in range(3):  # retry until the four writes really overlapped
        store = LocalFeatureStore(tmp_path / f"store-{attempt}")
        results, spans = in_threads_together([lambda f=f, store=store: store.insert(TWEETS, f) for f in frames])
        ids = store.read(TWEETS, columns=["tweet_id"])["tweet_id"]
        assert ids.is_unique
        assert sorted(ids) == list(range(100, 145))
        assert sum(r.inserted for r in results) == 45
        if spans_overlap(spans):
            break
    assert spans_overlap(spans), f"the writes ran one after another in every attempt: {spans}"


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


def test_a_link_where_the_table_belongs_is_refused_and_named(tmp_path: Path) -> None:
    from tweetgen.files import LinkRefusedError

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "tweets_1").symlink_to(elsewhere)
    with pytest.raises(LinkRefusedError, match=r"tweets_1 is a symbolic link where the Delta table of 'tweets' v1 belongs"):
        LocalFeatureStore(tmp_path / "store").insert(TWEETS, tweets_frame(3))
    assert list(elsewhere.iterdir()) == []


def test_the_merge_reads_only_the_key_range_of_the_new_rows() -> None:
    from tweetgen.schema import GroupSpec
    from tweetgen.store.local import _key_ranges

    assert _key_ranges(TWEETS, pa.table({"tweet_id": pa.array([105, 100, 102], pa.int64())})) == [
        "t.tweet_id >= 100", "t.tweet_id <= 105"]
    assert _key_ranges(TWEETS, pa.table({"tweet_id": pa.array([7, None], pa.int64())})) == []  # a null key: no range
    two = GroupSpec("g", 1, ("a", "name", "b"), "t", pa.schema(
        [("a", pa.int64()), ("name", pa.string()), ("b", pa.int32()), ("t", pa.timestamp("us", "UTC"))]), "two integer keys")
    rows = pa.table({"a": [3, 1], "name": ["x", "y"], "b": pa.array([-5, 9], pa.int32())})
    assert _key_ranges(two, rows) == ["t.a >= 1", "t.a <= 3", "t.b >= -5", "t.b <= 9"]  # every integer key, none other


class Conflicting:
    """A Delta table whose next ``race["left"]`` merges lose the commit race, then commit for real
    (deltalake raises ``CommitFailedError`` when another writer committed first)."""

    def __init__(self, table: DeltaTable, race: dict[str, int]) -> None:
        self.table, self.race = table, race

    def __getattr__(self, name: str):
        return getattr(self.table, name)  # everything else as the table itself

    def merge(self, *args, **kwargs):
        from deltalake.exceptions import CommitFailedError

        merger = self.table.merge(*args, **kwargs)
        if self.race["left"] > 0:
            self.race["left"] -= 1

            def lose():
                raise CommitFailedError("a concurrent transaction committed first")

            merger.execute = lose
        return merger


@pytest.mark.parametrize("conflicts", [0, 1, 7, 8])
def test_a_lost_commit_race_is_merged_again_after_a_doubling_pause_up_to_the_retries(tmp_path: Path, monkeypatch, conflicts: int) -> None:
    import tweetgen.store.local as local

    store = LocalFeatureStore(tmp_path)
    store.insert(TWEETS, tweets_frame(3))
    opened, race, paused = store._table, {"left": conflicts}, []
    monkeypatch.setattr(store, "_table", lambda spec, version=None: Conflicting(opened(spec, version), race))
    monkeypatch.setattr(local.time, "sleep", paused.append)
    if conflicts < local.COMMIT_RETRIES:
        assert store.insert(TWEETS, tweets_frame(5)).inserted == 2
        assert paused == [0.05 * 2**attempt for attempt in range(conflicts)]
    else:
        with pytest.raises(StoreError, match=rf"^Could not write 'tweets' in {re.escape(str(tmp_path))}: other writers kept conflicting; try again\.$"):
            store.insert(TWEETS, tweets_frame(5))
        assert paused == [0.05 * 2**attempt for attempt in range(local.COMMIT_RETRIES)]
        assert len(opened(TWEETS).to_pandas()) == 3  # nothing half written
