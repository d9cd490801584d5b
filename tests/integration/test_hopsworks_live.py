"""Opt-in: the Hopsworks adapter against a real project.

Runs only with ``TWEETGEN_LIVE_TESTS=1`` (tests/conftest.py removes credentials otherwise) and
``HOPSWORKS_API_KEY`` and ``HOPSWORKS_PROJECT`` set. It writes a few rows to a new group named
``tweetgen_test_<random>`` (version 1), reads them back, and deletes the group. Each insert waits
for a Hopsworks materialization job, so expect a few minutes.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator

import pandas as pd
import pytest

from tests.fakes.frames import as_contract, sort_by_key, tweets_frame
from tweetgen.config import Settings
from tweetgen.schema import TWEETS, GroupSpec
from tweetgen.store.hopsworks import HopsworksFeatureStore
from tweetgen.store.port import WriteResult

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]


@pytest.fixture
def live_store() -> HopsworksFeatureStore:
    settings = Settings.load(dotenv=None)
    if not (settings.hopsworks_api_key and settings.hopsworks_project):
        pytest.skip("set TWEETGEN_LIVE_TESTS=1, HOPSWORKS_API_KEY and HOPSWORKS_PROJECT to run live Hopsworks tests")
    return HopsworksFeatureStore.from_settings(settings)


@pytest.fixture
def live_group(live_store: HopsworksFeatureStore) -> Iterator[GroupSpec]:
    spec = dataclasses.replace(
        TWEETS,
        name=f"tweetgen_test_{secrets.token_hex(4)}",
        version=1,
        description="Created by tweetgen's live test; safe to delete.",
        filled_by="pytest tests/integration",
    )
    yield spec
    group = live_store.project.get_feature_store().get_feature_group(spec.name, version=spec.version)
    if group is not None:
        group.delete()


def test_write_read_and_merge_on_a_real_project(live_store: HopsworksFeatureStore, live_group: GroupSpec) -> None:
    spec = live_group
    assert not live_store.exists(spec)
    big = [1_900_000_000_000_000_001, 1_900_000_000_000_000_002]  # near the int64 limit, like X ids
    written = tweets_frame([*big, 3])
    assert live_store.insert(spec, written) == WriteResult(inserted=3, already_present=0)
    assert live_store.exists(spec)

    stored = live_store.read(spec)
    assert list(stored.columns) == spec.columns
    pd.testing.assert_frame_equal(sort_by_key(spec, stored), as_contract(spec, written))

    again = tweets_frame([3, 4])
    assert live_store.insert(spec, again) == WriteResult(inserted=1, already_present=1)
    assert sorted(live_store.read(spec, columns=["tweet_id"])["tweet_id"]) == [3, 4, *big]
