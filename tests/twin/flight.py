"""The Hopsworks Query Service: a real Arrow Flight server with TLS on 127.x.y.z:5005.

``hsfs/core/arrow_flight_client.py`` connects to ``grpc+tls://<loadbalancer_external_domain_
feature_query>:5005`` (the port is fixed), trusting the CA chain from ``credentials`` and
checking the name ``flyingduck.service.<service_discovery_domain>``. The twin gives each instance
its own loopback address (all of 127.0.0.0/8 reaches this machine), so port 5005 is free for it.
Actions the client uses: ``healthcheck``, ``get-version`` (listed, so the client skips
``register-client-certificates``); then ``get_flight_info`` and ``do_get`` with the HQS payload
as the command and ticket.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

from tests.twin.tls import Pems

PORT = 5005


class QueryService(flight.FlightServerBase):
    def __init__(self, host: str, pems: Pems, execute: Callable[[dict[str, Any]], pa.Table]) -> None:
        super().__init__(
            location=f"grpc+tls://{host}:{PORT}",
            tls_certificates=[flight.CertKeyPair(cert=pems.server_cert + pems.ca, key=pems.server_key)],
        )
        self.host, self._execute = host, execute
        self.commands: list[dict[str, Any]] = []

    def list_actions(self, context: Any) -> list[tuple[str, str]]:
        return [("healthcheck", "Is the service up?"), ("get-version", "The server's version")]

    def do_action(self, context: Any, action: flight.Action) -> list[flight.Result]:
        if action.type == "healthcheck":
            return []
        if action.type == "get-version":
            return [flight.Result(b"twin-5.2.1")]
        raise flight.FlightServerError(f"The twin's Query Service has no action {action.type}")

    def _table(self, command: bytes) -> pa.Table:
        payload = json.loads(command)
        self.commands.append(payload)
        try:
            return self._execute(payload)
        except Exception as error:  # noqa: BLE001 - the service answers with the error, as HQS does
            raise flight.FlightServerError(f"Error while executing query: {error}") from error

    def get_flight_info(self, context: Any, descriptor: flight.FlightDescriptor) -> flight.FlightInfo:
        table = self._table(descriptor.command)
        endpoint = flight.FlightEndpoint(descriptor.command, [])
        return flight.FlightInfo(table.schema, descriptor, [endpoint], table.num_rows, -1)

    def do_get(self, context: Any, ticket: flight.Ticket) -> flight.RecordBatchStream:
        return flight.RecordBatchStream(self._table(ticket.ticket))


def start(pems: Pems, execute: Callable[[dict[str, Any]], pa.Table]) -> QueryService:
    """A server on a free loopback address (a few tries: another twin may hold one)."""
    for _ in range(20):
        host = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        try:
            return QueryService(host, pems, execute)
        except OSError:
            continue
    raise OSError("No free loopback address for the twin's Query Service")
