"""The Hopsworks feature store adapter against the real SDK and the wire twin (``tests.twin``):
login (never a prompt, never a hang, never the key in a message), the write path, and every
failure a user can meet ending in one sentence."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes.frames import tweets_frame
from tests.twin.fixtures import (  # noqa: F401 - the hopsworks_twin* and twin_project fixtures
    hopsworks_twin_fixture,
    hopsworks_twin_without_query_service_fixture,
    twin_project_fixture,
)
from tests.twin.server import HopsworksTwin
from tweetgen.clients.hopsworks import connect_hopsworks
from tweetgen.config import Settings
from tweetgen.errors import ConfigError, StoreError
from tweetgen.schema import TWEETS
from tweetgen.store.hopsworks import HopsworksFeatureStore
from tweetgen.store.port import WriteResult

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

REPO = Path(__file__).resolve().parents[2]
LOGIN = r"^variables/versions$"  # the SDK's first call
# A stalled route holds its request far longer than the 0.5 s bound under test; a call must give up
# well before the stall ends (20 times the bound: loose enough for a busy machine, still tight enough).
STALL_S = 30.0
WITHIN_BOUND_S = 10.0


def settings(**changes: object) -> Settings:
    """The settings a user of the twin has (``hopsworks_twin`` put them in the environment)."""
    return dataclasses.replace(Settings.load(dotenv=None), **changes)  # type: ignore[arg-type]


def store(**changes: object) -> HopsworksFeatureStore:
    return HopsworksFeatureStore.from_settings(settings(**changes))


def offline_ids(twin: HopsworksTwin, name: str = "tweets") -> list[int]:
    [group] = twin.backend.feature_store.find(name, 1)
    return sorted(row["tweet_id"] for row in group.offline)


# ---- login -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "  \n"])
def test_missing_key_is_a_config_error_raised_before_login(hopsworks_twin: HopsworksTwin, key: str | None) -> None:
    with pytest.raises(ConfigError, match="^HOPSWORKS_API_KEY is not set: ") as caught:
        connect_hopsworks(settings(hopsworks_api_key=key))
    assert "API keys" in str(caught.value)
    assert hopsworks_twin.http.log == []


def test_missing_key_does_not_even_import_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hopsworks", None)  # importing it would raise ImportError
    with pytest.raises(ConfigError, match="HOPSWORKS_API_KEY"):
        connect_hopsworks(Settings(hopsworks_project="p"))


@pytest.mark.parametrize("project", [None, " "])
def test_missing_project_is_a_config_error_raised_before_login(hopsworks_twin: HopsworksTwin, project: str | None) -> None:
    with pytest.raises(ConfigError, match="^HOPSWORKS_PROJECT is not set: "):
        connect_hopsworks(settings(hopsworks_project=project))
    assert hopsworks_twin.http.log == []


def test_login_uses_the_python_engine_the_project_and_the_stripped_key(hopsworks_twin: HopsworksTwin) -> None:
    import hopsworks_common.connection

    project = connect_hopsworks(settings(hopsworks_api_key=f"  {hopsworks_twin.api_key}\n"))
    assert project.name == hopsworks_twin.project
    assert hopsworks_common.connection._hsfs_engine_type == "python"
    assert "GET project/getProjectInfo/twin_project" in hopsworks_twin.http.log  # the key was accepted


def test_a_hanging_login_gives_up_within_the_bound(hopsworks_twin: HopsworksTwin) -> None:
    hopsworks_twin.http.stall("GET", LOGIN, seconds=STALL_S)
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        connect_hopsworks(settings(hopsworks_timeout_s=0.5))
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < WITHIN_BOUND_S  # the bound, not the stall, ended the wait
    message = str(caught.value)
    assert "127.0.0.1" in message and "0.5 s" in message and "HOPSWORKS_TIMEOUT" in message
    assert hopsworks_twin.api_key not in message


def test_a_hung_login_does_not_keep_the_process_alive() -> None:
    code = (
        "import os\n"
        "from tests.twin.server import HopsworksTwin\n"
        "from tweetgen.clients.hopsworks import connect_hopsworks\n"
        "from tweetgen.config import Settings\n"
        "from tweetgen.errors import StoreError\n"
        "twin = HopsworksTwin(query_service=False).start()\n"
        "twin.http.stall('GET', '^variables/versions$', seconds=60)\n"
        "os.environ.update(twin.environment(__import__('pathlib').Path('certs')))\n"
        "try:\n"
        "    connect_hopsworks(Settings.load(dotenv=None).with_overrides(hopsworks_timeout_s=0.3))\n"
        "except StoreError as e:\n"
        "    print('gave up:', e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, env=_env_with_repo()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("gave up: Logging in to Hopsworks")


def _env_with_repo() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


@pytest.mark.parametrize(
    ("change", "fix"),
    [
        pytest.param({"hopsworks_api_key": "another-key"}, "check HOPSWORKS_API_KEY", id="wrong-key-401"),
        pytest.param({"hopsworks_project": "not_mine"}, "check HOPSWORKS_API_KEY", id="unknown-project"),
        pytest.param({"hopsworks_host": "127.0.0.2"}, "check your network connection and HOPSWORKS_HOST", id="unreachable"),
    ],
)
def test_login_failures_are_one_sentence_without_the_key(hopsworks_twin: HopsworksTwin, change: dict, fix: str) -> None:
    with pytest.raises(StoreError) as caught:
        connect_hopsworks(settings(**change))
    message = str(caught.value)
    assert "\n" not in message and message.startswith("Could not log in to Hopsworks project")
    assert fix in message and hopsworks_twin.api_key not in message
    # The SDK's exception is not chained: a traceback printed anyway would not show it.
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_an_error_that_quotes_the_key_is_scrubbed(hopsworks_twin: HopsworksTwin) -> None:
    hopsworks_twin.http.fail("GET", r"^variables/versions$", 400, message=f"bad header ApiKey {hopsworks_twin.api_key}")
    with pytest.raises(StoreError) as caught:
        connect_hopsworks(settings())
    assert "bad header ApiKey ***" in str(caught.value) and hopsworks_twin.api_key not in str(caught.value)


def test_the_backend_factory_opens_the_hopsworks_store(hopsworks_twin: HopsworksTwin) -> None:
    from tweetgen.store.factory import open_feature_store

    opened = open_feature_store(settings(backend="hopsworks"))
    assert isinstance(opened, HopsworksFeatureStore) and opened.where == "Hopsworks project 'twin_project'"


def test_importing_the_adapter_does_not_import_the_sdk() -> None:
    code = "import sys, tweetgen.store.hopsworks; print('hopsworks' in sys.modules, 'hsfs' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False", "False"], result.stderr


# ---- the write path ------------------------------------------------------------------------


def test_groups_are_stream_groups_written_through_kafka_and_the_materialization_job(hopsworks_twin: HopsworksTwin) -> None:
    """Problem 2 of issue 11: the SDK's default DELTA group cannot be written from outside the cluster."""
    assert store().insert(TWEETS, tweets_frame([1, 2])) == WriteResult(inserted=2, already_present=0)
    assert store().insert(TWEETS, tweets_frame([2, 3])) == WriteResult(inserted=1, already_present=1)

    [group] = hopsworks_twin.backend.feature_store.find("tweets", 1)
    assert (group.stream, group.dto["timeTravelFormat"], group.dto["onlineEnabled"]) == (True, "DELTA", False)
    assert group.dto["description"] == TWEETS.description
    assert len(hopsworks_twin.backend.broker.topics[group.topic]) == 3  # only new keys were sent
    job = hopsworks_twin.backend.jobs.get(group.job_name)
    assert [e["finalStatus"] for e in job.executions] == ["SUCCEEDED", "SUCCEEDED"]
    assert offline_ids(hopsworks_twin) == [1, 2, 3]


