"""The model registry (``hsml/core/model_api.py``); a model's files live in ``Models/`` (``datasets``).

- ``GET modelregistries/{id}/models?filter_by=name_eq:<name>[&sort_by=<metric>:desc&limit=1]``
  (``ModelApi._get_models``, ``get_best_model``).
- ``GET modelregistries/{id}/models/<name>_<version>`` (``ModelApi._get``; 404 with error code
  360000 becomes ``None`` through ``decorators._catch_not_found``).
- ``PUT modelregistries/{id}/models/<name>_<version>`` (``ModelApi._put``, step "Registering model"
  of ``ModelEngine._save``, after the files were uploaded through the dataset API).
- ``DELETE modelregistries/{id}/models/{model id}`` (``ModelApi._delete``, ``Model.delete``): the
  version's metadata and its files (``Models/<name>/<version>``).

Model ids are unique across twins: ``Model.download`` caches files under
``/tmp/hopsworks/models/<project>/<name>/<version>/<id>`` and trusts a cache with the same id.
Shapes: ``model_fixtures.json``.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from tests.twin.rest import HopsworksError, Router

if TYPE_CHECKING:
    from tests.twin.datasets import Files

MODELS = "project/{p}/modelregistries/{r}/models"


class Registry:
    def __init__(self, files: Files, project_id: int, user: str) -> None:
        self.files, self.project_id, self.user = files, project_id, user
        self.models: dict[str, dict[str, Any]] = {}  # "<name>_<version>" -> DTO

    def get(self, key: str) -> dict[str, Any]:
        if key not in self.models:
            raise HopsworksError(404, 360000, "Model not found.", f"Model {key} was not found.")
        return self.models[key]

    def put(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        for metric, value in (body.get("metrics") or {}).items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise HopsworksError(400, 360003, "Model metrics must be numbers.", f"{metric}: {value!r}")
        if not self.files.exists(f"Models/{body['name']}/{body['version']}"):
            raise HopsworksError(400, 360004, "Model version folder not found.", f"Models/{body['name']}/{body['version']}")
        previous = self.models.get(key, {})
        self.models[key] = {
            **{k: v for k, v in body.items() if v is not None},
            "id": previous.get("id") or random.randrange(10**9, 10**10),
            "modelRegistryId": self.project_id,
            "created": "2026-01-01T00:00:00Z",
            "creator": self.user,
            "userFullName": "Twin User",
        }
        return self.models[key]

    def delete(self, model_id: str) -> None:
        for key, model in list(self.models.items()):
            if str(model["id"]) == model_id:
                del self.models[key]
                folder = f"Models/{model['name']}/{model['version']}"
                if self.files.exists(folder):
                    self.files.remove(folder)
                return
        raise HopsworksError(404, 360000, "Model not found.", f"Model {model_id} was not found.")

    def listing(self, query: dict[str, str]) -> dict[str, Any]:
        name = query.get("filter_by", "").removeprefix("name_eq:")
        items = [m for m in self.models.values() if m["name"] == name]
        if "sort_by" in query:
            metric, _, direction = query["sort_by"].partition(":")
            items = sorted((m for m in items if metric in (m.get("metrics") or {})),
                           key=lambda m: m["metrics"][metric], reverse=direction == "desc")
        items = items[: int(query["limit"])] if "limit" in query else sorted(items, key=lambda m: m["version"])
        return {"count": len(items), "items": items}


def add_routes(router: Router, registry: Registry) -> None:
    router.add("GET", MODELS, lambda r: registry.listing(r.query))
    router.add("GET", MODELS + "/{key}", lambda r: registry.get(r.params["key"]))
    router.add("PUT", MODELS + "/{key}", lambda r: registry.put(r.params["key"], r.json()))
    router.add("DELETE", MODELS + "/{key}", lambda r: registry.delete(r.params["key"]))
