"""The Hopsworks feature store adapter against a twin that answers as unkindly as the service can:
Kafka refused or silent, slow and failing materialization jobs, bursts of 5xx answers. Each case
ends in one sentence, and a rerun afterwards loses and duplicates nothing."""

from __future__ import annotations

import dataclasses
import time

import pandas as pd
import pytest

from tests.fakes.frames import tweets_frame
from tests.fakes.monitor_rows import monitor_frame
from tests.twin.fixtures import hopsworks_twin_fixture, slow_jobs  # noqa: F401 - the hopsworks_twin fixture
from tests.twin.server import HopsworksTwin
from tweetgen.config import Settings
from tweetgen.errors import StoreError
from tweetgen.schema import GENERATED_TWEETS, TWEETS
from tweetgen.store.hopsworks import HopsworksFeatureStore
from tweetgen.store.port import WriteResult

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


def store(**changes: object) -> HopsworksFeatureStore:
    settings = dataclasses.replace(Settings.load(dotenv=None), **changes)  # type: ignore[arg-type]
    return HopsworksFeatureStore.from_settings(settings)


def offline_ids(twin: HopsworksTwin, name: str = "tweets") -> list[int]:
    [group] = twin.backend.feature_store.find(name, 1)
    return sorted(row["tweet_id"] for row in group.offline)


# ---- Kafka -----------------------------------------------------------------------------------


@pytest.mark.parametrize("trouble", ["refuse", "stall"])
def test_kafka_that_cannot_be_reached_is_one_sentence_and_a_rerun_writes_each_row_once(
    hopsworks_twin: HopsworksTwin, trouble: str
) -> None:
    """The SDK lists the topic's offsets with the real ``confluent_kafka.Consumer`` before it
    produces: against a closed port or a silent one, ``cimpl.KafkaException`` after its timeout."""
    opened = store(hopsworks_timeout_s=1.0)
    assert opened.insert(TWEETS, tweets_frame([1])).inserted == 1  # the group exists, Kafka worked
    getattr(hopsworks_twin.backend.broker, trouble)()

    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        opened.insert(TWEETS, tweets_frame([1, 2, 3]))

    assert time.monotonic() - started < 20  # bounded by the Kafka timeout (1 s here), not hung
    message = str(caught.value)
    assert message.startswith(
        "Hopsworks could not send 2 rows to feature group 'tweets' in Hopsworks project 'twin_project': its Kafka "
        "broker could not be reached within 1 s (KafkaError _TRANSPORT: Failed to get metadata: Local: Broker "
        "transport failure)"
    ), message
    assert message.endswith("nothing was written, so run the command again once Kafka answers.")
    assert "\n" not in message and hopsworks_twin.api_key not in message
    hopsworks_twin.backend.broker.heal()
    assert opened.insert(TWEETS, tweets_frame([1, 2, 3])) == WriteResult(inserted=2, already_present=1)
    assert offline_ids(hopsworks_twin) == [1, 2, 3]


def test_the_kafka_switch_hands_the_sdk_the_real_confluent_kafka_clients(hopsworks_twin: HopsworksTwin) -> None:
    """The premise of the test above: what fails is librdkafka itself, not a double."""
    import confluent_kafka
    from hsfs.core import kafka_engine

    config = {"bootstrap.servers": "127.0.0.1:9", "group.id": "twin"}
    assert not isinstance(kafka_engine.Consumer(config), confluent_kafka.Consumer)
    hopsworks_twin.backend.broker.refuse()
    consumer = kafka_engine.Consumer({**config, "bootstrap.servers": hopsworks_twin.backend.broker.address})
    assert isinstance(consumer, confluent_kafka.Consumer)
    with pytest.raises(confluent_kafka.KafkaException) as caught:
        consumer.list_topics(timeout=0.5)
    consumer.close()
    assert type(caught.value).__module__ == "cimpl" and caught.value.args[0].name() == "_TRANSPORT"


# ---- slow and failing materialization jobs ---------------------------------------------------


