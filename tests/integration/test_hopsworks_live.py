"""Opt-in: the Hopsworks feature store adapter against a real project, as the pipelines use it.

Runs only with ``TWEETGEN_LIVE_TESTS=1`` (tests/conftest.py removes credentials otherwise) and
``HOPSWORKS_API_KEY`` and ``HOPSWORKS_PROJECT`` set. It writes both groups with their real
contracts and descriptions, under names with a random suffix (``tweets_<hex>``,
``generated_tweets_<hex>``, version 1), reads them back, reads training data through a feature
view, runs the doctor, and deletes every group and view it made, even when a test fails. Each
write waits for a Hopsworks materialization job (a Spark job), so expect several minutes.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator

import pandas as pd
import pytest

from tests.fakes.frames import TEXTS, as_contract, sort_by_key, tweets_frame
from tests.fakes.monitor_rows import monitor_frame
from tweetgen.config import Settings
from tweetgen.pipelines.doctor import FAIL, run_doctor
from tweetgen.schema import GENERATED_TWEETS, TWEETS, GroupSpec
from tweetgen.store.hopsworks import HopsworksFeatureStore, feature_view_name
from tweetgen.store.port import WriteResult

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def live_settings() -> Settings:
    settings = Settings.load(dotenv=None)
    if not (settings.hopsworks_api_key and settings.hopsworks_project):
        pytest.skip("set TWEETGEN_LIVE_TESTS=1, HOPSWORKS_API_KEY and HOPSWORKS_PROJECT to run live Hopsworks tests")
    return settings


@pytest.fixture(scope="module")
def live_store(live_settings: Settings) -> HopsworksFeatureStore:
    return HopsworksFeatureStore.from_settings(live_settings)


@pytest.fixture
def live_groups(live_store: HopsworksFeatureStore) -> Iterator[tuple[GroupSpec, GroupSpec]]:
    """The two contracts under fresh names, deleted afterwards with their feature views."""
    suffix = secrets.token_hex(4)
    specs = tuple(dataclasses.replace(spec, name=f"{spec.name}_{suffix}", filled_by="pytest tests/integration") for spec in (TWEETS, GENERATED_TWEETS))
    yield specs  # type: ignore[misc]
    for spec in specs:
        live_store.drop(spec)


def test_both_groups_are_written_merged_and_read_back(live_store: HopsworksFeatureStore, live_groups) -> None:
    tweets, generated = live_groups
    assert not live_store.exists(tweets)
    big = [1_900_000_000_000_000_001 + i for i in range(len(TEXTS))]  # near the int64 limit, like X ids
    written = tweets_frame(big, text=list(TEXTS))  # emoji, accents, CJK, newlines
    assert live_store.insert(tweets, written) == WriteResult(inserted=len(TEXTS), already_present=0)
    assert live_store.check_group(tweets)  # a stream group with the contract's features

    stored = live_store.read(tweets)
    assert list(stored.columns) == tweets.columns
    pd.testing.assert_frame_equal(sort_by_key(tweets, stored), as_contract(tweets, written))

    again = tweets_frame([big[0], 3])
    assert live_store.insert(tweets, again) == WriteResult(inserted=1, already_present=1)
    assert sorted(live_store.read(tweets, columns=["tweet_id"])["tweet_id"]) == [3, *big]

    runs = monitor_frame(n_runs=2, arms=("champion", "challenger"))
    assert live_store.insert(generated, runs) == WriteResult(inserted=4, already_present=0)
    assert live_store.insert(generated, runs) == WriteResult(inserted=0, already_present=4)
    monitor = live_store.read(generated)
    assert len(monitor) == 4 and list(monitor.columns) == generated.columns
    group = live_store.project.get_feature_store().get_feature_group(generated.name, version=1)
    assert group.description == GENERATED_TWEETS.description and group.stream


def test_training_data_comes_through_a_feature_view(live_store: HopsworksFeatureStore, live_groups) -> None:
    tweets, _ = live_groups
    live_store.insert(tweets, tweets_frame([1, 2, 3]))
    columns = ["tweet_id", "created_at", "clean_text"]
    frame, version = live_store.read_training_data(tweets, columns)
    assert sorted(frame["tweet_id"]) == [1, 2, 3] and list(frame.columns) == columns
    assert version.startswith(f"feature view {feature_view_name(tweets)} v1, training dataset v1")
    _, newer = live_store.read_training_data(tweets, columns)
    assert "training dataset v2" in newer


def test_the_doctor_finds_nothing_to_fix(live_settings: Settings) -> None:
    lines: list[str] = []
    report = run_doctor(live_settings, echo=lines.append)
    assert [r for r in report.results if r.status == FAIL] == [], "\n".join(lines)
