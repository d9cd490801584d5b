"""Hopsworks feature store: feature groups in a Hopsworks project, through the ``hopsworks`` SDK.

``connect_hopsworks`` logs in without ever prompting: the API key and the project must be set,
and the login is bounded in time (the SDK has no client timeout). ``import hopsworks`` happens
inside functions, so importing this module costs nothing and needs no account.

Writes keep the port's semantics although the SDK's Python engine does not: for Delta groups
it merges on primary key *and* event time, so a known key with another event time, or a key
twice in one frame, would be stored twice. The adapter therefore reads the keys the group
holds and inserts only rows with new keys. This check and the insert are not one transaction:
run one writer per group at a time (the scheduled pipelines do).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa

from tweetgen.config import Settings
from tweetgen.errors import ConfigError, StoreError
from tweetgen.feature_store import FeatureStore, GroupNotFoundError, WriteResult
from tweetgen.schema import GroupSpec

T = TypeVar("T")

#: Hopsworks offline types of the Arrow types the contracts use.
OFFLINE_TYPES = {
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.string(): "string",
    pa.bool_(): "boolean",
}


class HopsworksFeatureStore(FeatureStore):
    """Feature groups of one Hopsworks project (``project`` from ``connect_hopsworks``)."""

    def __init__(self, project: Any, api_key: str | None = None) -> None:
        self.project = project
        self.where = f"Hopsworks project '{project.name}'"
        self._api_key = api_key  # only to scrub it from error messages
        self._fs: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> HopsworksFeatureStore:
        """Log in (see ``connect_hopsworks``); the factory in ``tweetgen.backends`` calls this."""
        return cls(connect_hopsworks(settings), api_key=(settings.hopsworks_api_key or "").strip())

    def exists(self, spec: GroupSpec) -> bool:
        return self._group(spec) is not None

    def read(self, spec: GroupSpec, columns: list[str] | None = None) -> pd.DataFrame:
        group = self._group(spec)
        if group is None:
            raise GroupNotFoundError(spec, self.where)
        self._check_features(spec, group)
        return self._select(spec, group, list(columns) if columns else spec.columns)

    def read_training_data(self, spec: GroupSpec, columns: list[str]) -> tuple[pd.DataFrame, str]:
        """Training rows through a feature view (``<group>_training``), as Hopsworks intends:
        each call records a training dataset version, which the model card names."""
        group = self._group(spec)
        if group is None:
            raise GroupNotFoundError(spec, self.where)
        view_name = f"{spec.name}_training"
        view = self._call(
            f"open feature view '{view_name}'",
            lambda: self._store().get_or_create_feature_view(
                name=view_name, query=group.select(columns), version=spec.version,
                description=f"Training data of the {spec.name} group: {', '.join(columns)}.",
            ),
        )
        features, _ = self._call(
            f"read training data of feature view '{view_name}'",
            lambda: view.training_data(description="tweetgen training run", primary_key=True, event_time=True),
        )
        dataset = view.get_last_accessed_training_dataset()
        frame = _as_contract(spec, features, columns)
        return frame, f"feature view {view_name} v{spec.version}, training dataset v{dataset} in {self.where}"

    def _merge_new(self, spec: GroupSpec, table: pa.Table) -> WriteResult:
        group = self._call(
            f"open feature group '{spec.name}'",
            lambda: self._store().get_or_create_feature_group(
                name=spec.name,
                version=spec.version,
                description=spec.description,
                primary_key=list(spec.primary_key),
                event_time=spec.event_time,
                online_enabled=False,
            ),
        )
        frame = table.to_pandas()
        if group.id is not None:  # the group exists: keep only keys it does not hold yet
            self._check_features(spec, group)
            held = self._select(spec, group, list(spec.primary_key))
            frame = frame[~_keys(frame, spec).isin(_keys(held, spec))].reset_index(drop=True)
        if len(frame):
            self._call(
                f"write {len(frame)} rows to feature group '{spec.name}'",
                lambda: group.insert(frame, write_options={"wait_for_job": True}),
            )
        return WriteResult(inserted=len(frame), already_present=table.num_rows - len(frame))

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
            lambda: group.select(columns).read(dataframe_type="pandas"),
        )
        return _as_contract(spec, frame, columns)

    def _check_features(self, spec: GroupSpec, group: Any) -> None:
        """Refuse a group that someone created with other features or keys than the contract."""
        stored = [(f.name, f.type.lower()) for f in group.features]
        wanted = [(f.name, _offline_type(f.type)) for f in spec.schema]
        if sorted(stored) != sorted(wanted) or sorted(group.primary_key) != sorted(spec.primary_key):
            raise StoreError(
                f"The feature group '{spec.name}' v{spec.version} in {self.where} has other features "
                f"({', '.join(f'{n} {t}' for n, t in stored)}; primary key {', '.join(group.primary_key)}) "
                "than the contract; write to a new version or delete the group in Hopsworks."
            )

    def _call(self, action: str, function: Callable[[], T]) -> T:
        errors = sdk_errors()
        try:
            return function()
        except errors as error:
            raise StoreError(
                f"Hopsworks could not {action} in {self.where} ({describe_error(error, self._api_key)}); "
                "check the project, your API key's scopes and the group in the Hopsworks UI."
            ) from None


def connect_hopsworks(settings: Settings) -> Any:
    """Log in to Hopsworks and return the project, or raise without prompting or hanging.

    Raises:
        ConfigError: HOPSWORKS_API_KEY or HOPSWORKS_PROJECT is not set (checked before any call).
        StoreError: the login failed, or did not finish within ``settings.hopsworks_timeout_s``.
    """
    api_key = (settings.hopsworks_api_key or "").strip()  # a trailing newline once leaked the key
    if not api_key:
        raise ConfigError(
            "HOPSWORKS_API_KEY is not set: create an API key in the Hopsworks UI (Account settings > "
            "API keys) and set HOPSWORKS_API_KEY=<key> in the environment or in .env, or use "
            "TWEETGEN_BACKEND=local."
        )
    project = (settings.hopsworks_project or "").strip()
    if not project:
        raise ConfigError(
            "HOPSWORKS_PROJECT is not set: set it to the name of your Hopsworks project in the "
            "environment or in .env (without it the SDK would ask in an interactive menu)."
        )
    host, timeout = settings.hopsworks_host, settings.hopsworks_timeout_s
    import hopsworks

    def login() -> Any:
        return hopsworks.login(host=host, project=project, api_key_value=api_key, engine="python")

    try:
        result = _run_bounded(login, timeout)
    except TimeoutError:
        raise StoreError(
            f"Logging in to Hopsworks at {host} did not finish within {timeout:g} s; check your network "
            "connection and HOPSWORKS_HOST, or raise HOPSWORKS_TIMEOUT."
        ) from None
    except Exception as error:  # noqa: BLE001 - any login failure is one message, never a traceback with the key
        raise StoreError(
            f"Could not log in to Hopsworks project '{project}' at {host} ({describe_error(error, api_key)}); "
            "check HOPSWORKS_API_KEY, HOPSWORKS_PROJECT and HOPSWORKS_HOST."
        ) from None
    if result is None:
        raise StoreError(f"Hopsworks at {host} returned no project for '{project}'; check HOPSWORKS_PROJECT.")
    return result


def _run_bounded(function: Callable[[], T], timeout: float) -> T:
    """Run ``function`` in a daemon thread; raise ``TimeoutError`` if it has not returned in time.

    A daemon thread, not an executor: a hung login must not keep the process from exiting.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, name="hopsworks-login", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def sdk_errors() -> tuple[type[BaseException], ...]:
    """The exceptions an SDK call raises for a refusal (OSError covers requests' errors)."""
    import hopsworks

    exceptions = hopsworks.client.exceptions
    return (exceptions.RestAPIError, exceptions.FeatureStoreException, exceptions.ProjectException, OSError, EOFError)


def describe_error(error: BaseException, secret: str | None) -> str:
    """One line about an SDK error: its type, HTTP status, and a short message without the key."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    text = getattr(error, "user_message", "")
    if not text and status:  # RestAPIError's str() is a multi-line dump: name the reason and URL instead
        url = getattr(error, "url", None) or getattr(response, "url", "")
        text = f"{getattr(response, 'reason', '') or 'error'} for {url}"
    text = " ".join((text or str(error)).split())
    if secret:
        text = text.replace(secret, "***")
    if len(text) > 200:
        text = text[:197] + "..."
    parts = [type(error).__name__, f"HTTP {status}" if status else "", text]
    return ": ".join(p for p in parts if p)


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