def test_a_group_that_is_not_a_stream_group_is_refused_with_one_sentence(twin_project, hopsworks_twin) -> None:
    """What a failed first write of the old adapter left behind: an empty, plain DELTA group."""
    fs = twin_project.get_feature_store()
    plain = fs.get_or_create_feature_group(name="tweets", version=1, primary_key=["tweet_id"], event_time="created_at")
    with pytest.raises(Exception, match="datanode load balancer"):
        plain.insert(tweets_frame([1]))

    with pytest.raises(StoreError) as caught:
        store().insert(TWEETS, tweets_frame([2]))

    assert str(caught.value) == (
        "The feature group 'tweets' v1 in Hopsworks project 'twin_project' is not a stream group, so it cannot be "
        "written from outside the Hopsworks cluster (tweetgen writes through Kafka); delete it in the Hopsworks UI "
        "(Feature Store > Feature Groups) or give the contract a new version, and run again."
    )
    assert store().read(TWEETS).empty  # reading it still works


def test_a_group_with_other_features_is_refused(twin_project, hopsworks_twin: HopsworksTwin) -> None:
    fs = twin_project.get_feature_store()
    other = fs.get_or_create_feature_group(
        name="tweets", version=1, primary_key=["tweet_id"], event_time="created_at", time_travel_format="DELTA", stream=True
    )
    other.insert(tweets_frame([1])[["tweet_id", "created_at", "text"]], write_options={"wait_for_job": True})

    with pytest.raises(StoreError, match="'tweets' v1 in Hopsworks project 'twin_project' has other features"):
        store().insert(TWEETS, tweets_frame([2]))
    with pytest.raises(StoreError, match="has other features"):
        store().read(TWEETS)
    assert offline_ids(hopsworks_twin) == [1]


