"""Queries: what ``PUT featurestores/query`` answers and what the Query Service then runs.

``Query.read`` (``hsfs/constructor/query.py``) sends the query's JSON (``Query.to_dict``: left
feature group, left features, filter, joins, limit) to ``PUT featurestores/query?hqs=<bool>``
(``QueryConstructorApi._construct_query``). With ``hqs=true`` the backend adds an HQS payload,
opaque to the client, that the Query Service executes (``ArrowFlightClient._read_query`` sends it
as the Flight command). The twin's payload is the query JSON itself; the twin executes it on the
offline tables: one feature group, its selected features, its filter (``filter_fixtures.json``,
``logic_fixtures.json``), its limit. Joins are outside the twin (the adapters never join).
"""

from __future__ import annotations

import json
import operator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from tests.twin import rules
from tests.twin.rest import HopsworksError

if TYPE_CHECKING:
    from tests.twin.featurestore import FeatureStore

ARROW_TYPES = {
    "bigint": pa.int64(),
    "int": pa.int32(),
    "smallint": pa.int16(),
    "tinyint": pa.int8(),
    "double": pa.float64(),
    "float": pa.float32(),
    "boolean": pa.bool_(),
    "string": pa.string(),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
}
CONDITIONS = {
    "EQUALS": operator.eq,
    "NOT_EQUALS": operator.ne,
    "GREATER_THAN": operator.gt,
    "GREATER_THAN_OR_EQUAL": operator.ge,
    "LESS_THAN": operator.lt,
    "LESS_THAN_OR_EQUAL": operator.le,
    "IN": lambda value, wanted: value in wanted,
}


def construct(store: FeatureStore, body: dict[str, Any], hqs: bool) -> dict[str, Any]:
    """The ``FsQuery`` JSON; 400 for a feature the group does not have (``FEATURE_DOES_NOT_EXIST``)."""
    if body.get("joins"):
        raise HopsworksError(400, rules.FS + 82, "Feature does not exist", "The twin runs queries on one group only.")
    group = store.by_id(body["leftFeatureGroup"]["id"])
    names = [f["name"] for f in body.get("leftFeatures") or []] or [f["name"] for f in group.features]
    known = {f["name"] for f in group.features}
    for name in names:
        if name not in known:
            raise HopsworksError(400, rules.FS + 82, "Feature does not exist", f"Feature {name} not in {group.name}")
    table = f"`{store.name}`.`{group.name}_{group.version}`"
    sql = f"SELECT {', '.join(f'`fg0`.`{n}` `{n}`' for n in names)}\nFROM {table} `fg0`"
    alias = [{"alias": "fg0", "featureGroup": group.dto}]
    delta = group.dto["timeTravelFormat"] == "DELTA"
    answer: dict[str, Any] = {
        "query": sql,
        "queryOnline": sql,
        "onDemandFeatureGroups": [],
        "hudiCachedFeatureGroups": [] if delta else alias,
        "deltaCachedFeatureGroups": alias if delta else [],
        "type": "fsQueryDTO",
    }
    if hqs:
        payload = {"featureGroupId": group.id, "features": names, "filter": body.get("filter"), "limit": body.get("limit")}
        answer.update(hqsPayload=json.dumps(payload), hqsPayloadSignature="twin-signature")
    return answer


def execute(store: FeatureStore, payload: dict[str, Any]) -> pa.Table:
    """Run an HQS payload against the offline table (what the Query Service's DuckDB does)."""
    group = store.by_id(payload["featureGroupId"])
    rows = [row for row in group.offline if _matches(row, payload.get("filter"))]
    if payload.get("limit"):
        rows = rows[: payload["limit"]]
    types = {f["name"]: ARROW_TYPES.get(f["type"].lower(), pa.binary()) for f in group.features}
    schema = pa.schema([(name, types[name]) for name in payload["features"]])
    return pa.Table.from_pylist([{n: row.get(n) for n in schema.names} for row in rows], schema=schema)


def _matches(row: dict[str, Any], logic: dict[str, Any] | None) -> bool:
    if not logic:
        return True
    kind = logic.get("type")
    if kind in ("AND", "OR"):
        left, right = _matches(row, logic.get("leftLogic") or _single(logic, "leftFilter")), _matches(
            row, logic.get("rightLogic") or _single(logic, "rightFilter")
        )
        return (left and right) if kind == "AND" else (left or right)
    return _compare(row, logic.get("leftFilter"))


def _single(logic: dict[str, Any], key: str) -> dict[str, Any] | None:
    return {"type": "SINGLE", "leftFilter": logic[key]} if logic.get(key) else None


def _compare(row: dict[str, Any], condition: dict[str, Any] | None) -> bool:
    if condition is None:
        return True
    value, wanted = row.get(condition["feature"]["name"]), condition["value"]
    if isinstance(wanted, str) and wanted.startswith("["):
        wanted = json.loads(wanted)
    if value is None:
        return False
    if hasattr(value, "timestamp") and not isinstance(wanted, type(value)):
        wanted = type(value).fromisoformat(str(wanted).replace("Z", ""))
    elif not isinstance(value, str) and isinstance(wanted, str) and condition["condition"] != "IN":
        wanted = type(value)(wanted)
    return CONDITIONS[condition["condition"]](value, wanted)
