"""The model-registry half of the fake ``hopsworks`` SDK (5.2.x, ``hsml`` merged into it).

``project.get_model_registry()`` and ``project.get_dataset_api()`` of ``hopsworks_fake`` return
the classes below. They behave like the installed SDK (``hsml/model_registry.py``,
``hsml/python/signature.py``, ``hsml/model.py``, ``hsml/engine/model_engine.py``,
``hopsworks_common/core/dataset_api.py``), so an adapter that breaks one of its rules fails here:

- ``mr.python.create_model(...)`` (and ``mr.torch``) is lazy: nothing is checked or stored until
  ``model.save(path)``. ``save`` checks metrics as the SDK does (a dict with string keys whose
  values ``float()`` accepts: ``ValueError`` for ``"abc"``, ``TypeError`` for ``None``), then the
  name (``[a-zA-Z0-9_]+`` or ``ModelRegistryException``), then picks the version client-side:
  the highest version folder + 1 (skipping numbers whose metadata exists), not atomically. An
  explicit version that is taken raises ``ModelRegistryException``. Files go to
  ``Models/<name>/<version>/Files/``. The server refuses NaN and infinite metrics with a 400
  (strict JSON has no such numbers; the SDK sends them unchecked): an assumption, not traced.
- ``mr.get_model(name)`` without a version warns and returns **version 1**; a missing name or
  version returns ``None``. ``mr.get_models(name)`` returns ``[]`` for a missing name, else every
  version, newest first (the SDK documents no order). ``mr.get_best_model`` sorts on a metric.
- ``model.download()`` copies the files into a cache folder keyed by the model id and returns
  its path; ``model.description`` defaults to ``"A collection of models for <name>"``.
- Tags need a tag schema that only a platform administrator can create: ``add_tag`` with a name
  outside ``FakeHopsworks.tag_schemas`` (empty by default) raises ``RestAPIError``.
- The dataset API takes project-relative (``Models/x``) or absolute (``/Projects/p/Models/x``)
  paths; ``upload`` refuses an existing destination without ``overwrite`` (``DatasetException``)
  and, with it, removes the old file first (no atomic replace); ``download`` of a missing path
  raises ``RestAPIError`` 404.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.fakes.hopsworks_fake import DatasetException, ModelRegistryException, RestAPIError, VersionWarning

if TYPE_CHECKING:
    from tests.fakes.hopsworks_fake import FakeHopsworks

MODEL_NAME_RULE = re.compile(r"[a-zA-Z0-9_]+")
DATASETS = ("Models", "Resources", "Logs", "Jupyter")


@dataclass
class StoredModel:
    """A model version as the server holds its metadata."""

    id: int
    name: str
    version: int
    description: str
    metrics: dict[str, Any] | None
    framework: str
    tags: dict[str, Any] = field(default_factory=dict)


# ---- the dataset API ---------------------------------------------------------------------


class FakeDatasetApi:
    """``hopsworks_common.core.dataset_api.DatasetApi`` over the cluster's in-memory files."""

    def __init__(self, cluster: FakeHopsworks, project: str) -> None:
        self.cluster = cluster
        self.project = project

    def _abs(self, path: str) -> str:
        path = path.rstrip("/")
        return path if path.startswith("/Projects/") else f"/Projects/{self.project}/{path.lstrip('/')}"

    def _is_dir(self, absolute: str) -> bool:
        roots = {f"/Projects/{self.project}/{d}" for d in DATASETS}
        return (
            absolute in roots
            or absolute in self.cluster.dirs
            or any(p.startswith(absolute + "/") for p in self.cluster.files)
        )

    def exists(self, path: str) -> bool:
        absolute = self._abs(path)
        return absolute in self.cluster.files or self._is_dir(absolute)

    path_exists = exists

    def mkdir(self, path: str) -> str:
        absolute = self._abs(path)
        if not self._is_dir(absolute.rsplit("/", 1)[0]):
            raise RestAPIError(f"/dataset/{path}", 404, "Parent directory not found")
        self.cluster.dirs.add(absolute)
        return absolute

    def remove(self, path: str) -> None:
        absolute = self._abs(path)
        if not self.exists(path):
            raise RestAPIError(f"/dataset/{path}", 404, "Path not found")
        self.cluster.files.pop(absolute, None)
        for key in [p for p in self.cluster.files if p.startswith(absolute + "/")]:
            del self.cluster.files[key]
        self.cluster.dirs -= {d for d in self.cluster.dirs if d == absolute or d.startswith(absolute + "/")}

    rm = remove

    def list(self, path: str, offset: int = 0, limit: int = 1000) -> list[str]:
        absolute = self._abs(path)
        if not self._is_dir(absolute):
            raise RestAPIError(f"/dataset/{path}", 404, "Path not found")
        below = {
            p[len(absolute) + 1 :].split("/")[0]
            for p in [*self.cluster.files, *self.cluster.dirs]
            if p.startswith(absolute + "/")
        }
        relative = absolute.removeprefix(f"/Projects/{self.project}/")
        return [f"{relative}/{name}" for name in sorted(below)][offset : offset + limit]

    def upload(self, local_path: str, upload_path: str, overwrite: bool = False, **_: Any) -> str:
        """Upload a file or a folder into the folder ``upload_path``; returns the destination."""
        source = Path(local_path).absolute()
        destination = f"{upload_path.rstrip('/')}/{source.name}"
        if not self._is_dir(self._abs(upload_path)):
            raise RestAPIError(f"/dataset/upload/{upload_path}", 404, "Upload directory not found")
        if self.exists(destination):
            if not overwrite:
                raise DatasetException(f"{destination} already exists, set overwrite=True to overwrite it")
            self.remove(destination)
        self._store(source, self._abs(destination))
        return destination

    def _store(self, source: Path, absolute: str) -> None:
        if source.is_dir():
            self.cluster.dirs.add(absolute)
            for child in source.iterdir():
                self._store(child, f"{absolute}/{child.name}")
        else:
            self.cluster.files[absolute] = source.read_bytes()

    def download(self, path: str, local_path: str | None = None, overwrite: bool | None = False, **_: Any) -> str:
        """Download one file; returns the local path (into ``local_path`` if it is a folder)."""
        absolute = self._abs(path)
        if absolute not in self.cluster.files:
            raise RestAPIError(f"/dataset/download/with_auth/{path}", 404, "File not found")
        target = Path(local_path or os.getcwd()).absolute()
        if target.is_dir():
            target = target / absolute.rsplit("/", 1)[1]
        if target.exists() and not overwrite:
            raise OSError(f"{target} already exists, set overwrite=True to overwrite it")
        target.write_bytes(self.cluster.files[absolute])
        return str(target)


