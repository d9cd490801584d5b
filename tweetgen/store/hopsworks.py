"""Hopsworks feature store: feature groups in a Hopsworks project, through the ``hopsworks`` SDK.

The login, its time bound and the error sentences live in ``tweetgen.clients.hopsworks``, shared
with the registry adapter. ``import hopsworks`` happens inside functions, so importing this module
costs nothing and needs no account.

Writes keep the port's semantics although the SDK's Python engine does not: for Delta groups
it merges on primary key *and* event time, so a known key with another event time, or a key
twice in one frame, would be stored twice. The adapter therefore reads the keys the group
holds and inserts only rows with new keys. This check and the insert are not one transaction:
run one writer per group at a time (the scheduled pipelines do).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa

from tweetgen.clients.hopsworks import connect_hopsworks, describe_error, sdk_errors
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


class HopsworksFeatureStore(FeatureStore):
    """Feature groups of one Hopsworks project (``project`` from ``connect_hopsworks``)."""

    def __init__(self, project: Any, api_key: str | None = None) -> None:
        self.project = project
        self.where = f"Hopsworks project '{project.name}'"
        self._api_key = api_key  # only to scrub it from error messages
        self._fs: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> HopsworksFeatureStore:
        """Log in (see ``connect_hopsworks``); ``tweetgen.store.factory`` calls this."""
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
