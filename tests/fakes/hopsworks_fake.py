"""An in-memory fake of the ``hopsworks`` SDK (5.2.x) surface that tweetgen's adapters use.

It enforces the rules the real service and client enforce (see ``../shared/REFERENCE.md`` and the
SDK source in ``hopsworks``/``hsfs``), so that an adapter which breaks one fails here first:

- ``login`` without a key raises ``EOFError`` (the SDK's ``getpass`` prompt with no terminal), a
  wrong key raises ``RestAPIError`` (401), several projects and none named raise ``EOFError``
  (the SDK's interactive menu); ``hang_login`` makes it block until the test ends.
- ``fs.get_feature_group(name, version)`` returns ``None`` for a group that does not exist;
  ``fs.get_or_create_feature_group(name, version, ...)`` needs a version, creates nothing and
  returns a group whose ``id`` is ``None`` until its first ``insert``; it never updates an
  existing group's metadata.
- On the first insert the server checks names: groups and features are 1-63 of ``[a-z0-9_]``
  with at least one letter (``RestAPIError`` 400). The client lowercases column names, converts
  tz-aware timestamps to naive UTC, and maps dtypes: int64 -> bigint, float64 -> double,
  str -> string, bool -> boolean, datetime -> timestamp; uint64 and all-null columns are
  rejected (``FeatureStoreException``), as is a later insert whose columns differ from the group.
- Inserts merge like the Python engine on Delta groups: a row whose primary key *and* event
  time match a stored row replaces it; every other row is appended, so duplicate keys in one
  frame (or a known key with another event time) are stored twice.
- Reads return naive UTC timestamps (``datetime64[ns]``), as the SDK does.

Use the ``fake_hopsworks`` fixture: it puts the fake in ``sys.modules["hopsworks"]``. Import it
into a test module as ``from tests.fakes.hopsworks_fake import fake_hopsworks_fixture`` (a
different name than the fixture's, so that linters do not see a redefinition).
The model registry and the dataset API (``project.get_model_registry()``,
``project.get_dataset_api()``) live in ``hopsworks_registry_fake``, which this module imports
when a project asks for them; their models and files are held here, on ``FakeHopsworks``.
"""

from __future__ import annotations

import operator
import re
import shutil
import sys
import threading
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from tweetgen.config import Settings

SAAS_HOST = "eu-west.cloud.hopsworks.ai"
NAME_RULE = re.compile(r"^(?=.*[a-z])[a-z0-9_]{1,63}$")
ENGINES = ("spark", "python", "training", "spark-no-metastore", "spark-delta")


# ---- exceptions, under the names the SDK exports from hopsworks.client.exceptions ----------


class RestAPIError(Exception):
    """The server answered with an error status (message shaped like the SDK's)."""

    def __init__(self, url: str, status_code: int, error_msg: str, user_msg: str = "") -> None:
        super().__init__(
            f"Metadata operation error: (url: {url}). Server response: \n"
            f"HTTP code: {status_code}, HTTP reason: , body: b'', error code: , "
            f"error msg: {error_msg}, user msg: {user_msg}"
        )
        self.url = url
        self.response = types.SimpleNamespace(status_code=status_code, reason=error_msg)
        self.user_message = user_msg


class FeatureStoreException(Exception):
    """A client-side feature-store error."""


class DataValidationException(FeatureStoreException):
    """A strict expectation suite rejected an insert."""


class ProjectException(Exception):
    """A project could not be found or chosen."""


class ModelRegistryException(Exception):
    """A client-side model-registry error (invalid name, version taken)."""


class DatasetException(Exception):
    """A client-side dataset error (destination exists without ``overwrite``)."""


class VersionWarning(Warning):
    """No version was given; the SDK defaults to 1."""


# ---- the server side: what exists, shared by every login of one test --------------------


@dataclass
class StoredGroup:
    """A feature group as the server holds it after its first insert."""

    id: int
    name: str
    version: int
    description: str
    primary_key: list[str]
    event_time: str | None
    online_enabled: bool
    features: list[Feature]
    rows: pd.DataFrame


