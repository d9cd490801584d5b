"""Hopsworks feature store: feature groups in a Hopsworks project, through the ``hopsworks`` SDK.

The write path is chosen, not left to the SDK's defaults, because the default does not work from
outside the cluster (a laptop, Modal):

- Groups are created as **stream** groups in the DELTA format (``stream=True``), offline only,
  with no explicit ``features=``. ``insert`` then sends the rows to the group's Kafka topic, and
  the group's materialization job (a Spark job on the cluster) merges them into the offline table.
  Left to itself, the SDK creates a plain DELTA group, which the Python engine writes straight to
  HopsFS; from outside the cluster that needs datanode load balancers, which Hopsworks Serverless
  does not offer. An explicit ``features=`` list makes the SDK create an empty Delta table itself,
  with the same failure. An existing group that is not a stream group is refused with a sentence.
- Each write to an *awaited* group (``tweetgen.clients.write_plan``) starts the materialization job
  and waits for it, bounded by ``job_timeout_s``, and reports how it ended (a failed job or one still
  running after the bound is a ``StoreError`` that names it). A write to a *scheduled* group only
  sends its rows: the group's job runs on the plan's schedule, which the write sets.
- Before a write reads the keys a group holds, a materialization still running from an earlier
  write is waited for, and a failed one is run again: its rows are in Kafka, not yet in the table.
- Reads go through the Hopsworks Query Service (Arrow Flight), as every offline read of the SDK's
  Python engine does; a cluster without it gets a sentence saying so.

Writes keep the port's semantics although the materialization job does not: it merges on primary
key *and* event time, so a known key with another event time would be stored twice. The adapter
therefore reads the keys the group holds and inserts only rows with new keys. This check and the
insert are not one transaction: run one writer per group at a time (the scheduled pipelines do).

The login, its time bounds and the error sentences live in ``tweetgen.clients.hopsworks``, shared
with the registry adapter. ``import hopsworks`` happens inside functions, so importing this module
costs nothing and needs no account.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa

from tweetgen.clients.hopsworks import connect_hopsworks, failure_sentence, kafka_timeout_s, sdk_errors
from tweetgen.clients.write_plan import SCHEDULED, SCHEDULED_MATERIALIZATION, plan_of
from tweetgen.config import Settings
from tweetgen.errors import StoreError
from tweetgen.schema import GroupSpec
from tweetgen.store.port import FeatureStore, GroupNotFoundError, WriteResult

T = TypeVar("T")

#: Hopsworks offline types of the Arrow types the contracts use.
OFFLINE_TYPES = {
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.string(): "string",
    pa.bool_(): "boolean",
}
TRAINING_DATASET_DESCRIPTION = "Rows read by a tweetgen training run."


def feature_view_name(spec: GroupSpec) -> str:
    """The feature view the training pipeline reads ``spec`` through."""
    return f"{spec.name}_training"


def feature_view_description(spec: GroupSpec) -> str:
    """A short description: the view's columns are listed by Hopsworks itself (at most 256 characters)."""
    return f"Training rows of feature group {spec.name} v{spec.version}, read by the tweetgen training pipeline."