def test_a_job_as_slow_as_on_serverless_passes_its_states_and_the_write_waits_for_it(
    hopsworks_twin: HopsworksTwin, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = slow_jobs(monkeypatch, hopsworks_twin)  # SUBMITTED 15 s, RUNNING 140 s, AGGREGATING_LOGS 30 s
    caplog.set_level("INFO", logger="hopsworks_common.engine.execution_engine")

    assert store().insert(TWEETS, tweets_frame([1, 2])) == WriteResult(inserted=2, already_present=0)

    states = [r.getMessage() for r in caplog.records if "Current state" in r.getMessage()]
    assert any("RUNNING" in s for s in states) and any("AGGREGATING_LOGS" in s for s in states), states
    assert 185 <= clock.now() <= 185 + 3 + 5 + 1  # the job, one poll's lag, the SDK's pause for log files
    assert offline_ids(hopsworks_twin) == [1, 2]


def test_a_job_slower_than_the_bound_is_one_sentence_and_the_rerun_waits_for_it_and_loses_nothing(
    hopsworks_twin: HopsworksTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = slow_jobs(monkeypatch, hopsworks_twin)
    with pytest.raises(StoreError) as caught:
        store(hopsworks_job_timeout_s=120.0).insert(TWEETS, tweets_frame([1, 2]))
    assert str(caught.value) == (
        "The materialization job 'tweets_1_offline_fg_materialization' of feature group 'tweets' in Hopsworks project "
        "'twin_project' had not finished after 120 s; the 2 rows sent through Kafka appear when it does: follow it in "
        "the Hopsworks UI (Jobs) before writing again, or raise HOPSWORKS_JOB_TIMEOUT."
    )
    assert 117 <= clock.now() <= 123

    assert store().insert(TWEETS, tweets_frame([2, 3])) == WriteResult(inserted=1, already_present=1)
    assert offline_ids(hopsworks_twin) == [1, 2, 3]


def test_a_failed_job_is_run_again_before_the_next_write_so_a_monitor_row_is_stored_once(
    hopsworks_twin: HopsworksTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rerun generates the day's row again with a new ``generated_at``; had the failed write's
    record stayed in Kafka unseen, the next materialization would store both (key and event time
    differ)."""
    slow_jobs(monkeypatch, hopsworks_twin)
    opened = store()
    assert opened.insert(GENERATED_TWEETS, monitor_frame(1)).inserted == 1  # yesterday's run
    today = monitor_frame(2).iloc[[1]].reset_index(drop=True)
    hopsworks_twin.backend.stream.fail_next_materialization = "Spark executor lost"

    with pytest.raises(StoreError, match=r"'generated_tweets_2_offline_fg_materialization' .* ended FAILED, so the 1 rows"):
        opened.insert(GENERATED_TWEETS, today)

    again = today.assign(generated_at=today["generated_at"] + pd.Timedelta(minutes=1))  # the retry, a minute later
    assert opened.insert(GENERATED_TWEETS, again) == WriteResult(inserted=0, already_present=1)
    [group] = hopsworks_twin.backend.feature_store.find("generated_tweets", 2)
    assert sorted(row["tweet_id"] for row in group.offline) == [1000, 1001]  # one row per key
    assert [e["finalStatus"] for e in hopsworks_twin.backend.jobs.jobs[group.job_name].executions] == [
        "SUCCEEDED", "FAILED", "SUCCEEDED"  # the failed run, run again by the retry; no new rows to send
    ]


def test_a_job_that_fails_again_when_run_again_writes_nothing_new_and_says_so(hopsworks_twin: HopsworksTwin) -> None:
    opened = store()
    assert opened.insert(TWEETS, tweets_frame([1])).inserted == 1
    hopsworks_twin.backend.stream.fail_next_materialization = "Spark executor lost"
    with pytest.raises(StoreError, match="ended FAILED"):
        opened.insert(TWEETS, tweets_frame([2]))
    hopsworks_twin.backend.stream.fail_next_materialization = "Spark executor lost again"

    with pytest.raises(StoreError) as caught:
        opened.insert(TWEETS, tweets_frame([3]))

    assert str(caught.value) == (
        "The materialization job 'tweets_1_offline_fg_materialization' of feature group 'tweets' in Hopsworks project "
        "'twin_project' failed for an earlier write and, run again, ended FAILED; the rows of that write wait in "
        "Kafka, so nothing new was written: open the job's logs in the Hopsworks UI (Jobs), fix the cause, and run "
        "the command again."
    )
    assert opened.insert(TWEETS, tweets_frame([2, 3])) == WriteResult(inserted=1, already_present=1)
    assert offline_ids(hopsworks_twin) == [1, 2, 3]


# ---- bursts of server errors -----------------------------------------------------------------


def test_a_short_burst_of_gateway_errors_is_retried_and_the_write_succeeds(hopsworks_twin: HopsworksTwin) -> None:
    opened = store()
    hopsworks_twin.http.fail("GET", r"featuregroups/tweets$", 503, count=2)
    hopsworks_twin.http.fail("POST", r"jobs/.*/executions$", 502, count=2)
    assert opened.insert(TWEETS, tweets_frame([1, 2])) == WriteResult(inserted=2, already_present=0)
    assert hopsworks_twin.http.log.count("POST project/119/jobs/tweets_1_offline_fg_materialization/executions") == 3
    assert offline_ids(hopsworks_twin) == [1, 2]


@pytest.mark.parametrize(("status", "told"), [(503, "HTTP 503: busy), 4 times in a row;"), (500, "HTTP 500: busy);")])
def test_a_long_burst_of_server_errors_is_one_sentence_and_a_rerun_loses_and_duplicates_nothing(
    hopsworks_twin: HopsworksTwin, status: int, told: str
) -> None:
    opened = store()
    assert opened.insert(TWEETS, tweets_frame([1])).inserted == 1
    hopsworks_twin.http.fail("POST", r"jobs/.*/executions$", status, count=10, message="busy")  # after the rows went to Kafka

    with pytest.raises(StoreError) as caught:
        opened.insert(TWEETS, tweets_frame([1, 2]))

    message = str(caught.value)
    assert message.startswith("Hopsworks could not send 1 rows to feature group 'tweets' in Hopsworks project 'twin_project': "
                              "Hopsworks answered with a server error (" + told), message
    assert message.endswith(
        "check the cluster's status with your Hopsworks administrator or support; the rows reached Kafka but its "
        "materialization job did not start, so run 'tweets_1_offline_fg_materialization' in the Hopsworks UI (Jobs) "
        "before running the command again."
    ), message
    hopsworks_twin.http.clear_faults()  # the burst is over
    assert opened.insert(TWEETS, tweets_frame([1, 2])).already_present == 1
    assert offline_ids(hopsworks_twin) == [1, 2]


# ---- refusals --------------------------------------------------------------------------------


def test_a_key_refused_after_login_names_the_host_the_project_and_the_key_variables(hopsworks_twin: HopsworksTwin) -> None:
    """A key revoked while a job runs, or one of another cluster: the sentence says where to look."""
    opened = store()
    hopsworks_twin.http.fail("GET", r"featuregroups/tweets$", 401)
    with pytest.raises(StoreError) as caught:
        opened.exists(TWEETS)
    assert str(caught.value) == (
        "Hopsworks could not look up feature group 'tweets' in Hopsworks project 'twin_project': 127.0.0.1 refused the "
        "API key (HTTP 401); check HOPSWORKS_HOST (now 127.0.0.1), HOPSWORKS_PROJECT and HOPSWORKS_API_KEY: the key "
        "must be one created on that cluster by a member of the project (Account settings > API keys), and not revoked."
    )


def test_a_broker_that_stalls_mid_write_is_one_sentence_and_a_rerun_stores_each_row_once(hopsworks_twin: HopsworksTwin) -> None:
    opened = store()
    assert opened.insert(TWEETS, tweets_frame([1])).inserted == 1
    hopsworks_twin.backend.broker.stop_taking_rows_after(2)  # of the next 4 rows, 2 reach the topic

    with pytest.raises(StoreError) as caught:
        opened.insert(TWEETS, tweets_frame([1, 2, 3, 4, 5]))

    message = str(caught.value)
    assert message.startswith(
        "Hopsworks could not send 4 rows to feature group 'tweets' in Hopsworks project 'twin_project': Kafka did not "
        "take every row (KafkaError _MSG_TIMED_OUT: "
    ), message
    assert message.endswith("then run the command again: rows already stored are skipped.")
    hopsworks_twin.backend.broker.heal()
    assert opened.insert(TWEETS, tweets_frame([1, 2, 3, 4, 5])) == WriteResult(inserted=4, already_present=1)
    assert offline_ids(hopsworks_twin) == [1, 2, 3, 4, 5]  # the 2 rows of the cut-off write merged with their resend