@dataclass
class FakeHopsworks:
    """The fake service: accepted key, projects, stored groups, and what clients asked of it."""

    api_key: str = "fake-api-key-0123456789"
    projects: tuple[str, ...] = ("tweetgen_test",)
    host: str = SAAS_HOST
    hang_login: bool = False
    login_error: BaseException | None = None  # raised by login, e.g. to test message scrubbing
    login_calls: list[dict[str, Any]] = field(default_factory=list)
    insert_calls: list[dict[str, Any]] = field(default_factory=list)
    groups: dict[tuple[str, str, int], StoredGroup] = field(default_factory=dict)
    views: dict[tuple[str, str, int], Any] = field(default_factory=dict)  # (project, name, version) -> FakeFeatureView
    _released: threading.Event = field(default_factory=threading.Event, repr=False)
    _next_id: int = 100
    # model registry and dataset API (tests/fakes/hopsworks_registry_fake.py)
    models: dict[tuple[str, str, int], Any] = field(default_factory=dict)  # (project, name, version) -> StoredModel
    files: dict[str, bytes] = field(default_factory=dict)  # absolute "/Projects/<p>/..." path -> content
    dirs: set[str] = field(default_factory=set)
    tag_schemas: set[str] = field(default_factory=set)  # created by a platform administrator only
    save_calls: list[dict[str, Any]] = field(default_factory=list)
    download_calls: list[tuple[str, int]] = field(default_factory=list)
    on_save: Callable[[str], None] | None = None  # called at the start of each model.save(), with the name
    _cache_dir: str | None = None

    def settings(self, **overrides: Any) -> Settings:
        """Settings that log in to this fake (override any field)."""
        values: dict[str, Any] = {
            "backend": "hopsworks",
            "hopsworks_api_key": self.api_key,
            "hopsworks_project": self.projects[0],
            "hopsworks_host": self.host,
            "hopsworks_timeout_s": 5.0,
        }
        return Settings(**{**values, **overrides})

    def release(self) -> None:
        """Let hanging logins return (called when the test ends)."""
        self._released.set()
        if self._cache_dir is not None:
            shutil.rmtree(self._cache_dir, ignore_errors=True)
            self._cache_dir = None

    def cache_dir(self) -> str:
        """The fake's stand-in for the SDK's model download cache, created on first use."""
        if self._cache_dir is None:
            from tests.fakes.hopsworks_registry_fake import new_cache_dir

            self._cache_dir = new_cache_dir()
        return self._cache_dir

    def stored_rows(self, name: str, version: int = 1, project: str | None = None) -> pd.DataFrame:
        """What the server holds for a group, duplicates included."""
        return self.groups[(project or self.projects[0], name, version)].rows.copy()

    def module(self) -> types.ModuleType:
        """A module object to install as ``sys.modules["hopsworks"]``."""
        module = types.ModuleType("hopsworks", "Fake hopsworks SDK (tests/fakes/hopsworks_fake.py).")
        module.__version__ = "5.2.1"
        module.login = self.login
        module.logout = lambda: None
        module.client = types.SimpleNamespace(
            exceptions=types.SimpleNamespace(
                RestAPIError=RestAPIError,
                FeatureStoreException=FeatureStoreException,
                DataValidationException=DataValidationException,
                ProjectException=ProjectException,
                ModelRegistryException=ModelRegistryException,
                DatasetException=DatasetException,
            )
        )
        return module

    def login(
        self,
        host: str | None = None,
        port: int = 443,
        project: str | None = None,
        api_key_value: str | None = None,
        api_key_file: str | None = None,
        hostname_verification: bool = False,
        trust_store_path: str | None = None,
        cert_folder: str | None = None,
        engine: str | None = None,
    ) -> FakeProject:
        """``hopsworks.login``: as the SDK behaves without a terminal."""
        self.login_calls.append(
            {"host": host, "port": port, "project": project, "api_key_value": api_key_value, "engine": engine}
        )
        if engine is not None and engine not in ENGINES:
            raise ValueError(f"Engine {engine!r} not recognized; use one of {ENGINES}.")
        if self.hang_login:
            self._released.wait()  # a black-holed route: no answer until the test ends
            raise OSError("connection timed out")
        if self.login_error is not None:
            raise self.login_error
        if api_key_value is None and api_key_file is None:
            # The SDK calls getpass.getpass("Paste it here: "); with no terminal that raises.
            raise EOFError("EOF when reading a line")
        if api_key_value != self.api_key:
            raise RestAPIError(f"https://{host or SAAS_HOST}/hopsworks-api/api/auth/session", 401, "Unauthorized")
        if project is None:
            if len(self.projects) == 1:
                return FakeProject(self, self.projects[0])
            raise EOFError("EOF when reading a line")  # the "Multiple projects found" menu calls input()
        if project not in self.projects:
            raise ProjectException(f"Could not find project {project}")
        return FakeProject(self, project)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id


