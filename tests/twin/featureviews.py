"""Feature views and their training datasets (``hsfs/core/feature_view_api.py``).

- ``GET .../featureview/{name}/version/{v}`` (``_get_by_name_version``; 404 with error code
  270181 becomes ``None`` in ``get_or_create_feature_view``).
- ``POST .../featureview`` (``_post``): names and descriptions go through the same
  ``verifyUserInput`` as feature groups; the answer lists the view's features
  (``feature_view_fixtures.json`` ``get``, ``training_dataset_feature_fixtures.json``) and its
  serving keys, the group's primary key (``serving_keys_fixtures.json``).
- ``GET .../featureview/{name}/version/{v}/query/batch`` (``_get_batch_query``, used by
  ``training_data`` and ``get_batch_data``): the view's query with the primary key and event time
  when asked for, and the time window as a filter on the event time (``query_fixtures.json``).
- ``POST``/``GET .../featureview/{name}/version/{v}/trainingdatasets[/version/{td}]``
  (``_create_training_dataset``, ``_get_training_dataset_by_version``; an in-memory training
  dataset is metadata only: ``training_data()`` then reads the view's query through the Query
  Service; ``training_dataset_fixtures.json``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tests.twin import rules
from tests.twin.rest import HopsworksError, Request, Router

if TYPE_CHECKING:
    from tests.twin.featurestore import FeatureStore

FV = "project/{p}/featurestores/{fs}/featureview"


class FeatureViews:
    def __init__(self, store: FeatureStore) -> None:
        self.store = store
        self.views: dict[tuple[str, int], dict[str, Any]] = {}
        self.training_datasets: dict[tuple[str, int], list[dict[str, Any]]] = {}

    def get(self, name: str, version: int) -> dict[str, Any]:
        if (name, version) not in self.views:
            raise rules.not_found("Feature view", 181)
        return self.views[(name, version)]

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("name")
        rules.check_entity(name, body.get("description"))
        versions = [v for (n, v) in self.views if n == name]
        version = body.get("version") or max(versions, default=0) + 1
        if version in versions:
            raise HopsworksError(400, rules.FS + 210, "The feature view already exists.", f"{name} version {version}")
        query = body["query"]
        group = self.store.by_id(query["leftFeatureGroup"]["id"])
        types = {f["name"]: f["type"] for f in group.features}
        selected = [f["name"] for f in query.get("leftFeatures") or []] or list(types)
        labels = [f["name"] for f in body.get("features") or [] if f.get("label")]
        features = [
            {"name": n, "type": types[n], "index": i, "label": n in labels, "featuregroup": group.dto,
             "featureGroupFeatureName": n, "inferenceHelperColumn": False, "trainingHelperColumn": False}
            for i, n in enumerate(selected)
        ]
        serving_keys = [
            {"featureName": k, "featureGroup": group.dto, "required": True, "joinOn": k, "joinIndex": 0}
            for k in group.primary_key
        ]
        view = {**{k: v for k, v in body.items() if v is not None}, "id": len(self.views) + 1, "version": version,
                "featurestoreId": self.store.id, "features": features, "query": query, "servingKeys": serving_keys}
        self.views[(name, version)] = view
        return view

    def using(self, group_id: int) -> list[tuple[str, int]]:
        """The (name, version) of every view whose query reads the group ``group_id``."""
        return [key for key, view in self.views.items() if view["query"]["leftFeatureGroup"]["id"] == group_id]

    def delete(self, name: str, version: int) -> None:
        self.get(name, version)
        del self.views[(name, version)]
        self.training_datasets.pop((name, version), None)

    def create_training_dataset(self, name: str, version: int, body: dict[str, Any]) -> dict[str, Any]:
        self.get(name, version)
        rules.check_entity(name, body.get("description"))
        existing = self.training_datasets.setdefault((name, version), [])
        td = {**{k: v for k, v in body.items() if v is not None}, "id": 5000 + len(existing),
              "name": f"{name}_{version}", "version": len(existing) + 1, "featurestoreId": self.store.id,
              "created": "2026-01-01T00:00:00Z", "creator": {"username": self.store.user}}
        existing.append(td)
        return td

    def batch_query(self, name: str, version: int, params: dict[str, str]) -> dict[str, Any]:
        view = self.get(name, version)
        group = self.store.by_id(view["query"]["leftFeatureGroup"]["id"])
        names = [f["name"] for f in view["features"] if params.get("with_label") == "True" or not f["label"]]
        extra = [*(group.primary_key if params.get("with_primary_keys") == "True" else [])]
        if params.get("with_event_time") == "True" and group.event_time:
            extra.append(group.event_time)
        names += [n for n in extra if n not in names]
        window = None
        if group.event_time and (params.get("start_time") or params.get("end_time")):
            window = _time_filter(group, params.get("start_time"), params.get("end_time"))
        return {
            "leftFeatureGroup": group.dto,
            "leftFeatures": [f for n in names for f in group.features if f["name"] == n],
            "featureStoreName": self.store.name,
            "featureStoreId": self.store.id,
            "joins": [],
            "filter": window,
            "hiveEngine": params.get("is_hive_engine") == "True",
        }

    def training_dataset(self, name: str, version: int, td_version: int) -> dict[str, Any]:
        for td in self.training_datasets.get((name, version), []):
            if td["version"] == td_version:
                return td
        raise rules.not_found("Training dataset", 12)


def _time_filter(group: Any, start: str | None, end: str | None) -> dict[str, Any]:
    """``start <= event_time < end`` as the backend writes it (timestamps as ``yyyy-MM-dd HH:mm:ss.SSS``)."""
    feature = next(f for f in group.features if f["name"] == group.event_time)

    def condition(kind: str, millis: str) -> dict[str, Any]:
        moment = datetime.fromtimestamp(int(millis) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        return {"feature": feature, "condition": kind, "value": moment}

    parts = [condition("GREATER_THAN_OR_EQUAL", start)] if start else []
    parts += [condition("LESS_THAN", end)] if end else []
    if len(parts) == 1:
        return {"type": "SINGLE", "leftFilter": parts[0]}
    return {"type": "AND", "leftFilter": parts[0], "rightFilter": parts[1]}


def add_routes(router: Router, views: FeatureViews) -> None:
    def version_of(request: Request) -> tuple[str, int]:
        return request.params["name"], int(request.params["version"])

    router.add("GET", FV + "/{name}/version/{version}", lambda r: views.get(*version_of(r)))
    router.add("POST", FV, lambda r: views.create(r.json()))
    router.add("GET", FV + "/{name}/version/{version}/query/batch", lambda r: views.batch_query(*version_of(r), r.query))
    router.add(
        "POST",
        FV + "/{name}/version/{version}/trainingdatasets",
        lambda r: views.create_training_dataset(*version_of(r), r.json()),
    )
    router.add(
        "POST",  # StatisticsApi._post: the client computes a training dataset's statistics, the backend keeps them
        FV + "/{name}/version/{version}/trainingdatasets/version/{td}/statistics",
        lambda r: {**r.json(), "id": 1},
    )
    router.add(
        "GET",
        FV + "/{name}/version/{version}/trainingdatasets/version/{td}",
        lambda r: views.training_dataset(*version_of(r), int(r.params["td"])),
    )
