"""Local feature store: one Delta Lake table per feature group and version, under ``data/``.

Layout: ``<root>/<name>_<version>/`` is a Delta table; ``_tweetgen_group.json`` beside its log
records the contract (primary key, event time, description). Writers merge on the primary key in
one Delta commit, so readers see either the old or the new snapshot, never half a write, and are
never blocked. Concurrent writers retry on a commit conflict. DuckDB queries the tables through
Arrow datasets (its own ``delta_scan`` needs a download, so it is not used).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from tweetgen.config import Settings
from tweetgen.errors import StoreError
from tweetgen.schema import GroupSpec
from tweetgen.store.port import FeatureStore, GroupNotFoundError, WriteResult

GROUP_FILE = "_tweetgen_group.json"
COMMIT_RETRIES = 8


class LocalFeatureStore(FeatureStore):
    """Feature groups as Delta Lake tables in ``root`` (created on the first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.where = str(self.root)

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalFeatureStore:
        return cls(settings.feature_store_dir)

    def path(self, spec: GroupSpec) -> Path:
        return self.root / f"{spec.name}_{spec.version}"

    def exists(self, spec: GroupSpec) -> bool:
        path = self.path(spec)  # is_deltatable would create a missing folder: look first
        return path.is_dir() and DeltaTable.is_deltatable(str(path))

    def _merge_new(self, spec: GroupSpec, table: pa.Table) -> WriteResult:
        self._ensure_table(spec)
        predicate = " AND ".join(f"t.{key} = s.{key}" for key in spec.primary_key)
        for attempt in range(COMMIT_RETRIES):
            try:
                metrics = (
                    DeltaTable(str(self.path(spec)))
                    .merge(table, predicate, source_alias="s", target_alias="t")
                    .when_not_matched_insert_all()
                    .execute()
                )
                break
            except CommitFailedError:
                time.sleep(0.05 * 2**attempt)  # another writer committed first: merge again
        else:
            raise StoreError(f"Could not write '{spec.name}' in {self.where}: other writers kept conflicting; try again.")
        inserted = int(metrics["num_target_rows_inserted"])
        return WriteResult(inserted=inserted, already_present=table.num_rows - inserted)

    def _ensure_table(self, spec: GroupSpec) -> None:
        path = self.path(spec)
        if not self.exists(spec):
            path.mkdir(parents=True, exist_ok=True)
            try:
                write_deltalake(str(path), spec.schema.empty_table(), mode="ignore", name=spec.name, description=spec.description)
            except DeltaError:
                if not self.exists(spec):  # not a lost creation race: a real failure
                    raise
            (path / GROUP_FILE).write_text(json.dumps(_group_record(spec), indent=2) + "\n")
        self._check_schema(spec)

    def _check_schema(self, spec: GroupSpec) -> None:
        stored = pa.schema(DeltaTable(str(self.path(spec))).schema().to_arrow())
        if stored.names != spec.schema.names or not stored.equals(spec.schema, check_metadata=False):
            raise StoreError(
                f"The table for '{spec.name}' v{spec.version} in {self.where} has another schema than the "
                f"contract; write to a new version or remove {self.path(spec)}."
            )

    def _table(self, spec: GroupSpec) -> DeltaTable:
        try:
            return DeltaTable(str(self.path(spec)))
        except TableNotFoundError:
            raise GroupNotFoundError(spec, self.where) from None

    def read(self, spec: GroupSpec, columns: list[str] | None = None) -> pd.DataFrame:
        return self._table(spec).to_pyarrow_table(columns=columns).to_pandas()

    def scan(self, spec: GroupSpec) -> object:
        return self._table(spec).to_pyarrow_dataset()

    def table_version(self, spec: GroupSpec) -> int:
        """The Delta version of the group: a data version to record with a trained model."""
        return self._table(spec).version()

    def commits(self, spec: GroupSpec) -> pd.DataFrame:
        """The commits of the group's Delta table, oldest first: version, time (UTC), operation, rows added."""
        rows = []
        for commit in self._table(spec).history():
            metrics = commit.get("operationMetrics") or {}
            added = metrics.get("num_target_rows_inserted", metrics.get("num_added_rows"))
            rows.append({
                "version": commit.get("version"),
                "timestamp": pd.to_datetime(commit.get("timestamp"), unit="ms", utc=True),
                "operation": commit.get("operation"),
                "rows_added": None if added is None else int(added),
            })
        return pd.DataFrame(rows).sort_values("version").reset_index(drop=True)

    def read_version(self, spec: GroupSpec, version: int) -> pd.DataFrame:
        """The group's rows as they were at Delta table ``version`` (time travel)."""
        self._table(spec)  # the group exists, or GroupNotFoundError
        return DeltaTable(str(self.path(spec)), version=version).to_pyarrow_table().to_pandas()

    def read_training_data(self, spec: GroupSpec, columns: list[str]) -> tuple[pd.DataFrame, str]:
        """The group at one Delta version, and that version (so the card names the exact data)."""
        table = self._table(spec)
        frame = table.to_pyarrow_table(columns=columns).to_pandas()
        return frame, f"{spec.name} v{spec.version}, Delta table version {table.version()} in {self.where}"


def _group_record(spec: GroupSpec) -> dict[str, object]:
    return {
        "name": spec.name,
        "version": spec.version,
        "primary_key": list(spec.primary_key),
        "event_time": spec.event_time,
        "description": spec.description,
    }