@dataclass
class FakeProject:
    """``hopsworks.project.Project``."""

    cluster: FakeHopsworks
    name: str

    def get_model_registry(self) -> Any:
        """``Project.get_model_registry``: see ``hopsworks_registry_fake``."""
        from tests.fakes.hopsworks_registry_fake import FakeModelRegistry

        return FakeModelRegistry(self.cluster, self.name)

    def get_dataset_api(self) -> Any:
        """``Project.get_dataset_api``: see ``hopsworks_registry_fake``."""
        from tests.fakes.hopsworks_registry_fake import FakeDatasetApi

        return FakeDatasetApi(self.cluster, self.name)

    def get_feature_store(self, name: str | None = None) -> FakeFeatureStore:
        if name not in (None, f"{self.name}_featurestore"):
            raise RestAPIError(f"/featurestores/{name}", 404, "Feature store not found")
        return FakeFeatureStore(self.cluster, self.name)


@dataclass
class FakeFeatureStore:
    """``hsfs.feature_store.FeatureStore``."""

    cluster: FakeHopsworks
    project: str

    @property
    def name(self) -> str:
        return f"{self.project}_featurestore"

    def get_feature_group(self, name: str, version: int | None = None) -> FakeFeatureGroup | None:
        """The group, or ``None`` if it does not exist (the SDK's documented return)."""
        if version is None:
            warnings.warn(
                f"No version provided for getting feature group `{name}`, defaulting to `1`.",
                VersionWarning,
                stacklevel=2,
            )
            version = 1
        stored = self.cluster.groups.get((self.project, name, version))
        return None if stored is None else FakeFeatureGroup._of(self, stored)

    def get_or_create_feature_group(
        self,
        name: str,
        version: int,
        description: str | None = "",
        online_enabled: bool | None = False,
        time_travel_format: str | None = None,
        partition_key: list[str] | None = None,
        primary_key: list[str] | None = None,
        foreign_key: list[str] | None = None,
        statistics_config: object = None,
        expectation_suite: object = None,
        event_time: str | None = None,
    ) -> FakeFeatureGroup:
        """The existing group unchanged, or an unsaved one (``id`` is ``None``) that the first insert creates."""
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"version must be a positive integer, got {version!r}")
        existing = self.get_feature_group(name, version)
        if existing is not None:
            return existing
        if partition_key:
            raise NotImplementedError("the fake does not model partition keys")
        return FakeFeatureGroup(
            store=self,
            name=name,
            version=version,
            description=description or "",
            primary_key=list(primary_key or []),
            event_time=event_time,
            online_enabled=bool(online_enabled),
        )

    def get_or_create_feature_view(
        self,
        name: str,
        query: FakeQuery,
        version: int,
        description: str | None = "",
        labels: list[str] | None = None,
    ) -> FakeFeatureView:
        """The existing view (its query unchanged), or a new one over ``query``; version required."""
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"version must be a positive integer, got {version!r}")
        if not NAME_RULE.match(name):
            raise FeatureStoreException(f"Feature view name `{name}` is invalid: use 1-63 of [a-z0-9_].")
        key = (self.project, name, version)
        if key not in self.cluster.views:
            self.cluster.views[key] = FakeFeatureView(name, version, query, list(labels or []))
        return self.cluster.views[key]


@dataclass
class FakeFeatureView:
    """``hsfs.feature_view.FeatureView``: ``training_data`` records a new training dataset version
    each call and, like the SDK, leaves out primary key and event time unless asked for them."""

    name: str
    version: int
    query: FakeQuery
    labels: list[str]
    training_datasets: int = 0
    last_accessed: int | None = None

    def training_data(self, description: str | None = "", primary_key: bool = False, event_time: bool = False, **_: Any):
        frame = self.query.read()
        group = self.query.group
        dropped = ([] if primary_key else group.primary_key) + ([] if event_time or not group.event_time else [group.event_time])
        frame = frame.drop(columns=[c for c in dropped if c in frame.columns])
        self.training_datasets += 1
        self.last_accessed = self.training_datasets
        labels = frame[self.labels] if self.labels else None
        return frame.drop(columns=self.labels), labels

    def get_last_accessed_training_dataset(self) -> int | None:
        return self.last_accessed


