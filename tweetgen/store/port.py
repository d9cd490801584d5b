"""The feature-store port: what every pipeline may ask of a feature store.

Write semantics (both backends): ``insert`` validates the frame against the group's contract,
then merges it on the primary key. Keys that are new are inserted; keys already present are left
as they are (the first write wins), so writing the same rows again adds nothing. A frame with a
duplicated key is refused: drop duplicates first, and count them.

Reads return pandas frames with the group's columns and UTC-aware timestamps.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from tweetgen.errors import StoreError
from tweetgen.schema import GroupSpec
from tweetgen.store.validation import validate


@dataclass(frozen=True)
class WriteResult:
    """What an insert did: rows added, and rows whose key the group already held."""

    inserted: int
    already_present: int


class GroupNotFoundError(StoreError):
    """The feature group has never been written."""

    def __init__(self, spec: GroupSpec, where: str) -> None:
        hint = f" Run `{spec.filled_by}` to create it." if spec.filled_by else ""
        super().__init__(f"The feature group '{spec.name}' (version {spec.version}) does not exist yet in {where}.{hint}")
        self.spec = spec


class FeatureStore(abc.ABC):
    """A feature store holding versioned feature groups (see the module docstring)."""

    #: Human-readable location, used in messages ("data/feature_store", "Hopsworks project x").
    where: str = ""

    def insert(self, spec: GroupSpec, frame: pd.DataFrame) -> WriteResult:
        """Validate ``frame`` against ``spec`` and merge it on the primary key.

        Raises:
            ValidationError: the frame breaks the contract; nothing is written.
            StoreError: the store refused the write; nothing is written.
        """
        table = validate(spec, frame)
        if table.num_rows == 0:
            return WriteResult(inserted=0, already_present=0)
        return self._merge_new(spec, table)

    @abc.abstractmethod
    def _merge_new(self, spec: GroupSpec, table: pa.Table) -> WriteResult:
        """Insert the rows of a validated ``table`` whose primary key the group does not hold."""

    @abc.abstractmethod
    def exists(self, spec: GroupSpec) -> bool:
        """Whether the group has been written at least once."""

    @abc.abstractmethod
    def read(self, spec: GroupSpec, columns: list[str] | None = None) -> pd.DataFrame:
        """Read the whole group. Raises ``GroupNotFoundError`` if it was never written."""

    def read_training_data(self, spec: GroupSpec, columns: list[str]) -> tuple[pd.DataFrame, str]:
        """The rows a model trains on, and a description of that data version for the model card.

        Raises ``GroupNotFoundError`` if the group was never written.
        """
        return self.read(spec, columns), f"{spec.name} v{spec.version} in {self.where}"

    def scan(self, spec: GroupSpec) -> pa.Table | object:
        """An Arrow object DuckDB can query (a table, or a lazy dataset where the backend has one)."""
        return pa.Table.from_pandas(self.read(spec), preserve_index=False)