def test_a_group_with_another_primary_key_is_refused(twin_project, hopsworks_twin: HopsworksTwin) -> None:
    fs = twin_project.get_feature_store()
    other = fs.get_or_create_feature_group(
        name="tweets", version=1, primary_key=["username"], event_time="created_at", time_travel_format="DELTA", stream=True
    )
    other.insert(tweets_frame([1]), write_options={"wait_for_job": True})
    with pytest.raises(StoreError, match="primary key username"):
        store().insert(TWEETS, tweets_frame([2]))
    assert offline_ids(hopsworks_twin) == [1]


def test_a_failed_materialization_job_is_one_sentence_and_a_rerun_writes_the_rows(hopsworks_twin: HopsworksTwin) -> None:
    hopsworks_twin.backend.stream.fail_next_materialization = "Spark executor lost"

    with pytest.raises(StoreError) as caught:
        store().insert(TWEETS, tweets_frame([1, 2]))

    assert str(caught.value) == (
        "The materialization job 'tweets_1_offline_fg_materialization' of feature group 'tweets' in Hopsworks "
        "project 'twin_project' ended FAILED, so the 2 rows sent through Kafka are not in the offline table; open "
        "the job's logs in the Hopsworks UI (Jobs), fix the cause, and run the command again (rows already stored "
        "are skipped)."
    )
    assert offline_ids(hopsworks_twin) == []
    # The rerun first runs the failed job again (the failed run's records are in Kafka), then
    # sends only the rows that are still new.
    assert store().insert(TWEETS, tweets_frame([1, 2, 3])) == WriteResult(inserted=1, already_present=2)
    assert offline_ids(hopsworks_twin) == [1, 2, 3]


def test_a_job_still_running_after_the_bound_is_reported_and_waited_for_next_time(hopsworks_twin: HopsworksTwin) -> None:
    hopsworks_twin.backend.jobs.hold_next = True

    with pytest.raises(StoreError) as caught:
        store(hopsworks_job_timeout_s=1.0).insert(TWEETS, tweets_frame([1, 2]))

    assert "'tweets_1_offline_fg_materialization'" in str(caught.value)
    assert "had not finished after 1 s; the 2 rows sent through Kafka appear when it does" in str(caught.value)
    assert "HOPSWORKS_JOB_TIMEOUT" in str(caught.value)
    with pytest.raises(StoreError, match="is still running from an earlier write after 1 s"):
        store(hopsworks_job_timeout_s=1.0).insert(TWEETS, tweets_frame([2, 3]))
    hopsworks_twin.backend.jobs.release()
    assert store().insert(TWEETS, tweets_frame([2, 3])) == WriteResult(inserted=1, already_present=1)
    assert offline_ids(hopsworks_twin) == [1, 2, 3]


# ---- failures a user can meet -----------------------------------------------------------------


def test_reads_without_the_query_service_are_one_sentence(hopsworks_twin_without_query_service: HopsworksTwin) -> None:
    """Problem 3 of issue 11: the SDK raises ValueError, which the old error mapping let through."""
    writer = store()
    assert writer.insert(TWEETS, tweets_frame([1])).inserted == 1  # writes do not need it

    with pytest.warns(UserWarning, match="Query Service will be disabled"), pytest.raises(StoreError) as caught:
        writer.read(TWEETS)

    assert str(caught.value) == (
        "Hopsworks could not read feature group 'tweets' in Hopsworks project 'twin_project': reads need the "
        "Hopsworks Query Service (Arrow Flight), which this cluster does not offer; use a Hopsworks cluster with "
        "the Query Service enabled (Hopsworks Serverless has it), or ask its administrator to enable it."
    )