@dataclass
class Feature:
    """``hsfs.feature.Feature``: a name and an offline type; comparisons build filters."""

    name: str
    type: str
    primary: bool = False

    def _compare(self, op: Callable[[Any, Any], Any], value: Any) -> Filter:
        return Filter(self.name, op, value)

    def __lt__(self, other: Any) -> Filter:
        return self._compare(operator.lt, other)

    def __le__(self, other: Any) -> Filter:
        return self._compare(operator.le, other)

    def __gt__(self, other: Any) -> Filter:
        return self._compare(operator.gt, other)

    def __ge__(self, other: Any) -> Filter:
        return self._compare(operator.ge, other)

    def __eq__(self, other: Any) -> Filter:  # type: ignore[override]
        return self._compare(operator.eq, other)

    def __ne__(self, other: Any) -> Filter:  # type: ignore[override]
        return self._compare(operator.ne, other)

    def isin(self, values: list[Any]) -> Filter:
        return Filter(self.name, lambda column, _: column.isin(list(values)), None)

    __hash__ = None  # type: ignore[assignment]


@dataclass
class Filter:
    """A row predicate; ``&`` and ``|`` combine them as the SDK's ``Logic`` does."""

    column: str | None
    op: Callable[[Any, Any], Any]
    value: Any

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        return self.op(frame[self.column], self.value)

    def __and__(self, other: Filter) -> Filter:
        return _Combined(None, operator.and_, (self, other))

    def __or__(self, other: Filter) -> Filter:
        return _Combined(None, operator.or_, (self, other))


class _Combined(Filter):
    def mask(self, frame: pd.DataFrame) -> pd.Series:
        left, right = self.value
        return self.op(left.mask(frame), right.mask(frame))


