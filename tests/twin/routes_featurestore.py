"""Feature store and feature group metadata.

- ``GET project/{p}/featurestores/{name}`` (``FeatureStoreApi._get``; ``feature_store_fixtures.json``).
- ``GET .../featuregroups/{name}?version=`` (``FeatureGroupApi._get_feature_group_by_version`` /
  ``_by_name``: a list of DTOs; 404 with error code 270009 becomes ``None``/``[]`` through
  ``decorators._catch_not_found``) and ``GET .../featuregroups/{id}`` (``_get_by_id``).
- ``POST .../featuregroups`` (``FeatureGroupApi._save``, the first insert of a new group).
- ``DELETE .../featuregroups/{id}[?deleteFeatureViews=true|force=true]`` (``FeatureGroupApi._delete``).
- ``GET .../featuregroups/{id}/commits`` (``commit_details``; ``feature_group_commit_fixtures.json``).
- ``PUT project/{p}/featurestores/query?hqs=`` (``QueryConstructorApi._construct_query``; see
  ``tests.twin.query``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.twin import query
from tests.twin.rest import Request, Router

if TYPE_CHECKING:
    from tests.twin.backend import Backend

FG = "project/{p}/featurestores/{fs}/featuregroups"


def feature_store_json(backend: Backend) -> dict[str, Any]:
    fs = backend.feature_store
    return {
        "featurestoreId": fs.id,
        "featurestoreName": fs.name,
        "projectName": backend.project.name,
        "projectId": backend.project.id,
        "onlineFeaturestoreName": backend.project.name,
        "offlineFeaturestoreName": fs.name,
        "onlineEnabled": True,
        "created": "2026-01-01T00:00:00Z",
    }


def add_routes(router: Router, backend: Backend) -> None:
    store = backend.feature_store

    def get_groups(request: Request) -> Any:
        key = request.params["name"]
        if key.isdigit():
            return store.by_id(int(key)).dto
        version = request.query.get("version")
        return [g.dto for g in store.find(key, int(version) if version else None)]

    def create_group(request: Request) -> dict[str, Any]:
        return backend.create_group(request.json()).dto

    router.add("GET", "project/{p}/featurestores", lambda r: [feature_store_json(backend)])
    router.add("GET", "project/{p}/featurestores/{fs}", lambda r: feature_store_json(backend))
    router.add("GET", FG + "/{name}", get_groups)
    router.add(
        "PUT",
        "project/{p}/featurestores/query",
        lambda r: query.construct(store, r.json(), r.query.get("hqs", "").lower() == "true"),
    )
    def delete_group(request: Request) -> None:
        flags = {k: request.query.get(k, "").lower() == "true" for k in ("deleteFeatureViews", "force")}
        backend.delete_group(int(request.params["name"]), flags["deleteFeatureViews"], flags["force"])

    router.add("POST", FG, create_group)
    router.add("DELETE", FG + "/{name}", delete_group)
    # no Great Expectations suite attached: the empty collection (``ExpectationSuite.from_response_json``)
    router.add("GET", FG + "/{id}/expectationsuite", lambda r: {"count": 0, "items": []})
    router.add("GET", FG + "/{id}/commits", lambda r: {"items": store.by_id(int(r.params["id"])).commits})
