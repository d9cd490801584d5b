"""The Hopsworks feature store adapter against a twin that answers as unkindly as the service can:
Kafka refused or silent, slow and failing materialization jobs, bursts of 5xx answers. Each case
ends in one sentence, and a rerun afterwards loses and duplicates nothing."""

from __future__ import annotations

import dataclasses
import time

import pytest

from tests.fakes.frames import tweets_frame
from tests.twin.fixtures import hopsworks_twin_fixture  # noqa: F401 - the hopsworks_twin fixture
from tests.twin.server import HopsworksTwin
from tweetgen.config import Settings
from tweetgen.errors import StoreError
from tweetgen.schema import TWEETS
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
