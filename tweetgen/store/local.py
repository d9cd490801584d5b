"""Local feature store: one Delta Lake table per feature group and version, under ``data/``.

Layout: ``<root>/<name>_<version>/`` is a Delta table; ``_tweetgen_group.json`` beside its log
records the contract (primary key, event time, description). Writers merge on the primary key in
one Delta commit, so readers see either the old or the new snapshot, never half a write, and are
never blocked. Concurrent writers retry on a commit conflict. DuckDB queries the tables through
Arrow datasets (its own ``delta_scan`` needs a download, so it is not used).

Damage and leftovers: every open checks the table's log first (``tweetgen.store.delta_log``), so
a damaged commit is named, with the way to recover, instead of rolling the table back silently
or failing deep inside ``deltalake``. Writers hold ``_tweetgen_writers.lock`` shared; the first
writer to find it free removes what a killed writer left (data files no commit names, temporary
commit files) before it writes, so no file a live writer is still committing is ever touched.
A data file the log names but the folder lacks (deleted by hand, lost in a copy) is named, with
the way to recover, on every open, so every command that reads the table says the same sentence.
A table's folder, its log and its lock are never reached through a symbolic link
(``tweetgen.files``): a link there is refused, naming it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from tweetgen.config import Settings
from tweetgen.errors import StoreError
from tweetgen.files import make_folder, real_folder, shared_lock
from tweetgen.schema import GroupSpec
from tweetgen.store.delta_log import check_delta_log, logged_paths, unlogged_files
from tweetgen.store.port import FeatureStore, GroupNotFoundError, WriteResult

GROUP_FILE = "_tweetgen_group.json"
WRITERS_LOCK = "_tweetgen_writers.lock"
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
        if not real_folder(path, _table_of(spec)):
            return False
        check_delta_log(path)
        return DeltaTable.is_deltatable(str(path))

    def _merge_new(self, spec: GroupSpec, table: pa.Table) -> WriteResult:
        path = make_folder(self.path(spec), _table_of(spec))
        with shared_lock(path / WRITERS_LOCK, when_alone=lambda: self.remove_leftovers(spec)):
            self._ensure_table(spec)
            return self._merge_locked(spec, table)

    def remove_leftovers(self, spec: GroupSpec) -> list[Path]:
        """Remove the files of the group's table that no commit names (a killed writer's); return
        them. Call only while no other writer can be writing (``_merge_new`` holds the lock)."""
        path = self.path(spec)
        if not self.exists(spec):
            return []
        known = logged_paths(path) | {str(p) for p in self._table(spec).get_add_actions().column("path").to_pylist()}
        leftovers = unlogged_files(path, known)
        for file in leftovers:
            file.unlink(missing_ok=True)
        return leftovers

    def _merge_locked(self, spec: GroupSpec, table: pa.Table) -> WriteResult:
        predicate = " AND ".join([*(f"t.{key} = s.{key}" for key in spec.primary_key), *_key_ranges(spec, table)])
        for attempt in range(COMMIT_RETRIES):
            try:
                metrics = (
                    self._table(spec)
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
            make_folder(path, _table_of(spec))
            try:
                write_deltalake(str(path), spec.schema.empty_table(), mode="ignore", name=spec.name, description=spec.description)
            except DeltaError:
                if not self.exists(spec):  # not a lost creation race: a real failure
                    raise
            (path / GROUP_FILE).write_text(json.dumps(_group_record(spec), indent=2) + "\n")
        self._check_schema(spec)

    def _check_schema(self, spec: GroupSpec) -> None:
        stored = pa.schema(self._table(spec).schema().to_arrow())
        if stored.names != spec.schema.names or not stored.equals(spec.schema, check_metadata=False):
            raise StoreError(
                f"The table for '{spec.name}' v{spec.version} in {self.where} has another schema than the "
                f"contract; write to a new version or remove {self.path(spec)}."
            )

    def _table(self, spec: GroupSpec, version: int | None = None) -> DeltaTable:
        """The group's Delta table (at ``version``), its log checked first.

        Raises:
            GroupNotFoundError: the group was never written.
            StoreError: the log is damaged or cannot be read (names the file and how to recover).
        """
        path = self.path(spec)
        if not real_folder(path, _table_of(spec)):
            raise GroupNotFoundError(spec, self.where)
        check_delta_log(path)
        try:
            table = DeltaTable(str(path), version=version)
        except TableNotFoundError:
            raise GroupNotFoundError(spec, self.where) from None
        except DeltaError as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise StoreError(
                f"The Delta table {path} cannot be read ({first_line}); restore it from a backup, "
                f"or remove it and run `{spec.filled_by}` again."
            ) from None
        _check_data_files(spec, path, table)
        return table

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
        return self._table(spec, version).to_pyarrow_table().to_pandas()

    def read_training_data(self, spec: GroupSpec, columns: list[str]) -> tuple[pd.DataFrame, str]:
        """The group at one Delta version, and that version (so the card names the exact data)."""
        table = self._table(spec)
        frame = table.to_pyarrow_table(columns=columns).to_pandas()
        return frame, f"{spec.name} v{spec.version}, Delta table version {table.version()} in {self.where}"


def _table_of(spec: GroupSpec) -> str:
    return f"the Delta table of '{spec.name}' v{spec.version}"


def _check_data_files(spec: GroupSpec, path: Path, table: DeltaTable) -> None:
    """Raise ``StoreError`` naming the first data file the table's log lists but its folder lacks."""
    for uri in table.file_uris():
        if not os.path.exists(uri):
            raise StoreError(
                f"The Delta table {path} is missing its data file {Path(uri).name} (version {table.version()} lists it); "
                f"restore that file from a backup, or remove {path} and run `{spec.filled_by}` again."
            )


def _key_ranges(spec: GroupSpec, table: pa.Table) -> list[str]:
    """``t.key >= lo AND t.key <= hi`` for each integer key column, the range the new rows span.

    It changes no result (a matching row must lie in the range) but lets the merge skip every
    file whose statistics lie outside it, so a large load written in key order reads only the
    files it could match, not the whole table, for each batch.
    """
    ranges = []
    for key in spec.primary_key:
        column = table.column(key)
        if pa.types.is_integer(column.type) and column.null_count == 0:
            low, high = pc.min(column).as_py(), pc.max(column).as_py()
            ranges += [f"t.{key} >= {int(low)}", f"t.{key} <= {int(high)}"]
    return ranges


def _group_record(spec: GroupSpec) -> dict[str, object]:
    return {
        "name": spec.name,
        "version": spec.version,
        "primary_key": list(spec.primary_key),
        "event_time": spec.event_time,
        "description": spec.description,
    }
