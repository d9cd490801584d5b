"""The feature-store contract (tweetgen/store/port.py), run against every backend.

``local`` is the real Delta Lake store on tmp_path; ``hopsworks`` is the Hopsworks adapter running
the real ``hopsworks`` SDK against the wire twin (``tests.twin``): its groups are written through
Kafka and the materialization job, which merges on primary key *and* event time like Hopsworks,
so an adapter that relied on the SDK to merge on the key alone would fail here.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pyarrow as pa
import pytest

from tests.fakes.frames import TEXTS, as_contract, sort_by_key, tweets_frame
from tests.twin.fixtures import hopsworks_twin_fixture  # noqa: F401 - the hopsworks_twin fixture
from tweetgen.config import Settings
from tweetgen.errors import ValidationError
from tweetgen.schema import TWEETS, UTC_TIMESTAMP, GroupSpec
from tweetgen.store.hopsworks import HopsworksFeatureStore
from tweetgen.store.local import LocalFeatureStore
from tweetgen.store.port import FeatureStore, GroupNotFoundError, WriteResult

# A second contract with a composite key, so that key handling is not tested on one column only.
READINGS = GroupSpec(
    name="readings",
    version=2,
    primary_key=("station", "seq"),
    event_time="measured_at",
    schema=pa.schema(
        [("station", pa.string()), ("seq", pa.int64()), ("measured_at", UTC_TIMESTAMP), ("value", pa.float64())]
    ),
    description="Test group with a composite key.",
    filled_by="make readings",
)


pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@pytest.fixture(params=["local", "hopsworks"])
def store(request: pytest.FixtureRequest, tmp_path) -> FeatureStore:
    if request.param == "local":
        return LocalFeatureStore(tmp_path / "feature_store")
    request.getfixturevalue("hopsworks_twin")  # sets HOPSWORKS_* to reach it
    return HopsworksFeatureStore.from_settings(Settings.load(dotenv=None))


def readings(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "station": [r[0] for r in rows],
            "seq": pd.Series([r[1] for r in rows], dtype="int64"),
            "measured_at": pd.Series(
                [pd.Timestamp("2024-05-01", tz="UTC") + pd.Timedelta(hours=r[1]) for r in rows],
                dtype="datetime64[us, UTC]",
            ),
            "value": [r[2] for r in rows],
        }
    )


def read_ids(store: FeatureStore) -> list[int]:
    return sorted(store.read(TWEETS)["tweet_id"].tolist())


def test_insert_new_rows_counts_them(store: FeatureStore) -> None:
    assert store.insert(TWEETS, tweets_frame([1, 2, 3])) == WriteResult(inserted=3, already_present=0)
    assert read_ids(store) == [1, 2, 3]


def test_inserting_the_same_rows_again_adds_nothing(store: FeatureStore) -> None:
    store.insert(TWEETS, tweets_frame([1, 2, 3]))
    assert store.insert(TWEETS, tweets_frame([1, 2, 3])) == WriteResult(inserted=0, already_present=3)
    assert read_ids(store) == [1, 2, 3]


def test_overlapping_batch_inserts_only_new_keys(store: FeatureStore) -> None:
    store.insert(TWEETS, tweets_frame([1, 2, 3]))
    assert store.insert(TWEETS, tweets_frame([2, 3, 4, 5])) == WriteResult(inserted=2, already_present=2)
    assert read_ids(store) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("same_event_time", [True, False], ids=["same-created_at", "other-created_at"])
def test_first_write_wins_for_a_known_key(store: FeatureStore, same_event_time: bool) -> None:
    store.insert(TWEETS, tweets_frame([7], text="first version"))
    later = tweets_frame([7], text="second version")
    if not same_event_time:
        later["created_at"] = later["created_at"] + pd.Timedelta(days=1)
    assert store.insert(TWEETS, later) == WriteResult(inserted=0, already_present=1)
    stored = store.read(TWEETS)
    assert stored["text"].tolist() == ["first version"]
    assert stored["created_at"].tolist() == tweets_frame([7])["created_at"].tolist()


def test_empty_frame_writes_nothing(store: FeatureStore) -> None:
    assert store.insert(TWEETS, tweets_frame([])) == WriteResult(inserted=0, already_present=0)
    assert not store.exists(TWEETS)


def test_duplicate_key_in_one_frame_is_refused_and_nothing_written(store: FeatureStore) -> None:
    with pytest.raises(ValidationError, match="appears more than once"):
        store.insert(TWEETS, tweets_frame([1, 2, 1]))
    assert not store.exists(TWEETS)
    store.insert(TWEETS, tweets_frame([5]))
    with pytest.raises(ValidationError, match="appears more than once"):
        store.insert(TWEETS, tweets_frame([6, 6]))
    assert read_ids(store) == [5]


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda f: f.drop(columns=["lang"]), id="missing-column"),
        pytest.param(lambda f: f.assign(extra=1), id="extra-column"),
        pytest.param(lambda f: f.assign(likes=["many"] * len(f)), id="wrong-type"),
        pytest.param(lambda f: f.assign(created_at=f["created_at"].dt.tz_localize(None)), id="naive-timestamp"),
        pytest.param(lambda f: f.assign(ingested_at=f["ingested_at"].dt.tz_convert("Europe/Paris")), id="non-utc"),
        pytest.param(lambda f: f.assign(source="scraped"), id="bad-source"),
    ],
)
def test_frame_breaking_the_contract_is_refused_and_nothing_written(store: FeatureStore, breakage) -> None:
    with pytest.raises(ValidationError):
        store.insert(TWEETS, breakage(tweets_frame([1, 2])))
    assert not store.exists(TWEETS)
    store.insert(TWEETS, tweets_frame([3]))
    with pytest.raises(ValidationError):
        store.insert(TWEETS, breakage(tweets_frame([4])))
    assert read_ids(store) == [3]


def test_read_returns_the_values_written(store: FeatureStore) -> None:
    # ids near the int64 limit (X ids are ~1.9e18) and texts with emoji, accents, CJK, newlines.
    ids = [1_900_000_000_000_000_001 + i for i in range(len(TEXTS))]
    written = tweets_frame(ids, text=list(TEXTS))
    written["created_at"] = pd.Series(
        [
            pd.Timestamp("2010-06-04 18:26:12.123456", tz="UTC"),
            pd.Timestamp("2021-12-31 23:59:59", tz="UTC"),
            pd.Timestamp("2022-03-27 01:30:00", tz="UTC"),
            pd.Timestamp("2026-01-01", tz="UTC"),
        ],
        dtype="datetime64[us, UTC]",
    )
    store.insert(TWEETS, written)
    stored = store.read(TWEETS)
    assert list(stored.columns) == TWEETS.columns
    assert str(stored["created_at"].dt.tz) == "UTC"
    pd.testing.assert_frame_equal(sort_by_key(TWEETS, stored), as_contract(TWEETS, written))
    assert sorted(stored["text"]) == sorted(TEXTS)


def test_read_a_subset_of_columns(store: FeatureStore) -> None:
    store.insert(TWEETS, tweets_frame([2, 1]))
    stored = store.read(TWEETS, columns=["tweet_id", "created_at"])
    assert list(stored.columns) == ["tweet_id", "created_at"]
    expected = as_contract(TWEETS, tweets_frame([1, 2]))[["tweet_id", "created_at"]]
    pd.testing.assert_frame_equal(stored.sort_values("tweet_id").reset_index(drop=True), expected)


def test_read_of_a_missing_group_names_the_command_that_fills_it(store: FeatureStore) -> None:
    with pytest.raises(GroupNotFoundError, match="python feature_engineering.py") as caught:
        store.read(TWEETS)
    assert "'tweets' (version 1)" in str(caught.value)


def test_exists_only_after_the_first_write(store: FeatureStore) -> None:
    assert not store.exists(TWEETS)
    store.insert(TWEETS, tweets_frame([1]))
    assert store.exists(TWEETS)
    assert not store.exists(READINGS)


def test_versions_are_separate_groups(store: FeatureStore) -> None:
    v2 = dataclasses.replace(TWEETS, version=2)
    store.insert(TWEETS, tweets_frame([1, 2]))
    assert store.insert(v2, tweets_frame([2, 3])) == WriteResult(inserted=2, already_present=0)
    assert read_ids(store) == [1, 2]
    assert sorted(store.read(v2)["tweet_id"]) == [2, 3]


def test_composite_key_merges_on_all_key_columns(store: FeatureStore) -> None:
    store.insert(READINGS, readings([("north", 1, 0.5), ("south", 1, 1.5)]))
    result = store.insert(READINGS, readings([("north", 1, 9.9), ("north", 2, 2.5), ("south", 2, 3.5)]))
    assert result == WriteResult(inserted=2, already_present=1)
    stored = sort_by_key(READINGS, store.read(READINGS))
    expected = as_contract(
        READINGS, readings([("north", 1, 0.5), ("north", 2, 2.5), ("south", 1, 1.5), ("south", 2, 3.5)])
    )
    pd.testing.assert_frame_equal(stored, expected)
    with pytest.raises(GroupNotFoundError, match="make readings"):
        store.read(dataclasses.replace(READINGS, version=3))


def test_training_data_is_read_through_a_versioned_source(store) -> None:
    """Both backends return the training columns and name the data version they read."""
    store.insert(TWEETS, tweets_frame([1, 2, 3]))
    frame, version = store.read_training_data(TWEETS, ["tweet_id", "created_at", "clean_text"])
    assert sorted(frame["tweet_id"]) == [1, 2, 3]
    assert list(frame.columns) == ["tweet_id", "created_at", "clean_text"]
    assert str(frame["created_at"].dtype) == "datetime64[us, UTC]"
    store.insert(TWEETS, tweets_frame([4]))
    _, newer = store.read_training_data(TWEETS, ["tweet_id", "created_at", "clean_text"])
    assert version != newer  # a new Delta version / a new training dataset version