class HopsworksFeatureStore(FeatureStore):
    """Feature groups of one Hopsworks project (``project`` from ``connect_hopsworks``).

    Args:
        project: the logged-in project.
        api_key: only to scrub it from error messages.
        timeout_s: bound on each call (Query Service reads, Kafka delivery); REST calls are
            bounded by ``connect_hopsworks``.
        job_timeout_s: how long a write waits for its materialization job.
    """

    def __init__(self, project: Any, api_key: str | None = None, timeout_s: float = 60.0, job_timeout_s: float = 240.0) -> None:
        self.project = project
        self.where = f"Hopsworks project '{project.name}'"
        self.timeout_s, self.job_timeout_s = timeout_s, job_timeout_s
        self._api_key = api_key
        self._fs: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> HopsworksFeatureStore:
        """Log in (see ``connect_hopsworks``); ``tweetgen.store.factory`` calls this."""
        return cls(
            connect_hopsworks(settings),
            api_key=(settings.hopsworks_api_key or "").strip(),
            timeout_s=settings.hopsworks_timeout_s,
            job_timeout_s=settings.hopsworks_job_timeout_s,
        )

    def exists(self, spec: GroupSpec) -> bool:
        return self._group(spec) is not None

    def read(self, spec: GroupSpec, columns: list[str] | None = None) -> pd.DataFrame:
        group = self._group(spec)
        if group is None:
            raise GroupNotFoundError(spec, self.where)
        self._check_columns(spec, group)
        return self._select(spec, group, list(columns) if columns else spec.columns)

    def read_training_data(self, spec: GroupSpec, columns: list[str]) -> tuple[pd.DataFrame, str]:
        """Training rows through a feature view (``<group>_training``), as Hopsworks intends:
        each call records a training dataset version, which the model card names."""
        group = self._group(spec)
        if group is None:
            raise GroupNotFoundError(spec, self.where)
        name = feature_view_name(spec)
        view = self._call(
            f"open feature view '{name}'",
            lambda: self._store().get_or_create_feature_view(
                name=name, query=group.select(columns), version=spec.version, description=feature_view_description(spec)
            ),
        )
        features, _ = self._call(
            f"read training data of feature view '{name}'",
            lambda: view.training_data(
                description=TRAINING_DATASET_DESCRIPTION, primary_key=True, event_time=True, read_options=self._read_options()
            ),
        )
        dataset = view.get_last_accessed_training_dataset()
        frame = _as_contract(spec, features, columns)
        return frame, f"feature view {name} v{spec.version}, training dataset v{dataset} in {self.where}"

    def check_group(self, spec: GroupSpec) -> bool:
        """Whether the group exists; a ``StoreError`` if it exists but cannot take this contract's
        writes (another kind of group, other features). Not part of the port: ``doctor`` uses it."""
        group = self._group(spec)
        if group is None:
            return False
        self._check_stream(spec, group)
        self._check_columns(spec, group)
        return True

    def check_kafka(self) -> str:
        """List the topics of the project's Kafka with the SDK's own consumer and configuration,
        as every write does before it produces; return a line saying where and how fast. Not part
        of the port: ``doctor`` uses it. Raises ``StoreError`` with the cause and the fix."""
        from hsfs.core import kafka_engine

        timeout = kafka_timeout_s(self.timeout_s)
        store_id = self._store().id
        config = self._call("read the project's Kafka settings", lambda: kafka_engine._get_kafka_config(store_id, {}))
        servers = config.get("bootstrap.servers", "?")

        def list_topics() -> int:
            consumer = kafka_engine.Consumer({**config, "group.id": "tweetgen_doctor"})
            try:
                return len(consumer.list_topics(timeout=timeout).topics)
            finally:
                consumer.close()

        topics = self._call(f"list the topics of its Kafka broker at {servers}", list_topics)
        return f"broker {servers} answered within {timeout:g} s ({topics} topics visible to this key)"

    def drop(self, spec: GroupSpec) -> bool:
        """Delete the group ``spec`` (and the feature views built on it); False if it did not exist.

        Not part of the port: ``doctor`` and the live tests clean up with it.
        """
        group = self._group(spec)
        if group is None:
            return False
        self._call(f"delete feature group '{spec.name}'", lambda: group.delete(delete_feature_views=True))
        return True

    # ---- writing ---------------------------------------------------------------------------

    def _merge_new(self, spec: GroupSpec, table: pa.Table) -> WriteResult:
        group = self._writable_group(spec)
        frame = table.to_pandas()
        if group.id is not None:  # the group exists: keep only keys it does not hold yet
            self._check_columns(spec, group)
            self._settle(spec, group)
            held = self._select(spec, group, list(spec.primary_key))
            frame = frame[~_keys(frame, spec).isin(_keys(held, spec))].reset_index(drop=True)
        if len(frame):
            job = self._send(spec, group, frame)
            if plan_of(spec.name) != SCHEDULED:
                self._await_materialization(spec, job, len(frame))
        return WriteResult(inserted=len(frame), already_present=table.num_rows - len(frame))

    def _send(self, spec: GroupSpec, group: Any, frame: pd.DataFrame) -> Any:
        """Send ``frame`` through Kafka and start the materialization job; return the job.

        If the rows reached Kafka but the job could not be started, the sentence says so: until
        that job runs, the rows are in Kafka only, and a write repeated with new event times
        (a monitor row generated again) would be stored twice.
        """
        try:
            with contextlib.redirect_stdout(sys.stderr):
                job, _ = group.insert(frame, write_options=self._write_options(spec))
            return job
        except sdk_errors() as error:
            action = f"send {len(frame)} rows to feature group '{spec.name}'"
            sentence = failure_sentence(action, self.where, error, self._api_key, self.timeout_s)
            if re.search(r"/jobs/[^/]+/executions", str(getattr(error, "url", ""))):
                sentence = (
                    f"{sentence[:-1]}; the rows reached Kafka but its materialization job did not start, so run "
                    f"'{spec.name}_{spec.version}_offline_fg_materialization' in the Hopsworks UI (Jobs) before "
                    "running the command again."
                )
            raise StoreError(sentence) from None

    def _writable_group(self, spec: GroupSpec) -> Any:
        """The group as a stream group (new: created on its first insert); refuse any other kind."""
        group = self._call(
            f"open feature group '{spec.name}'",
            lambda: self._store().get_or_create_feature_group(
                name=spec.name,
                version=spec.version,
                description=spec.description,
                primary_key=list(spec.primary_key),
                event_time=spec.event_time,
                online_enabled=False,
                time_travel_format="DELTA",
                stream=True,
            ),
        )
        if group.id is not None:
            self._check_stream(spec, group)
        return group

    def _check_stream(self, spec: GroupSpec, group: Any) -> None:
        if not group.stream:
            raise StoreError(
                f"The feature group '{spec.name}' v{spec.version} in {self.where} is not a stream group, so it "
                "cannot be written from outside the Hopsworks cluster (tweetgen writes through Kafka); delete it "
                "in the Hopsworks UI (Feature Store > Feature Groups) or give the contract a new version, and run again."
            )

    def _settle(self, spec: GroupSpec, group: Any) -> None:
        """Make the offline table hold every row an earlier write sent, before reading its keys.

        Until the group's last materialization has succeeded, the rows it carries are in Kafka but
        not in the table, and this write would not see them: a row whose event time differs (a
        monitor row generated again, a cursor recorded again) would then be stored twice. So a
        run still going is waited for (bounded), and a run that failed is run again, from where
        the last successful one stopped (the job's own checkpoint), and waited for.
        """
        job = self._call(f"look up the materialization job of '{spec.name}'", lambda: group.materialization_job)
        executions = self._call(f"look up the materialization job of '{spec.name}'", job.get_executions)
        if not executions:
            return
        if executions[0].success is None:
            self._wait_for(executions[0])
            if self._final_state(spec, job) == "UNDEFINED":
                raise StoreError(
                    f"The materialization job '{job.name}' of feature group '{spec.name}' in {self.where} is still "
                    f"running from an earlier write after {self.job_timeout_s:g} s; wait for it in the Hopsworks UI "
                    "(Jobs), then run again, or raise HOPSWORKS_JOB_TIMEOUT."
                )
        if self._final_state(spec, job) not in ("SUCCEEDED", "UNDEFINED"):
            self._rematerialize(spec, job)

    def _rematerialize(self, spec: GroupSpec, job: Any) -> None:
        """Run the group's materialization job again after a failed run, and wait for it (bounded)."""
        arguments = str((job.config or {}).get("defaultArgs", ""))
        execution = self._call(
            f"run the materialization job of '{spec.name}' again",
            lambda: job.run(args=arguments, await_termination=False),
        )
        self._wait_for(execution)
        state = self._final_state(spec, job)
        if state == "SUCCEEDED":
            return
        raise StoreError(
            f"The materialization job '{job.name}' of feature group '{spec.name}' in {self.where} failed for an "
            f"earlier write and, run again, ended {state}; the rows of that write wait in Kafka, so nothing new was "
            "written: open the job's logs in the Hopsworks UI (Jobs), fix the cause, and run the command again."
        )

    def _await_materialization(self, spec: GroupSpec, job: Any, rows: int) -> None:
        """Wait (bounded) for the job that merges the rows just sent to Kafka into the offline table."""
        if job is None:
            raise StoreError(
                f"Hopsworks started no materialization job for feature group '{spec.name}' in {self.where}; "
                "check that it is a stream group in the Hopsworks UI."
            )
        executions = self._call(f"look up the materialization job of '{spec.name}'", job.get_executions)
        if executions:
            self._wait_for(executions[0])
        state = self._final_state(spec, job)
        if state == "SUCCEEDED":
            return
        if state == "UNDEFINED":
            raise StoreError(
                f"The materialization job '{job.name}' of feature group '{spec.name}' in {self.where} had not "
                f"finished after {self.job_timeout_s:g} s; the {rows} rows sent through Kafka appear when it does: "
                "follow it in the Hopsworks UI (Jobs) before writing again, or raise HOPSWORKS_JOB_TIMEOUT."
            )
        raise StoreError(
            f"The materialization job '{job.name}' of feature group '{spec.name}' in {self.where} ended {state}, so "
            f"the {rows} rows sent through Kafka are not in the offline table; open the job's logs in the Hopsworks "
            "UI (Jobs), fix the cause, and run the command again (rows already stored are skipped)."
        )

    def _wait_for(self, execution: Any) -> None:
        """``await_termination`` bounded by ``job_timeout_s``; how the run ended is read afterwards
        from the job's final state (the SDK raises ``JobExecutionException`` for a failed one)."""
        from hopsworks_common.client.exceptions import JobExecutionException

        self._call(
            "wait for the materialization job",
            lambda: execution.await_termination(timeout=self.job_timeout_s),
            ignored=(JobExecutionException,),
        )

    def _final_state(self, spec: GroupSpec, job: Any) -> str:
        return str(self._call(f"read the state of the materialization job of '{spec.name}'", job.get_final_state))

    def _write_options(self, spec: GroupSpec) -> dict[str, Any]:
        options: dict[str, Any] = {
            "wait_for_job": False,  # waited for with a bound: see _await_materialization
            "kafka_producer_config": {"message.timeout.ms": int(self.timeout_s * 1000)},  # bounds producer.flush()
            "kafka_timeout": kafka_timeout_s(self.timeout_s),  # bounds the offsets look-up before producing
        }
        if plan_of(spec.name) == SCHEDULED:  # the SDK then only sends the rows and (re)sets the job's schedule
            options.update(start_offline_materialization=False, offline_backfill_every_hr=SCHEDULED_MATERIALIZATION)
        return options

    # ---- reading ---------------------------------------------------------------------------

    def _store(self) -> Any:
        if self._fs is None:
            self._fs = self._call("open the feature store", self.project.get_feature_store)
        return self._fs

    def _group(self, spec: GroupSpec) -> Any:
        """The SDK's group, or ``None`` if it was never written (``get_feature_group``'s contract)."""
        return self._call(
            f"look up feature group '{spec.name}'",
            lambda: self._store().get_feature_group(spec.name, version=spec.version),
        )

    def _select(self, spec: GroupSpec, group: Any, columns: list[str]) -> pd.DataFrame:
        # A query, not fg.read(): fg.read() filters on HOPS_START_TIME/HOPS_END_TIME when a
        # scheduler sets them, and a filtered key list would let duplicates in.
        frame = self._call(
            f"read feature group '{spec.name}'",
            lambda: group.select(columns).read(dataframe_type="pandas", read_options=self._read_options()),
        )
        return _as_contract(spec, frame, columns)

    def _read_options(self) -> dict[str, Any]:
        return {"arrow_flight_config": {"timeout": self.timeout_s}}  # the SDK's default is 900 s

    def _check_columns(self, spec: GroupSpec, group: Any) -> None:
        """Refuse a group that someone created with other features or keys than the contract."""
        stored = [(f.name, f.type.lower()) for f in group.columns]
        wanted = [(f.name, _offline_type(f.type)) for f in spec.schema]
        if sorted(stored) != sorted(wanted) or sorted(group.primary_key) != sorted(spec.primary_key):
            raise StoreError(
                f"The feature group '{spec.name}' v{spec.version} in {self.where} has other features "
                f"({', '.join(f'{n} {t}' for n, t in stored)}; primary key {', '.join(group.primary_key)}) "
                "than the contract; write to a new version or delete the group in Hopsworks."
            )

    def _call(self, action: str, function: Callable[[], T], ignored: tuple[type[BaseException], ...] = ()) -> T:
        """Run one SDK call: its chatter goes to stderr (stdout carries results), its failures
        become one ``StoreError`` sentence; ``ignored`` exceptions return None."""
        errors = sdk_errors()
        try:
            with contextlib.redirect_stdout(sys.stderr):
                return function()
        except ignored:
            return None  # type: ignore[return-value]
        except errors as error:
            raise StoreError(failure_sentence(action, self.where, error, self._api_key, self.timeout_s)) from None


def _offline_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    return OFFLINE_TYPES.get(arrow_type, str(arrow_type))


def _keys(frame: pd.DataFrame, spec: GroupSpec) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(frame[list(spec.primary_key)])


def _as_contract(spec: GroupSpec, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The SDK's frame with the contract's dtypes: naive UTC timestamps become UTC-aware."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise StoreError(f"Hopsworks returned feature group '{spec.name}' without columns {missing}.")
    frame = frame[columns].copy()
    schema = pa.schema([spec.schema.field(c) for c in columns])
    for field in schema:
        if pa.types.is_timestamp(field.type):
            values = pd.to_datetime(frame[field.name])
            frame[field.name] = values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False).to_pandas()
