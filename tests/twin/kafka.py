"""Kafka, the materialization job and OnlineFS: the write path of a stream feature group.

The Python engine (``hsfs/engine/python.py`` ``_write_dataframe_kafka``) encodes each row with
the group's Avro schema and hands it to ``confluent_kafka.Producer``; ``hsfs/core/kafka_engine.py``
builds that producer and a ``Consumer`` (for the topic's offsets) from the names it imported, so
the fixture swaps ``kafka_engine.Producer`` and ``kafka_engine.Consumer`` for the classes here:
everything before them (the connector config from REST, the PEM files it writes from the JKS
stores, the Avro encoding, the headers, the delivery callbacks) is the SDK's own code.

What the cluster does with the records is done here:
- the materialization job ``<group>_<version>_offline_fg_materialization`` does what
  ``utils/python/hsfs_utils.py`` ``offline_fg_materialization`` does: records from the checkpoint
  (``-initialCheckPointString`` or the offsets it saved last time) to the end of the topic,
  those of this group and subject, not ``storage: online``, not ``operation: delete``; the last
  record per (primary key, event time) by offset; merged into the offline table on primary key
  and event time (the Delta merge of ``DeltaEngine._generate_merge_query``);
- OnlineFS upserts records not marked ``storage: offline`` into the online table by primary key,
  and rejects a value longer than its column's ``varchar(n)`` (counted as ``FAILED`` rows of the
  online ingestion named in the record's ``onlineIngestionId`` header).

Unkind on demand (``Broker.refuse`` / ``Broker.stall`` / ``Broker.stop_taking_rows_after`` /
``Broker.heal``). The last lets deliveries time out after some rows, as librdkafka reports a broker
that stalls mid-write (the delivery callback's ``KafkaError._MSG_TIMED_OUT``, which the SDK's
``_build_ack_callback_and_optional_progress_bar`` raises as a ``FeatureStoreException`` caused by a
``KafkaException``). For the first two the connector names
a real address on 127.0.0.1 and the SDK gets the **real** ``confluent_kafka`` clients for it, so
what reaches the adapter is what librdkafka raises. Refused: nothing listens on the port
(``Consumer.list_topics`` raises ``cimpl.KafkaException`` ``_TRANSPORT`` "Failed to get metadata:
Local: Broker transport failure" after its timeout, ``kafka_timeout`` in ``hsfs/core/kafka_engine.py``
``_kafka_get_offsets``, 6 s by default). Stalled: a TCP server that accepts and never answers (a
firewall that drops, a broker that hangs), which ends the same way once the timeout passes.

REST: ``GET .../storageconnectors/kafka_connector/byok?external=true``
(``StorageConnectorApi._get_kafka_connector``; ``storage_connector_fixtures.json``
``get_kafka_external``), ``GET .../kafka/subjects/{group}_{version}/versions/latest``
(``KafkaApi.get_subject``), ``POST``/``GET .../featuregroups/{id}/online_ingestion``
(``OnlineIngestionApi``).
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import fastavro

from tests.twin import rules
from tests.twin.rest import Request, Router

if TYPE_CHECKING:
    from tests.twin.featurestore import FeatureStore, Group

@dataclass
class Message:
    topic: str
    key: str
    value: bytes
    headers: dict[str, bytes]
    offset: int


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return  # closed
            self._held.append(connection)

    def close(self) -> None:
        self._socket.close()
        for connection in self._held:
            connection.close()


def closed_port_address() -> str:
    """An address on 127.0.0.1 where nothing listens (a port just bound and released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


@dataclass
class Broker:
    topics: dict[str, list[Message]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_flush: list[Any] = field(default_factory=list)  # called with the topics a producer wrote to
    address: str | None = None  # a real address: the SDK then gets the real confluent_kafka clients
    deliveries_left: int | None = None  # how many more rows the broker takes before it stalls (None: all)
    _silent: SilentServer | None = None

    def refuse(self) -> None:
        """From now on Kafka cannot be reached: nothing listens at the address the connector names."""
        self.heal()
        self.address = closed_port_address()

    def stall(self) -> None:
        """From now on Kafka accepts connections and never answers."""
        self.heal()
        self._silent = SilentServer()
        self.address = self._silent.address

    def stop_taking_rows_after(self, count: int) -> None:
        """The broker takes ``count`` more rows, then lets every delivery time out, as librdkafka
        reports a broker that stalls mid-write: the delivery callback gets ``_MSG_TIMED_OUT``."""
        self.deliveries_left = count

    def heal(self) -> None:
        """Kafka is the twin's again."""
        self.deliveries_left = None
        if self._silent is not None:
            self._silent.close()
            self._silent = None
        self.address = None

    def append(self, topic: str, key: str, value: bytes, headers: dict[str, bytes]) -> Message:
        with self.lock:
            records = self.topics[topic]
            message = Message(topic, key, value, headers, len(records))
            records.append(message)
            return message


def client_classes(broker: Broker) -> tuple[type, type]:
    """A ``Producer`` and a ``Consumer`` with confluent_kafka's interface, talking to ``broker``."""

    def real_client(kind: str, config: dict[str, Any]) -> Any:
        import confluent_kafka

        return getattr(confluent_kafka, kind)(config)

    class Producer:
        def __new__(cls, config: dict[str, Any]) -> Any:
            return real_client("Producer", config) if broker.address else super().__new__(cls)

        def __init__(self, config: dict[str, Any]) -> None:
            _check_config(config)
            self.config = config
            self._pending: list[tuple[Any, Any, Message]] = []  # (callback, KafkaError or None, message)
            self._topics: set[str] = set()

        def produce(self, topic: str, key: str, value: bytes, callback: Any = None, headers: Any = None) -> None:
            if broker.deliveries_left is not None and broker.deliveries_left <= 0:  # the broker stopped taking rows
                from confluent_kafka import KafkaError

                lost = Message(topic, key, value, dict(headers or {}), -1)
                self._pending.append((callback, KafkaError(KafkaError._MSG_TIMED_OUT), lost))
                return
            if broker.deliveries_left is not None:
                broker.deliveries_left -= 1
            message = broker.append(topic, key, value, dict(headers or {}))
            self._topics.add(topic)
            self._pending.append((callback, None, message))

        def poll(self, timeout: float = 0) -> int:
            pending, self._pending = self._pending, []
            for callback, error, message in pending:
                if callback is not None:
                    callback(error, message)
            return len(pending)

        def flush(self, timeout: float = -1) -> int:
            self.poll()
            for listener in broker.on_flush:
                listener(self._topics)
            self._topics = set()
            return 0

        def __len__(self) -> int:
            return len(self._pending)

    class Consumer:
        def __new__(cls, config: dict[str, Any]) -> Any:
            return real_client("Consumer", config) if broker.address else super().__new__(cls)

        def __init__(self, config: dict[str, Any]) -> None:
            _check_config(config)

        def list_topics(self, topic: str | None = None, timeout: float = -1) -> SimpleNamespace:
            partitions = {0: SimpleNamespace(id=0)}
            return SimpleNamespace(topics={name: SimpleNamespace(partitions=partitions) for name in broker.topics})

        def get_watermark_offsets(self, partition: Any, timeout: float = -1, cached: bool = False) -> tuple[int, int]:
            return 0, len(broker.topics.get(partition.topic, []))

        def close(self) -> None:
            pass

    return Producer, Consumer


def _check_config(config: dict[str, Any]) -> None:
    """What librdkafka would refuse at once: no brokers, or TLS files that are not there."""
    if not config.get("bootstrap.servers"):
        raise ValueError("Kafka config has no bootstrap.servers")
    for key in ("ssl.ca.location", "ssl.certificate.location", "ssl.key.location"):
        if key in config and not os.path.isfile(config[key]):
            raise ValueError(f"Kafka config {key}={config[key]} is not a file")


class StreamIngestion:
    """The materialization jobs and OnlineFS of one feature store."""

    def __init__(self, store: FeatureStore, broker: Broker) -> None:
        self.store, self.broker = store, broker
        self.checkpoints: dict[int, int] = {}  # group id -> next offset to materialize
        self.fail_next_materialization = ""  # an error text: the next materialization job fails with it
        self.ingestions: dict[int, dict[str, Any]] = {}
        self._online_offsets: dict[int, int] = {}
        broker.on_flush.append(self._flushed)

    def _flushed(self, topics: set[str]) -> None:
        for group in list(self.store.groups.values()):
            if group.dto.get("onlineEnabled") and group.dto.get("onlineTopicName") in topics:
                self.online_ingest(group)

    def namespace(self) -> str:
        return f"{self.store.name}.db"

    def subject(self, group: Group) -> dict[str, Any]:
        return {"id": group.id, "subject": f"{group.name}_{group.version}", "version": 1,
                "schema": group.avro_schema(self.namespace())}

    def records(self, group: Group, start: int, storage_skipped: str) -> list[tuple[Message, dict[str, Any]]]:
        schema = fastavro.parse_schema(json.loads(group.avro_schema(self.namespace())))
        found = []
        for message in self.broker.topics.get(group.topic, [])[start:]:
            headers = {k: v.decode() for k, v in message.headers.items()}
            if headers.get("featureGroupId") != str(group.id) or headers.get("subjectId") != str(group.id):
                continue
            if headers.get("storage") == storage_skipped or headers.get("operation") == "delete":
                continue
            found.append((message, fastavro.schemaless_reader(io.BytesIO(message.value), schema)))
        return found

    def materialize(self, group: Group, args: str) -> None:
        if self.fail_next_materialization:
            error, self.fail_next_materialization = self.fail_next_materialization, ""
            raise RuntimeError(error)
        match = re.search(r"-initialCheckPointString \S+?,0:(\d+)", args)
        start = int(match.group(1)) if match else self.checkpoints.get(group.id, 0)
        end = len(self.broker.topics.get(group.topic, []))
        key_columns = [*group.primary_key, *([group.event_time] if group.event_time else [])]
        latest: dict[tuple, dict[str, Any]] = {}
        for _, record in self.records(group, start, storage_skipped="online"):
            row = _naive_utc(record)
            latest[tuple(row[c] for c in key_columns)] = row
        inserted = updated = 0
        index = {tuple(r[c] for c in key_columns): i for i, r in enumerate(group.offline)}
        for key, row in latest.items():
            if key in index:
                group.offline[index[key]] = row
                updated += 1
            else:
                group.offline.append(row)
                inserted += 1
        self.checkpoints[group.id] = end
        group.commits.append(
            {"commitID": len(group.commits) + 1, "commitDateString": "20260101000000000", "rowsInserted": inserted,
             "rowsUpdated": updated, "rowsDeleted": 0, "commitTime": 1767225600000 + len(group.commits)}
        )

    def online_ingest(self, group: Group) -> None:
        """OnlineFS: applies what came since the last call (after every producer flush)."""
        start = self._online_offsets.get(group.id, 0)
        lengths = {f["name"]: rules.varchar_length(f.get("onlineType") or "") for f in group.features}
        for message, row in self.records(group, start, storage_skipped="offline"):
            ingestion = self.ingestions.get(int(message.headers.get("onlineIngestionId", b"0") or 0))
            too_long = [n for n, v in row.items() if isinstance(v, str) and lengths.get(n) and len(v) > lengths[n]]
            if too_long:
                group.online_rejected.append(f"{too_long[0]}: value longer than {lengths[too_long[0]]} characters")
            else:
                group.online[tuple(row[c] for c in group.primary_key)] = row
            if ingestion is not None:
                status = "FAILED" if too_long else "UPSERTED"
                ingestion["results"].append({"onlineIngestionId": ingestion["id"], "status": status, "rows": 1})
        self._online_offsets[group.id] = len(self.broker.topics.get(group.topic, []))


def _naive_utc(row: dict[str, Any]) -> dict[str, Any]:
    """Timestamps as the offline table holds them: UTC without a zone."""
    return {k: (v.replace(tzinfo=None) if hasattr(v, "tzinfo") and v.tzinfo else v) for k, v in row.items()}


def add_routes(router: Router, stream: StreamIngestion, connector_id: int = 1) -> None:
    store = stream.store
    fg = "project/{p}/featurestores/{fs}/featuregroups/{id}"

    def connector(request: Request) -> dict[str, Any]:
        return {
            "type": "featurestoreKafkaConnectorDTO",
            "storageConnectorType": "KAFKA",
            "id": connector_id,
            "name": "kafka_connector",
            "featurestoreId": store.id,
            "bootstrapServers": stream.broker.address or "kafka.twin.invalid:9092",
            "securityProtocol": "SSL",
            "sslEndpointIdentificationAlgorithm": "",
            "externalKafka": False,
        }

    def subject(request: Request) -> dict[str, Any]:
        name, _, version = request.params["subject"].rpartition("_")
        return stream.subject(store.find(name, int(version))[0])

    def create_ingestion(request: Request) -> dict[str, Any]:
        group = store.by_id(int(request.params["id"]))
        ingestion = {"id": len(stream.ingestions) + 1, "numEntries": request.json().get("numEntries"), "results": [],
                     "featureGroupId": group.id}
        stream.ingestions[ingestion["id"]] = ingestion
        return ingestion

    def get_ingestion(request: Request) -> dict[str, Any]:
        group = store.by_id(int(request.params["id"]))
        wanted = request.query.get("filter_by", "")
        items = [i for i in stream.ingestions.values() if i["featureGroupId"] == group.id]
        items = items[-1:] if wanted == "LATEST" else [i for i in items if wanted in ("", f"ID:{i['id']}")]
        return {"count": len(items), "items": items}

    router.add("GET", "project/{p}/featurestores/{fs}/storageconnectors/kafka_connector/byok", connector)
    router.add("GET", "project/{p}/featurestores/{fs}/kafka/subjects/{subject}/versions/{version}", subject)
    router.add("POST", fg + "/online_ingestion", create_ingestion)
    router.add("GET", fg + "/online_ingestion", get_ingestion)
