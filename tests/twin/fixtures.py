"""pytest fixtures that start the twin and log the real SDK in to it.

Use them from a test module by importing the functions, as ``tests.fakes`` fixtures are imported:
``from tests.twin.fixtures import hopsworks_twin_fixture, twin_project_fixture  # noqa: F401``;
tests then ask for ``hopsworks_twin`` and ``twin_project``.

- ``hopsworks_twin``: a fresh twin with its Query Service; Kafka answered by the twin; the
  Hopsworks variables in the environment (``HOPSWORKS_HOST``, ``HOPSWORKS_PORT``,
  ``HOPSWORKS_PROJECT``, ``HOPSWORKS_API_KEY``, ``HOPSWORKS_CERT_FOLDER``), so that code which calls
  ``hopsworks.login(host=..., project=..., api_key_value=...)`` itself reaches it.
- ``hopsworks_twin_without_query_service``: the same, on a cluster whose Query Service is off.
- ``twin_project``: ``hopsworks.login(...)`` done against ``hopsworks_twin``; the Project.
- ``slow_jobs(monkeypatch, twin)``: from then on jobs take the time they take on Hopsworks
  Serverless (``tests.twin.jobs.SERVERLESS_TIMELINE``), on a ``VirtualClock`` that the SDK's sleeps
  advance: the SDK polls as it would for minutes, in milliseconds. Returns the clock.
- ``any_store``: parametrized, a ``LocalFeatureStore`` and a ``HopsworksFeatureStore`` on the twin,
  so one test runs against both backends.

At teardown: logout, stop, and fail the test if the SDK called an endpoint the twin does not
know (a new SDK call must be added to the twin, not answered by chance).

Two changes to the SDK's timing, none to its logic: ``ModelEngine._poll_model_available``
(``hsml/engine/model_engine.py``) sleeps 5 s before it first asks whether a saved model is
registered; here that sleep returns at once (the poll itself runs). And the loading animation
around every Query Service read (``hopsworks_common.util._loading_animation``) ticks by sleeping
0.5 s, so each read lasted at least 0.5 s; here it ticks by waiting on its stop event, printing
the same dots. Every other wait is real: the twin answers so that the SDK's loops end on their
first turn.
"""

from __future__ import annotations

import datetime
import itertools
import shutil
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.twin.jobs import SERVERLESS_TIMELINE, VirtualClock
from tests.twin.server import HopsworksTwin

_NO_MODEL_WAIT = types.SimpleNamespace(sleep=lambda seconds: None, time=time.time, monotonic=time.monotonic)


def _loading_animation(message: str, stop_event: threading.Event) -> None:
    """``hopsworks_common.util._loading_animation``, ending as soon as it is told to stop."""
    for dots in itertools.cycle([".", "..", "...", ""]):
        if stop_event.is_set():
            break
        print(f"{message}{dots}   ", end="\r")
        stop_event.wait(0.5)


def _run_twin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, query_service: bool) -> Iterator[HopsworksTwin]:
    import hopsworks
    from hopsworks_common import util
    from hsfs.core import kafka_engine
    from hsml.engine import model_engine

    twin = HopsworksTwin(query_service=query_service).start()
    monkeypatch.setattr(kafka_engine, "Producer", twin.producer_class)
    monkeypatch.setattr(kafka_engine, "Consumer", twin.consumer_class)
    monkeypatch.setattr(model_engine, "time", _NO_MODEL_WAIT)
    monkeypatch.setattr(util, "_loading_animation", _loading_animation)
    for name, value in twin.environment(tmp_path / "hopsworks-certs").items():
        monkeypatch.setenv(name, value)
    try:
        yield twin
    finally:
        hopsworks.logout()
        twin.stop()
        for model in twin.backend.registry.models.values():  # the SDK's download cache, by model id
            cache = Path(model_engine._model_cache_base_dirs()[0], twin.project, model["name"], str(model["version"]))
            shutil.rmtree(cache / str(model["id"]), ignore_errors=True)
    if twin.http.unhandled:
        pytest.fail(f"The SDK called endpoints the twin does not serve: {twin.http.unhandled}")


class _VirtualDatetime(datetime.datetime):
    clock: VirtualClock

    @classmethod
    def now(cls, tz: datetime.tzinfo | None = None) -> datetime.datetime:  # type: ignore[override]
        return datetime.datetime(2026, 1, 1, tzinfo=tz) + datetime.timedelta(seconds=cls.clock.now())


def slow_jobs(
    monkeypatch: pytest.MonkeyPatch, twin: HopsworksTwin, timeline: tuple[tuple[str, float], ...] = SERVERLESS_TIMELINE
) -> VirtualClock:
    """Jobs that pass through ``timeline`` (state, seconds) on a virtual clock the SDK's waits advance.

    ``ExecutionEngine._wait_until_finished`` (``hopsworks_common/engine/execution_engine.py``) polls
    every 3 s with ``time.sleep`` and measures its timeout with ``datetime.now()``: both are the
    clock's here, so its loop runs exactly as it would, and minutes take milliseconds.
    """
    from hopsworks_common.engine import execution_engine

    clock = VirtualClock()
    virtual_datetime = type("VirtualDatetime", (_VirtualDatetime,), {"clock": clock})
    monkeypatch.setattr(execution_engine, "time", types.SimpleNamespace(sleep=clock.sleep, time=time.time, monotonic=time.monotonic))
    monkeypatch.setattr(execution_engine, "datetime", virtual_datetime)
    twin.backend.jobs.clock, twin.backend.jobs.timeline = clock.now, timeline
    return clock


@pytest.fixture(name="hopsworks_twin")
def hopsworks_twin_fixture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HopsworksTwin]:
    yield from _run_twin(monkeypatch, tmp_path, query_service=True)


@pytest.fixture(name="hopsworks_twin_without_query_service")
def hopsworks_twin_without_query_service_fixture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HopsworksTwin]:
    yield from _run_twin(monkeypatch, tmp_path, query_service=False)


@pytest.fixture(name="twin_project")
def twin_project_fixture(hopsworks_twin: HopsworksTwin, tmp_path: Path):
    import hopsworks

    return hopsworks.login(**hopsworks_twin.login_kwargs(tmp_path / "hopsworks-certs"))


@pytest.fixture(name="any_store", params=["local", "hopsworks"])
def any_store_fixture(request: pytest.FixtureRequest, tmp_path: Path):
    from tweetgen.config import Settings
    from tweetgen.store.hopsworks import HopsworksFeatureStore
    from tweetgen.store.local import LocalFeatureStore

    if request.param == "local":
        return LocalFeatureStore(tmp_path / "store")
    request.getfixturevalue("hopsworks_twin")  # sets HOPSWORKS_* to reach it
    return HopsworksFeatureStore.from_settings(Settings.load(dotenv=None).with_overrides(backend="hopsworks"))