# ---- the model registry --------------------------------------------------------------------


class FakeModelRegistry:
    """``hsml.model_registry.ModelRegistry`` of one project."""

    DEFAULT_VERSION = 1

    def __init__(self, cluster: FakeHopsworks, project: str) -> None:
        self.cluster = cluster
        self.project_name = project
        self.model_registry_id = 1
        self.shared_registry_project_name = None
        self.python = FakeSignature(self, "PYTHON")
        self.torch = FakeSignature(self, "TORCH")

    def _stored(self, name: str) -> list[StoredModel]:
        return [m for (project, n, _), m in self.cluster.models.items() if project == self.project_name and n == name]

    def get_model(self, name: str, version: int | None = None) -> FakeModel | None:
        """The version, or ``None`` if it does not exist; without a version: version 1, with a warning."""
        if version is None:
            warnings.warn(
                f"No version provided for getting model `{name}`, defaulting to `1`.", VersionWarning, stacklevel=2
            )
            version = self.DEFAULT_VERSION
        stored = self.cluster.models.get((self.project_name, name, version))
        return None if stored is None else FakeModel._of(self, stored)

    def get_models(self, name: str) -> list[FakeModel]:
        """Every version of ``name`` (newest first), or ``[]``."""
        return [FakeModel._of(self, m) for m in sorted(self._stored(name), key=lambda m: -m.version)]

    def get_best_model(self, name: str, metric: str, direction: str) -> FakeModel | None:
        scored = [m for m in self._stored(name) if metric in (m.metrics or {})]
        if not scored:
            return None
        best = (max if direction.lower() == "max" else min)(scored, key=lambda m: float(m.metrics[metric]))
        return FakeModel._of(self, best)


