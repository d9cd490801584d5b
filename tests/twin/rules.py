"""The backend's checks on what the SDK sends, with Hopsworks' error codes and messages.

Sources (Hopsworks backend, read through the public repositories):
- ``FeaturestoreConstants``: ``FEATURESTORE_REGEX = ^(?=.{1,63}$)([a-z]{1}[a-z0-9_]*)$`` (the
  newest version found: a name starts with a letter), ``FEATURESTORE_ENTITY_DESCRIPTION_MAX_LENGTH
  = 256``, ``MAX_MYSQL_COLUMN_SIZE = 30000`` (online row size), ``SUPPORTED_MYSQL_PRIMARY_KEYS``.
- ``FeaturestoreInputValidation.verifyUserInput`` / ``verifyDescription``: the refusal texts.
- ``RESTCodes.FeaturestoreErrorCode`` (range 270000): 9 feature group not found, 12 training
  dataset not found, 40 illegal feature name, 89 feature group exists, 91 illegal entity name,
  92 illegal entity description.
- The docs' "String online data types": a string's online type is ``VARCHAR(100)`` unless the
  schema says otherwise; ``TEXT`` is allowed (not in a primary key); a ``VARCHAR(n)`` counts
  ``4 n`` bytes and ``TEXT`` 256 bytes towards the 30,000-byte row.
"""

from __future__ import annotations

import re

from tests.twin.rest import HopsworksError

NAME = re.compile(r"^(?=.{1,63}$)([a-z][a-z0-9_]*)$")
DESCRIPTION_MAX = 256
ROW_BYTES_MAX = 30000
DEFAULT_STRING_ONLINE_TYPE = "varchar(100)"
FS = 270000

ONLINE_TYPES = {
    "boolean": "tinyint",
    "tinyint": "tinyint",
    "smallint": "smallint",
    "int": "int",
    "bigint": "bigint",
    "float": "float",
    "double": "double",
    "timestamp": "timestamp",
    "date": "date",
    "string": DEFAULT_STRING_ONLINE_TYPE,
}
PRIMARY_KEY_ONLINE_TYPES = ("int", "tinyint", "smallint", "bigint", "varchar", "varbinary", "date")


def not_found(what: str, code: int) -> HopsworksError:
    return HopsworksError(404, FS + code, f"{what} wasn't found.", f"{what} wasn't found.")


def _check_name(name: str, code: int, title: str, what: str, plural: str) -> None:
    if not NAME.match(name or ""):
        raise HopsworksError(
            400,
            FS + code,
            title,
            f", the provided {what} {name} is invalid. {plural} can only contain lower case characters, numbers "
            "and underscores and cannot be longer than 63 characters or empty.",
        )


def check_entity(name: str, description: str | None) -> None:
    """``verifyUserInput``: the name of a group, view or training dataset, and its description."""
    _check_name(name, 91, "Illegal feature store entity name", "name", "Entity names")
    if description and len(description) > DESCRIPTION_MAX:
        raise HopsworksError(
            400,
            FS + 92,
            "Illegal featurestore entity description",
            f", the provided description for the entity {name} is too long with {len(description)} characters. "
            f"Entity descriptions cannot be longer than {DESCRIPTION_MAX} characters.",
        )


def check_feature_names(names: list[str]) -> None:
    """``verifyFeatureGroupFeatureList``: every feature's name."""
    for name in names:
        _check_name(name, 40, "Illegal feature name", "feature name", "Feature names")


def online_type(feature: dict) -> str:
    """The online type the backend stores: the one sent, else the default for the offline type."""
    return (feature.get("onlineType") or ONLINE_TYPES.get(feature["type"].lower(), "varbinary(100)")).lower()


def varchar_length(online: str) -> int | None:
    match = re.fullmatch(r"varchar\((\d+)\)", online)
    return int(match.group(1)) if match else None


def _online_bytes(online: str) -> float:
    length = varchar_length(online)
    if length is not None:
        return 4 * length
    fixed = {"tinyint": 1, "smallint": 2, "int": 4, "bigint": 8, "float": 4, "double": 8, "text": 256, "blob": 256}
    return fixed.get(online, 8)


def check_online_table(group_name: str, features: list[dict]) -> None:
    """Creating the RonDB table: primary key types, and the 30,000-byte row."""
    for feature in features:
        if feature.get("primary") and not online_type(feature).startswith(PRIMARY_KEY_ONLINE_TYPES):
            raise HopsworksError(
                400,
                FS + 1,
                "Could not create feature group and corresponding Hive table",
                f"The online type {online_type(feature)} of primary key {feature['name']} is not supported.",
            )
    size = sum(_online_bytes(online_type(f)) for f in features)
    if size > ROW_BYTES_MAX:
        raise HopsworksError(
            400,
            FS + 1,
            "Could not create feature group and corresponding Hive table",
            f"The online row of {group_name} would take {size:.0f} bytes; at most {ROW_BYTES_MAX} are allowed "
            "(a VARCHAR(n) counts 4 n bytes, TEXT 256).",
        )
