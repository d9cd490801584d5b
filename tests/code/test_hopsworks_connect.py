"""Logging in to Hopsworks: never a prompt, never a hang, never the key in a message."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes.frames import tweets_frame
from tests.fakes.hopsworks_fake import FakeHopsworks, fake_hopsworks_fixture  # noqa: F401 - the fake_hopsworks fixture
from tweetgen.clients.hopsworks import connect_hopsworks
from tweetgen.errors import ConfigError, StoreError
from tweetgen.schema import TWEETS
from tweetgen.store.hopsworks import HopsworksFeatureStore

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("key", [None, "", "  \n"])
def test_missing_key_is_a_config_error_raised_before_login(fake_hopsworks: FakeHopsworks, key: str | None) -> None:
    with pytest.raises(ConfigError, match="^HOPSWORKS_API_KEY is not set: ") as caught:
        connect_hopsworks(fake_hopsworks.settings(hopsworks_api_key=key))
    assert "API keys" in str(caught.value)
    assert fake_hopsworks.login_calls == []


def test_missing_key_does_not_even_import_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hopsworks", None)  # importing it would raise ImportError
    with pytest.raises(ConfigError, match="HOPSWORKS_API_KEY"):
        connect_hopsworks(FakeHopsworks().settings(hopsworks_api_key=None))


@pytest.mark.parametrize("project", [None, " "])
def test_missing_project_is_a_config_error_raised_before_login(
    fake_hopsworks: FakeHopsworks, project: str | None
) -> None:
    with pytest.raises(ConfigError, match="^HOPSWORKS_PROJECT is not set: "):
        connect_hopsworks(fake_hopsworks.settings(hopsworks_project=project))
    assert fake_hopsworks.login_calls == []


def test_login_passes_the_python_engine_host_project_and_the_stripped_key(fake_hopsworks: FakeHopsworks) -> None:
    settings = fake_hopsworks.settings(
        hopsworks_api_key=f"  {fake_hopsworks.api_key}\n", hopsworks_host="c.app.hopsworks.ai"
    )
    project = connect_hopsworks(settings)
    assert project.name == "tweetgen_test"
    assert fake_hopsworks.login_calls == [
        {
            "host": "c.app.hopsworks.ai",
            "port": 443,
            "project": "tweetgen_test",
            "api_key_value": fake_hopsworks.api_key,
            "engine": "python",
        }
    ]


def test_hanging_login_gives_up_within_the_bound(fake_hopsworks: FakeHopsworks) -> None:
    fake_hopsworks.hang_login = True
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        connect_hopsworks(fake_hopsworks.settings(hopsworks_timeout_s=0.5))
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 2.0
    message = str(caught.value)
    assert "eu-west.cloud.hopsworks.ai" in message and "0.5 s" in message and "HOPSWORKS_TIMEOUT" in message
    assert fake_hopsworks.api_key not in message
    assert len(fake_hopsworks.login_calls) == 1


def test_a_hung_login_does_not_keep_the_process_alive() -> None:
    code = (
        "import sys, time\n"
        "from tests.fakes.hopsworks_fake import FakeHopsworks\n"
        "fake = FakeHopsworks(hang_login=True)\n"
        "sys.modules['hopsworks'] = fake.module()\n"
        "from tweetgen.clients.hopsworks import connect_hopsworks\n"
        "from tweetgen.errors import StoreError\n"
        "try:\n"
        "    connect_hopsworks(fake.settings(hopsworks_timeout_s=0.2))\n"
        "except StoreError as e:\n"
        "    print('gave up:', e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("gave up: Logging in to Hopsworks")


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(lambda fake: setattr(fake, "api_key", "another-key"), id="wrong-key-401"),
        pytest.param(lambda fake: setattr(fake, "projects", ("other", "more")), id="unknown-project"),
        pytest.param(
            lambda fake: setattr(fake, "login_error", ValueError(f"Invalid header value b'ApiKey {fake.api_key}\\n'")),
            id="sdk-error-quoting-the-key",
        ),
    ],
)
def test_login_failures_are_one_sentence_without_the_key(fake_hopsworks: FakeHopsworks, setup) -> None:
    settings = fake_hopsworks.settings()
    key = settings.hopsworks_api_key
    setup(fake_hopsworks)
    with pytest.raises(StoreError) as caught:
        connect_hopsworks(settings)
    message = str(caught.value)
    assert key not in message
    assert "\n" not in message and message.startswith("Could not log in to Hopsworks project 'tweetgen_test'")
    assert "HOPSWORKS_API_KEY" in message
    # The SDK's exception is not chained: a traceback printed anyway would not show it.
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_sdk_refusal_during_a_write_is_a_store_error(fake_hopsworks: FakeHopsworks) -> None:
    store = HopsworksFeatureStore.from_settings(fake_hopsworks.settings())
    group = store.project.get_feature_store().get_or_create_feature_group("tweets", version=1, primary_key=["tweet_id"])
    group.insert(pd.DataFrame({"tweet_id": [1], "note": ["created by someone else"]}))
    with pytest.raises(StoreError, match="'tweets' v1 in Hopsworks project 'tweetgen_test' has other features"):
        store.insert(TWEETS, tweets_frame([2]))
    with pytest.raises(StoreError, match="has other features"):
        store.read(TWEETS)
    assert fake_hopsworks.stored_rows("tweets")["tweet_id"].tolist() == [1]


def test_sdk_exceptions_become_store_errors_with_the_action(fake_hopsworks: FakeHopsworks, monkeypatch) -> None:
    store = HopsworksFeatureStore.from_settings(fake_hopsworks.settings())
    store.insert(TWEETS, tweets_frame([1]))
    exceptions = sys.modules["hopsworks"].client.exceptions

    def refuse(*args, **kwargs):
        raise exceptions.RestAPIError("/featuregroups/tweets", 403, "Forbidden", "No permission to read")

    monkeypatch.setattr(store._store(), "get_feature_group", refuse)
    with pytest.raises(StoreError) as caught:
        store.exists(TWEETS)
    assert str(caught.value).startswith(
        "Hopsworks could not look up feature group 'tweets' in Hopsworks project 'tweetgen_test' "
        "(RestAPIError: HTTP 403: No permission to read)"
    )


def test_writes_wait_for_the_materialization_job(fake_hopsworks: FakeHopsworks) -> None:
    store = HopsworksFeatureStore.from_settings(fake_hopsworks.settings())
    store.insert(TWEETS, tweets_frame([1, 2]))
    store.insert(TWEETS, tweets_frame([2, 3]))
    assert [(c["rows"], c["write_options"]) for c in fake_hopsworks.insert_calls] == [
        (2, {"wait_for_job": True}),
        (1, {"wait_for_job": True}),
    ]
    assert fake_hopsworks.stored_rows("tweets")["tweet_id"].tolist() == [1, 2, 3]


def test_importing_the_adapter_does_not_import_the_sdk() -> None:
    code = "import sys, tweetgen.store.hopsworks; print('hopsworks' in sys.modules, 'hsfs' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False", "False"], result.stderr


def test_the_backend_factory_opens_the_hopsworks_store(fake_hopsworks: FakeHopsworks) -> None:
    from tweetgen.store.factory import open_feature_store

    store = open_feature_store(fake_hopsworks.settings())
    assert isinstance(store, HopsworksFeatureStore) and store.where == "Hopsworks project 'tweetgen_test'"
    assert [call["engine"] for call in fake_hopsworks.login_calls] == ["python"]


def test_a_group_with_another_primary_key_is_refused(fake_hopsworks: FakeHopsworks) -> None:
    store = HopsworksFeatureStore.from_settings(fake_hopsworks.settings())
    fs = store.project.get_feature_store()
    fs.get_or_create_feature_group("tweets", version=1, primary_key=["username"]).insert(tweets_frame([1]))
    with pytest.raises(StoreError, match="primary key username"):
        store.insert(TWEETS, tweets_frame([2]))
    assert fake_hopsworks.stored_rows("tweets")["tweet_id"].tolist() == [1]
