"""The twin: Hopsworks' REST API on https://127.0.0.1:<port>, its Query Service, its Kafka.

``HopsworksTwin()`` builds the state (``Backend``), routes every endpoint module to it, and starts
the HTTPS server and (unless ``query_service=False``) the Arrow Flight Query Service; it needs no
network and takes a few tens of milliseconds. The SDK is pointed at it by ``login_kwargs`` or by
``environment`` (what ``hopsworks.login`` reads) and by swapping ``confluent_kafka``'s
``Producer``/``Consumer`` inside ``hsfs.core.kafka_engine`` for ``producer_class``/
``consumer_class`` (``tests.twin.fixtures`` does all of it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.twin import (
    datasets,
    featureviews,
    flight,
    jobs,
    kafka,
    query,
    registry,
    routes_featurestore,
    routes_platform,
)
from tests.twin.backend import Backend
from tests.twin.rest import Router, TwinHttpServer
from tests.twin.tls import make_pems

API_KEY = "twin-api-key.0123456789abcdef"


class HopsworksTwin:
    def __init__(self, query_service: bool = True) -> None:
        pems = make_pems()
        self.backend = Backend(pems)
        router = Router()
        routes_platform.add_routes(router, self.backend)
        routes_featurestore.add_routes(router, self.backend)
        datasets.add_routes(router, self.backend.files)
        jobs.add_routes(router, self.backend.jobs)
        kafka.add_routes(router, self.backend.stream)
        featureviews.add_routes(router, self.backend.feature_views)
        registry.add_routes(router, self.backend.registry)
        self.producer_class, self.consumer_class = kafka.client_classes(self.backend.broker)
        self.http = TwinHttpServer(router, pems, API_KEY)
        self.http.before_answer = self.backend.jobs.refresh_all
        self.host, self.port, self.api_key = "127.0.0.1", self.http.port, API_KEY
        self.project = self.backend.project.name
        self.query_service: flight.QueryService | None = None
        if query_service:
            self.query_service = flight.start(pems, self._query)
            self.backend.variables["enable_flyingduck"] = "true"
            self.backend.variables["loadbalancer_external_domain_feature_query"] = self.query_service.host

    def _query(self, payload: Any) -> Any:
        self.backend.jobs.refresh_all()  # a job that ended meanwhile has merged its rows
        return query.execute(self.backend.feature_store, payload)

    def start(self) -> HopsworksTwin:
        self.http.start()
        return self

    def stop(self) -> None:
        self.http.stop()
        self.backend.broker.heal()
        if self.query_service is not None:
            self.query_service.shutdown()

    def login_kwargs(self, cert_folder: Path) -> dict[str, Any]:
        """``hopsworks.login(**twin.login_kwargs(folder))``: no prompt, the Python engine."""
        return {
            "host": self.host,
            "port": self.port,
            "project": self.project,
            "api_key_value": self.api_key,
            "engine": "python",
            "cert_folder": str(cert_folder),
        }

    def environment(self, cert_folder: Path) -> dict[str, str]:
        """The variables ``hopsworks.login`` reads, for code that logs in by itself (the adapters
        pass ``host``, ``project`` and the key; the port and cert folder come from here)."""
        return {
            "HOPSWORKS_HOST": self.host,
            "HOPSWORKS_PORT": str(self.port),
            "HOPSWORKS_PROJECT": self.project,
            "HOPSWORKS_API_KEY": self.api_key,
            "HOPSWORKS_CERT_FOLDER": str(cert_folder),
        }