@dataclass
class FakeSignature:
    """``hsml.python.signature`` / ``hsml.torch.signature``: ``create_model`` is lazy."""

    registry: FakeModelRegistry
    framework: str

    def create_model(
        self,
        name: str,
        version: int | None = None,
        metrics: dict | None = None,
        description: str | None = None,
        input_example: Any = None,
        model_schema: Any = None,
        feature_view: Any = None,
        training_dataset_version: int | None = None,
        tags: Any = None,
    ) -> FakeModel:
        return FakeModel(self.registry, name, version, metrics, description, self.framework)


class FakeModel:
    """``hsml.model.Model``: metadata, ``save``, ``download``, ``delete`` and tags."""

    def __init__(
        self,
        registry: FakeModelRegistry,
        name: str,
        version: int | None,
        metrics: dict | None,
        description: str | None,
        framework: str,
    ) -> None:
        self._registry = registry
        self.id: int | None = None
        self.name = name
        self.version = version
        self.training_metrics = metrics
        self.description = "A collection of models for " + name if description is None else description
        self.framework = framework
        self.project_name = registry.project_name

    @classmethod
    def _of(cls, registry: FakeModelRegistry, stored: StoredModel) -> FakeModel:
        model = cls(
            registry, stored.name, stored.version, dict(stored.metrics or {}), stored.description, stored.framework
        )
        model.id = stored.id
        return model

    @property
    def model_path(self) -> str:
        return f"/Projects/{self.project_name}/Models/{self.name}"

    @property
    def version_path(self) -> str:
        return f"{self.model_path}/{self.version}"

    @property
    def model_files_path(self) -> str:
        return f"{self.version_path}/Files"

    @property
    def _cluster(self) -> FakeHopsworks:
        return self._registry.cluster

    @property
    def _datasets(self) -> FakeDatasetApi:
        return FakeDatasetApi(self._cluster, self.project_name)

    # -- save ------------------------------------------------------------------------------

    def save(
        self,
        model_path: str,
        await_registration: int = 480,
        keep_original_files: bool = False,
        upload_configuration: dict | None = None,
    ) -> FakeModel:
        """Check, pick the version, upload the files, register (the SDK's ``ModelEngine._save``)."""
        _validate_metrics(self.training_metrics)
        if not MODEL_NAME_RULE.fullmatch(self.name):
            raise ModelRegistryException(
                f"Invalid model name '{self.name}'. Model name must contain only alphanumeric characters "
                "and underscores (regex: [a-zA-Z0-9_]+)."
            )
        if self._cluster.on_save is not None:
            self._cluster.on_save(self.name)  # lets a test act as a concurrent writer
        datasets = self._datasets
        if not datasets.exists(f"Models/{self.name}"):
            datasets.mkdir(f"Models/{self.name}")
        self._set_version(datasets)
        self._cluster.save_calls.append({"name": self.name, "version": self.version, "metrics": self.training_metrics})
        try:
            datasets.mkdir(self.version_path)
            datasets.mkdir(self.model_files_path)
            source = _local_source(model_path)
            for child in [source] if source.is_file() else sorted(source.iterdir()):
                datasets._store(child, f"{self.model_files_path}/{child.name}")
            self._register()
        except BaseException:
            if datasets.exists(self.version_path):
                datasets.remove(self.version_path)
            raise
        return FakeModel._of(self._registry, self._cluster.models[(self.project_name, self.name, self.version)])

    def _set_version(self, datasets: FakeDatasetApi) -> None:
        folders = [
            int(p.rsplit("/", 1)[1]) for p in datasets.list(f"Models/{self.name}") if p.rsplit("/", 1)[1].isdigit()
        ]
        taken = self._registry.get_model(self.name, self.version) is not None if self.version is not None else False
        if self.version is None:
            version = max(folders, default=0) + 1
            while self._registry.get_model(self.name, version) is not None:
                version += 1
            self.version = version
        elif taken and self.version in folders:
            raise ModelRegistryException(
                f"Model with name {self.name} and version {self.version} already exists, please select another version."
            )
        elif taken or self.version in folders:
            raise ModelRegistryException(
                f"Model with name {self.name} and version {self.version} looks to be corrupt; delete it and try again."
            )

    def _register(self) -> None:
        """The server side of ``ModelApi._put``."""
        for key, value in (self.training_metrics or {}).items():
            if not math.isfinite(float(value)):
                raise RestAPIError(
                    "/modelregistries/1/models", 400, "Bad Request", f"metric {key} is not a valid JSON number"
                )
        stored = StoredModel(
            self._cluster._new_id(), self.name, self.version, self.description, self.training_metrics, self.framework
        )
        self._cluster.models[(self.project_name, self.name, self.version)] = stored
        self.id = stored.id

    # -- read ------------------------------------------------------------------------------

    def download(self, local_path: str | None = None) -> str:
        """Copy the version's files to ``local_path`` or to a cache folder keyed by the id."""
        self._cluster.download_calls.append((self.name, self.version))
        if local_path is None:
            target = Path(self._cluster.cache_dir()) / self.project_name / self.name / str(self.version) / str(self.id)
            if (target / ".hopsworks_download_complete").is_file():
                return str(target)
        else:
            target = Path(local_path)
        prefix = self.model_files_path + "/"
        for path, content in self._cluster.files.items():
            if path.startswith(prefix):
                local = target / path[len(prefix) :]
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_bytes(content)
        if local_path is None:
            (target / ".hopsworks_download_complete").touch()
        return str(target)

    def delete(self) -> None:
        self._cluster.models.pop((self.project_name, self.name, self.version), None)
        if self._datasets.exists(self.version_path):
            self._datasets.remove(self.version_path)

    # -- tags ------------------------------------------------------------------------------

    def _stored_model(self) -> StoredModel:
        return self._cluster.models[(self.project_name, self.name, self.version)]

    def add_tag(self, name: str, value: Any) -> None:
        if name not in self._cluster.tag_schemas:
            raise RestAPIError(
                f"/models/{self.name}_{self.version}/tags/{name}",
                404,
                "Tag schema not found",
                "Ask an administrator to create it",
            )
        self._stored_model().tags[name] = value

    def set_tag(self, name: str, value: Any) -> None:
        warnings.warn("The set_tag method is deprecated. Please use add_tag instead.", DeprecationWarning, stacklevel=2)
        self.add_tag(name, value)

    def get_tag(self, name: str) -> Any | None:
        return self._stored_model().tags.get(name)

    def get_tags(self) -> dict[str, Any]:
        return dict(self._stored_model().tags)

    def delete_tag(self, name: str) -> None:
        self._stored_model().tags.pop(name, None)

    def __repr__(self) -> str:
        return f"Model(name: {self.name!r}, version: {self.version!r})"


def _validate_metrics(metrics: Any) -> None:
    """``hopsworks_common.util._validate_metrics``: only ``float()`` is tried (and TypeError escapes)."""
    if metrics is None:
        return
    if not isinstance(metrics, dict):
        raise TypeError(f"provided metrics is of instance {type(metrics)}, expected a dict")
    for key, value in metrics.items():
        if not isinstance(key, str):
            raise TypeError(f"provided metrics key is of instance {type(key)}, expected a string")
        try:
            float(value)
        except ValueError as error:
            raise ValueError(
                f"{value} is not a number, only numbers can be attached as metadata for models."
            ) from error


def _local_source(model_path: str) -> Path:
    path = Path(model_path)
    if not path.is_absolute():
        path = Path(os.getcwd()) / path
    if not path.exists():
        raise OSError(f"Could not find path {model_path} in the local filesystem or in Hopsworks File System")
    return path


def new_cache_dir() -> str:
    """A folder standing in for ``/tmp/hopsworks/models`` (removed by ``FakeHopsworks.release``)."""
    return tempfile.mkdtemp(prefix="fake-hopsworks-models-")