class FakeFeatureGroup:
    """``hsfs.feature_group.FeatureGroup`` (a Delta group written by the Python engine)."""

    def __init__(
        self,
        store: FakeFeatureStore,
        name: str,
        version: int,
        description: str,
        primary_key: list[str],
        event_time: str | None,
        online_enabled: bool,
    ) -> None:
        self._store = store
        self.name = name
        self.version = version
        self.description = description
        self.primary_key = primary_key
        self.event_time = event_time
        self.online_enabled = online_enabled
        self.time_travel_format = "DELTA"
        self._stored: StoredGroup | None = None

    @classmethod
    def _of(cls, store: FakeFeatureStore, stored: StoredGroup) -> FakeFeatureGroup:
        group = cls(
            store,
            stored.name,
            stored.version,
            stored.description,
            list(stored.primary_key),
            stored.event_time,
            stored.online_enabled,
        )
        group._stored = stored
        return group

    @property
    def id(self) -> int | None:
        return None if self._stored is None else self._stored.id

    @property
    def features(self) -> list[Feature]:
        return [] if self._stored is None else list(self._stored.features)

    def get_feature(self, name: str) -> Feature:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise FeatureStoreException(f"Feature `{name}` not found in feature group `{self.name}`.")

    def __getattr__(self, name: str) -> Feature:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.get_feature(name)
        except FeatureStoreException:
            raise AttributeError(f"'FeatureGroup' object has no attribute '{name}'.") from None

    # -- writes --------------------------------------------------------------------------

    def insert(
        self,
        features: pd.DataFrame,
        overwrite: bool = False,
        operation: str = "upsert",
        storage: str | None = None,
        write_options: dict[str, Any] | None = None,
        validation_options: dict[str, Any] | None = None,
        wait: bool = False,
    ) -> tuple[FakeJob, None]:
        """Create the group on the first call, then merge like the Python engine (see module doc)."""
        cluster = self._store.cluster
        cluster.insert_calls.append({"group": self.name, "rows": len(features), "write_options": write_options})
        frame = _client_side_frame(features)
        for key in self.primary_key:
            if key not in frame.columns:
                raise ValueError(f"Primary key column {key} is missing in input dataframe")
        parsed = _parse_schema(frame, {f.name: f.type for f in self.features})
        if self._stored is None:
            self._create(parsed, frame)
        else:
            _verify_schema_compatibility(self._stored.features, parsed)
        stored = self._stored
        assert stored is not None
        frame = frame[[f.name for f in stored.features]]
        if overwrite:
            stored.rows = stored.rows.iloc[0:0]
        stored.rows = _merge(
            stored.rows, frame, [*stored.primary_key, *([stored.event_time] if stored.event_time else [])]
        )
        return FakeJob(name=f"{self.name}_{self.version}_offline_fg_materialization"), None

    def _create(self, parsed: list[Feature], frame: pd.DataFrame) -> None:
        url = f"/featurestores/{self._store.name}/featuregroups"
        for name in (self.name, *(f.name for f in parsed)):
            if not NAME_RULE.match(name):
                raise RestAPIError(
                    url, 400, f"Name '{name}' is invalid: use 1-63 of [a-z0-9_] with at least one letter."
                )
        names = [f.name for f in parsed]
        for key in [*self.primary_key, *([self.event_time] if self.event_time else [])]:
            if key not in names:
                raise RestAPIError(url, 400, f"Feature '{key}' is not in the feature group.")
        if self.event_time and next(f.type for f in parsed if f.name == self.event_time) not in (
            "timestamp",
            "date",
            "bigint",
        ):
            raise RestAPIError(url, 400, "The event time must be a timestamp, date or bigint feature.")
        for feature in parsed:
            feature.primary = feature.name in self.primary_key
        cluster = self._store.cluster
        self._stored = StoredGroup(
            id=cluster._new_id(),
            name=self.name,
            version=self.version,
            description=self.description,
            primary_key=list(self.primary_key),
            event_time=self.event_time,
            online_enabled=self.online_enabled,
            features=parsed,
            rows=frame.iloc[0:0],
        )
        cluster.groups[(self._store.project, self.name, self.version)] = self._stored

    def delete(self, force: bool = False, delete_feature_views: bool = False) -> None:
        if self._stored is None:
            raise RestAPIError(f"/featuregroups/{self.name}", 404, "Feature group not found")
        del self._store.cluster.groups[(self._store.project, self.name, self.version)]
        self._stored = None

    # -- reads ---------------------------------------------------------------------------

    def read(
        self,
        wallclock_time: object = None,
        online: bool = False,
        dataframe_type: str = "default",
        read_options: dict[str, Any] | None = None,
        start_time: object = None,
        end_time: object = None,
    ) -> pd.DataFrame:
        if wallclock_time is not None:
            raise FeatureStoreException(
                "Python environments does not support incremental queries. Read feature group without "
                "timestamp to retrieve latest snapshot or switch to environment with Spark Engine."
            )
        if start_time is not None or end_time is not None:
            raise NotImplementedError("the fake does not model start_time/end_time reads")
        return self.select_all().read(online=online, dataframe_type=dataframe_type, read_options=read_options)

    def select_all(self) -> FakeQuery:
        return self.select([f.name for f in self.features])

    def select(self, features: list[str | Feature]) -> FakeQuery:
        if self._stored is None:
            raise FeatureStoreException(f"Feature group `{self.name}` has not been saved yet; insert data first.")
        names = [f.name if isinstance(f, Feature) else f for f in features]
        for name in names:
            self.get_feature(name)
        return FakeQuery(self, names)

    def filter(self, f: Filter) -> FakeQuery:
        return self.select_all().filter(f)


@dataclass
class FakeQuery:
    """``hsfs.constructor.query.Query`` over one group."""

    group: FakeFeatureGroup
    columns: list[str]
    filters: list[Filter] = field(default_factory=list)

    def filter(self, f: Filter) -> FakeQuery:
        return FakeQuery(self.group, self.columns, [*self.filters, f])

    def read(
        self,
        online: bool = False,
        dataframe_type: str = "default",
        read_options: dict[str, Any] | None = None,
        start_time: object = None,
        end_time: object = None,
    ) -> pd.DataFrame:
        if online and not self.group.online_enabled:
            raise FeatureStoreException("Online storage is not enabled for this feature group.")
        if dataframe_type not in ("default", "pandas"):
            raise NotImplementedError(f"the fake returns pandas frames only, not {dataframe_type!r}")
        if start_time is not None or end_time is not None:
            raise NotImplementedError("the fake does not model start_time/end_time reads")
        stored = self.group._stored
        assert stored is not None
        rows = stored.rows
        for f in self.filters:
            rows = rows[f.mask(rows)]
        return rows[self.columns].reset_index(drop=True).copy()


