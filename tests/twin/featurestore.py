"""Feature groups as the backend keeps them: their DTO, the offline table, the online table.

The DTO is the JSON ``FeatureGroupApi`` gets back (shape: hopsworks-api
``python/tests/fixtures/feature_group_fixtures.json``, entries ``get`` and ``get_stream``). The
offline table is a list of row dicts; the materialization job (``tests.twin.kafka``) appends to it
the way ``utils/python/hsfs_utils.py`` ``offline_fg_materialization`` does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.twin import rules
from tests.twin.rest import HopsworksError

AVRO_TYPES = {
    "bigint": "long",
    "int": "int",
    "smallint": "int",
    "tinyint": "int",
    "double": "double",
    "float": "float",
    "boolean": "boolean",
    "string": "string",
    "timestamp": {"type": "long", "logicalType": "timestamp-micros"},
    "date": {"type": "int", "logicalType": "date"},
}


@dataclass
class Group:
    dto: dict[str, Any]
    offline: list[dict[str, Any]] = field(default_factory=list)
    online: dict[tuple, dict[str, Any]] = field(default_factory=dict)
    online_rejected: list[str] = field(default_factory=list)
    commits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.dto["id"]

    @property
    def name(self) -> str:
        return self.dto["name"]

    @property
    def version(self) -> int:
        return self.dto["version"]

    @property
    def features(self) -> list[dict[str, Any]]:
        return self.dto["features"]

    @property
    def primary_key(self) -> list[str]:
        return [f["name"] for f in self.features if f.get("primary")]

    @property
    def event_time(self) -> str | None:
        return self.dto.get("eventTime")

    @property
    def stream(self) -> bool:
        return self.dto["type"] == "streamFeatureGroupDTO"

    @property
    def topic(self) -> str:
        return self.dto["onlineTopicName"]

    @property
    def job_name(self) -> str:
        return f"{self.name}_{self.version}_offline_fg_materialization"

    def avro_schema(self, namespace: str) -> str:
        """The subject's schema: every feature nullable, as the backend's ``AvroSchemaConstructor`` writes it."""
        fields = [
            {"name": f["name"], "type": ["null", AVRO_TYPES.get(f["type"].lower(), "bytes")]} for f in self.features
        ]
        return json.dumps({"type": "record", "name": f"{self.name}_{self.version}", "namespace": namespace, "fields": fields})


class FeatureStore:
    """The groups of one feature store, created and looked up as ``FeaturegroupController`` does."""

    def __init__(self, project_id: int, fs_id: int, fs_name: str, user: str) -> None:
        self.project_id, self.id, self.name, self.user = project_id, fs_id, fs_name, user
        self.groups: dict[int, Group] = {}
        self._next_id = 1000

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def find(self, name: str, version: int | None = None) -> list[Group]:
        found = [g for g in self.groups.values() if g.name == name and (version is None or g.version == version)]
        if not found:
            raise rules.not_found("Featuregroup", 9)
        return sorted(found, key=lambda g: g.version)

    def by_id(self, group_id: int) -> Group:
        if group_id not in self.groups:
            raise rules.not_found("Featuregroup", 9)
        return self.groups[group_id]

    def create(self, body: dict[str, Any]) -> Group:
        name, description = body.get("name"), body.get("description")
        rules.check_entity(name, description)
        features = [dict(f) for f in body.get("features") or []]
        rules.check_feature_names([f["name"] for f in features])
        versions = [g.version for g in self.groups.values() if g.name == name]
        version = body.get("version") or max(versions, default=0) + 1
        if version in versions:
            raise HopsworksError(
                400,
                rules.FS + 89,
                "The feature group you are trying to create does already exist.",
                f"Feature group {name} version {version} already exists.",
            )
        group_id = self.new_id()
        online = bool(body.get("onlineEnabled"))
        for feature in features:
            feature["featureGroupId"] = group_id
            feature["onlineType"] = rules.online_type(feature) if online else None
        if online:
            rules.check_online_table(name, features)
        if (body.get("timeTravelFormat") or "").upper() == "HUDI" and not any(f.get("hudiPrecombineKey") for f in features):
            next(f for f in features if f.get("primary"))["hudiPrecombineKey"] = True  # the first primary key
        stream = body.get("type") == "streamFeatureGroupDTO"
        dto = {
            **{k: v for k, v in body.items() if v is not None},
            "id": group_id,
            "version": version,
            "features": features,
            "featurestoreId": self.id,
            "featurestoreName": self.name,
            "type": body.get("type") or "cachedFeaturegroupDTO",
            "timeTravelFormat": body.get("timeTravelFormat") or "DELTA",
            "onlineEnabled": online,
            "created": "2026-01-01T00:00:00Z",
            "creator": {"email": f"{self.user}@twin", "username": self.user},
            "location": f"hopsfs://namenode.service.consul:8020/apps/hive/warehouse/{self.name}.db/{name}_{version}",
        }
        if stream or online:  # the materialization job and OnlineFS both read this topic
            dto["onlineTopicName"] = f"{self.project_id}_{group_id}_{name}_{version}_onlinefs"
        group = Group(dto)
        self.groups[group_id] = group
        return group