def test_a_call_after_login_that_does_not_answer_is_bounded(hopsworks_twin: HopsworksTwin) -> None:
    """Problem 3 of issue 11: the SDK sends REST calls after login with no timeout at all."""
    opened = store(hopsworks_timeout_s=0.5)
    hopsworks_twin.http.stall("GET", r"featuregroups/tweets$", seconds=STALL_S)

    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        opened.exists(TWEETS)

    assert time.monotonic() - started < WITHIN_BOUND_S
    assert str(caught.value) == (
        "Hopsworks could not look up feature group 'tweets' in Hopsworks project 'twin_project': Hopsworks did not "
        "answer within 0.5 s; check your network connection, or raise HOPSWORKS_TIMEOUT."
    )


def test_sdk_refusals_are_one_sentence_with_the_action_and_without_the_key(hopsworks_twin: HopsworksTwin) -> None:
    opened = store()
    hopsworks_twin.http.fail("GET", r"featuregroups/tweets$", 403, message=f"key {hopsworks_twin.api_key} lacks a scope")
    with pytest.raises(StoreError) as caught:
        opened.exists(TWEETS)
    message = str(caught.value)
    assert message.startswith(
        "Hopsworks could not look up feature group 'tweets' in Hopsworks project 'twin_project': 127.0.0.1 denied "
        "permission (HTTP 403: key *** lacks a scope); check HOPSWORKS_HOST (now 127.0.0.1), HOPSWORKS_PROJECT and "
        "HOPSWORKS_API_KEY: the key's user must be a member of the project, and the key needs the scopes FEATURESTORE"
    )
    assert hopsworks_twin.api_key not in message and "\n" not in message


def test_a_description_the_backend_refuses_is_one_sentence(hopsworks_twin: HopsworksTwin) -> None:
    """Problem 1 of issue 11: a description over 256 characters (the contracts' own are checked in
    test_hopsworks_limits.py; this is what a user would see)."""
    spec = dataclasses.replace(TWEETS)
    object.__setattr__(spec, "description", "x" * 300)  # GroupSpec itself refuses it: go around its check
    with pytest.raises(StoreError, match=r"is too long with 300 characters\. Entity descriptions cannot be longer"):
        store().insert(spec, tweets_frame([1]))


def test_sdk_output_goes_to_stderr_so_stdout_carries_only_results(hopsworks_twin: HopsworksTwin, capsys) -> None:
    opened = store()
    opened.insert(TWEETS, tweets_frame([1]))
    assert len(opened.read(TWEETS)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Hopsworks Feature Query Service" in captured.err  # the SDK's own progress line


def test_drop_deletes_the_group_its_job_and_its_feature_views(hopsworks_twin: HopsworksTwin) -> None:
    opened = store()
    opened.insert(TWEETS, tweets_frame([1, 2]))
    opened.read_training_data(TWEETS, ["tweet_id", "created_at", "clean_text"])

    assert opened.drop(TWEETS) is True

    assert not opened.exists(TWEETS) and opened.drop(TWEETS) is False
    assert hopsworks_twin.backend.feature_views.views == {}
    assert "tweets_1_offline_fg_materialization" not in hopsworks_twin.backend.jobs.jobs


def test_the_monitor_group_is_written_and_read_with_its_real_contract(hopsworks_twin: HopsworksTwin) -> None:
    from tests.fakes.monitor_rows import monitor_frame
    from tweetgen.schema import GENERATED_TWEETS

    opened = store()
    written = monitor_frame(n_runs=3, arms=("champion", "challenger"))
    assert opened.insert(GENERATED_TWEETS, written).inserted == 6
    assert opened.insert(GENERATED_TWEETS, written).already_present == 6
    [group] = hopsworks_twin.backend.feature_store.find("generated_tweets", GENERATED_TWEETS.version)
    assert group.dto["description"] == GENERATED_TWEETS.description
    read = opened.read(GENERATED_TWEETS)
    assert len(read) == 6 and list(read.columns) == GENERATED_TWEETS.columns
    pd.testing.assert_series_equal(
        read.sort_values("generated_at")["prompted_text"].reset_index(drop=True),
        written.sort_values("generated_at")["prompted_text"].reset_index(drop=True),
    )