@dataclass
class FakeJob:
    name: str


# ---- the client-side rules of the Python engine -------------------------------------------


def _client_side_frame(features: object) -> pd.DataFrame:
    """Lowercase column names (spaces to underscores) and make aware timestamps naive UTC."""
    if not isinstance(features, pd.DataFrame):
        raise TypeError(f"The provided dataframe type is not recognized; got {type(features)}.")
    frame = features.copy()
    frame.columns = [str(c).strip().replace(" ", "_").lower() for c in frame.columns]
    for column in frame.columns:
        dtype = frame[column].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.tz_convert(None)
        if pd.api.types.is_datetime64_dtype(frame[column].dtype):
            frame[column] = frame[column].astype("datetime64[ns]")  # what the SDK reads back
    return frame.reset_index(drop=True)


def _offline_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if arrow_type in (pa.int8(), pa.int16(), pa.int32(), pa.uint8(), pa.uint16()):
        return "int"
    if arrow_type in (pa.int64(), pa.uint32()):
        return "bigint"
    if arrow_type in (pa.float16(), pa.float32()):
        return "float"
    if arrow_type == pa.float64():
        return "double"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "binary"
    raise ValueError(f"dtype '{arrow_type}' not supported")  # uint64, null (an all-null column), ...


def _parse_schema(frame: pd.DataFrame, known: dict[str, str]) -> list[Feature]:
    """The SDK's ``_parse_schema_feature_group``: Arrow types to Hopsworks offline types."""
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    features = []
    for arrow_field in schema:
        try:
            if pa.types.is_null(arrow_field.type) and arrow_field.name in known:
                offline = known[arrow_field.name]
            else:
                offline = _offline_type(arrow_field.type)
        except ValueError as error:
            raise FeatureStoreException(f"Feature '{arrow_field.name}': {error}") from error
        features.append(Feature(arrow_field.name, offline))
    return features


def _verify_schema_compatibility(group_features: list[Feature], frame_features: list[Feature]) -> None:
    """The SDK's check that an insert into an existing group has exactly its features and types."""
    given = {f.name: f.type for f in frame_features}
    errors = []
    for feature in group_features:
        if feature.name not in given:
            errors.append(f"{feature.name} (type: '{feature.type}') is missing from input dataframe.")
        elif given.pop(feature.name) != feature.type:
            errors.append(f"{feature.name} (expected type: '{feature.type}') has the wrong type.")
    errors += [f"{name} (type: '{kind}') does not exist in feature group." for name, kind in given.items()]
    if errors:
        raise FeatureStoreException(
            "Features are not compatible with Feature Group schema: " + "".join("\n - " + e for e in errors)
        )


def _merge(stored: pd.DataFrame, batch: pd.DataFrame, merge_keys: list[str]) -> pd.DataFrame:
    """Rows matching a stored row on ``merge_keys`` replace it; all others are appended."""
    if stored.empty:
        return batch.reset_index(drop=True)
    if batch.empty:
        return stored
    stored_index = pd.MultiIndex.from_frame(stored[merge_keys])
    batch_index = pd.MultiIndex.from_frame(batch[merge_keys])
    replaced = stored_index.isin(batch_index)
    matched = batch_index.isin(stored_index)
    updated = batch[matched].drop_duplicates(merge_keys, keep="last")
    pieces = [piece for piece in (stored[~replaced], updated, batch[~matched]) if not piece.empty]
    return pd.concat(pieces, ignore_index=True)


# ---- the fixture ---------------------------------------------------------------------------


@pytest.fixture(name="fake_hopsworks")
def fake_hopsworks_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHopsworks]:
    """A fresh fake installed as ``sys.modules["hopsworks"]``, with HOPSWORKS_* unset."""
    for name in ("HOPSWORKS_API_KEY", "HOPSWORKS_PROJECT", "HOPSWORKS_HOST", "HOPSWORKS_ENGINE", "REST_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeHopsworks()
    monkeypatch.setitem(sys.modules, "hopsworks", fake.module())
    yield fake
    fake.release()
