"""The Hopsworks fake enforces the SDK's rules, and its methods take the real SDK's arguments."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest

from tests.fakes.hopsworks_fake import (
    FakeFeatureGroup,
    FakeFeatureStore,
    FakeHopsworks,
    FakeProject,
    FakeQuery,
    FeatureStoreException,
    RestAPIError,
    fake_hopsworks_fixture,  # noqa: F401 - the fake_hopsworks fixture
)


@pytest.fixture
def fs(fake_hopsworks: FakeHopsworks) -> FakeFeatureStore:
    import hopsworks

    project = hopsworks.login(project="tweetgen_test", api_key_value=fake_hopsworks.api_key, engine="python")
    return project.get_feature_store()


def frame(**columns: object) -> pd.DataFrame:
    base = {
        "id": pd.Series([1, 2], dtype="int64"),
        "at": pd.Series(pd.to_datetime(["2024-01-01 10:00", "2024-01-02 10:00"]).tz_localize("UTC")),
        "score": [0.5, 1.5],
    }
    return pd.DataFrame({**base, **columns})


def group(fs: FakeFeatureStore, name: str = "scores") -> FakeFeatureGroup:
    return fs.get_or_create_feature_group(name=name, version=1, primary_key=["id"], event_time="at")


def test_nothing_exists_until_the_first_insert(fs: FakeFeatureStore) -> None:
    assert fs.get_feature_group("scores", version=1) is None
    unsaved = group(fs)
    assert unsaved.id is None and unsaved.features == []
    assert fs.get_feature_group("scores", version=1) is None
    unsaved.insert(frame())
    assert unsaved.id is not None
    stored = fs.get_feature_group("scores", version=1)
    assert [(f.name, f.type) for f in stored.features] == [("id", "bigint"), ("at", "timestamp"), ("score", "double")]


def test_get_or_create_requires_a_version_and_never_updates_a_group(fs: FakeFeatureStore) -> None:
    with pytest.raises(TypeError):
        fs.get_or_create_feature_group("scores", primary_key=["id"])  # type: ignore[call-arg]
    group(fs).insert(frame())
    again = fs.get_or_create_feature_group("scores", version=1, primary_key=["score"], description="other")
    assert again.primary_key == ["id"] and again.description == ""


@pytest.mark.parametrize("name", ["Scores", "my-scores", "123", "s" * 64, ""])
def test_invalid_group_names_are_refused_on_first_insert(fs: FakeFeatureStore, name: str) -> None:
    with pytest.raises(RestAPIError, match="HTTP code: 400"):
        group(fs, name).insert(frame())
    assert fs.cluster.groups == {}


def test_column_names_are_lowercased_and_then_checked(fs: FakeFeatureStore) -> None:
    group(fs).insert(frame().rename(columns={"score": "Score"}))
    assert [f.name for f in fs.get_feature_group("scores", 1).features] == ["id", "at", "score"]
    with pytest.raises(RestAPIError, match="'bad-name' is invalid"):
        group(fs, "other").insert(frame().rename(columns={"score": "bad-name"}))


@pytest.mark.parametrize(
    "column",
    [pd.Series([1, 2], dtype="uint64"), pd.Series([None, None], dtype="object")],
    ids=["uint64", "all-null"],
)
def test_unsupported_dtypes_are_refused(fs: FakeFeatureStore, column: pd.Series) -> None:
    with pytest.raises(FeatureStoreException, match="Feature 'extra': dtype '(uint64|null)' not supported"):
        group(fs).insert(frame(extra=column))
    assert fs.get_feature_group("scores", 1) is None


def test_aware_timestamps_are_stored_and_read_as_naive_utc(fs: FakeFeatureStore) -> None:
    paris = pd.Series(pd.to_datetime(["2024-01-01 11:00", "2024-07-01 12:00"]).tz_localize("Europe/Paris"))
    group(fs).insert(frame(at=paris))
    read = fs.get_feature_group("scores", 1).read()
    assert read["at"].dt.tz is None
    assert read["at"].tolist() == [pd.Timestamp("2024-01-01 10:00"), pd.Timestamp("2024-07-01 10:00")]


def test_a_later_insert_cannot_change_the_schema(fs: FakeFeatureStore) -> None:
    group(fs).insert(frame())
    existing = group(fs)
    with pytest.raises(FeatureStoreException, match="extra .* does not exist in feature group"):
        existing.insert(frame(extra=["a", "b"]))
    with pytest.raises(FeatureStoreException, match="score .* is missing from input dataframe"):
        existing.insert(frame().drop(columns=["score"]))
    with pytest.raises(FeatureStoreException, match="score .* has the wrong type"):
        existing.insert(frame(score=["high", "low"]))
    assert len(existing.read()) == 2


def test_duplicate_keys_are_stored_twice_and_key_plus_event_time_is_upserted(fs: FakeFeatureStore) -> None:
    fg = group(fs)
    fg.insert(pd.concat([frame(), frame()], ignore_index=True))  # each key twice in one insert
    assert sorted(fg.read()["id"]) == [1, 1, 2, 2]
    fg.insert(frame(score=[9.0, 9.0]).iloc[:1])  # id 1 with the same event time: merged
    assert sorted(fg.read()["score"]) == [1.5, 1.5, 9.0]
    fg.insert(frame(at=pd.Series(pd.to_datetime(["2025-01-01", "2025-01-01"]).tz_localize("UTC"))))
    assert sorted(fg.read()["id"]) == [1, 1, 2, 2, 2]  # known keys, new event time: appended


def test_select_filter_and_read_options(fs: FakeFeatureStore) -> None:
    fg = group(fs)
    fg.insert(frame())
    assert fg.select(["id"]).read().columns.tolist() == ["id"]
    assert fg.filter(fg.score > 1.0).read()["id"].tolist() == [2]
    assert fg.select(["id", "score"]).filter((fg.score < 1.0) | (fg.score > 1.4)).read()["id"].tolist() == [1, 2]
    assert fg.filter((fg.score < 1.0) & (fg.score > 1.4)).read().empty
    assert fg.filter(fg.get_feature("id").isin([2])).read()["score"].tolist() == [1.5]
    with pytest.raises(FeatureStoreException, match="incremental queries"):
        fg.read(wallclock_time="2024-01-01")
    with pytest.raises(FeatureStoreException, match="Online storage is not enabled"):
        fg.read(online=True)
    with pytest.raises(FeatureStoreException, match="not found"):
        fg.select(["nope"])


def test_login_rules(fake_hopsworks: FakeHopsworks) -> None:
    import hopsworks

    with pytest.raises(EOFError):  # no key: the SDK's getpass prompt, without a terminal
        hopsworks.login(project="tweetgen_test")
    with pytest.raises(RestAPIError, match="401"):
        hopsworks.login(project="tweetgen_test", api_key_value="wrong")
    fake_hopsworks.projects = ("a", "b")
    with pytest.raises(EOFError):  # several projects, none named: the SDK's menu
        hopsworks.login(api_key_value=fake_hopsworks.api_key)


# ---- the fake's methods accept only arguments the real SDK accepts, with the same defaults ----

REAL = {
    "login": ("hopsworks", "login"),
    "get_feature_store": ("hopsworks_common.project", "Project.get_feature_store"),
    "get_feature_group": ("hsfs.feature_store", "FeatureStore.get_feature_group"),
    "get_or_create_feature_group": ("hsfs.feature_store", "FeatureStore.get_or_create_feature_group"),
    "insert": ("hsfs.feature_group", "FeatureGroup.insert"),
    "read": ("hsfs.feature_group", "FeatureGroup.read"),
    "select": ("hsfs.feature_group", "FeatureGroup.select"),
    "filter": ("hsfs.feature_group", "FeatureGroup.filter"),
    "delete": ("hsfs.feature_group", "FeatureGroup.delete"),
    "query_read": ("hsfs.constructor.query", "Query.read"),
}
FAKE = {
    "login": FakeHopsworks.login,
    "get_feature_store": FakeProject.get_feature_store,
    "get_feature_group": FakeFeatureStore.get_feature_group,
    "get_or_create_feature_group": FakeFeatureStore.get_or_create_feature_group,
    "insert": FakeFeatureGroup.insert,
    "read": FakeFeatureGroup.read,
    "select": FakeFeatureGroup.select,
    "filter": FakeFeatureGroup.filter,
    "delete": FakeFeatureGroup.delete,
    "query_read": FakeQuery.read,
}


@pytest.mark.parametrize("method", sorted(REAL))
def test_fake_signatures_match_the_installed_sdk(method: str) -> None:
    module_name, attribute = REAL[method]
    real: object = pytest.importorskip(module_name)
    for part in attribute.split("."):
        real = getattr(real, part)
    real_params = inspect.signature(inspect.unwrap(real)).parameters  # type: ignore[arg-type]
    fake_params = inspect.signature(FAKE[method]).parameters
    for name, param in fake_params.items():
        if name == "self" and "self" not in real_params:  # a module function in the SDK, a method here
            continue
        assert name in real_params, f"the real {attribute} has no parameter {name!r}"
        assert param.default == real_params[name].default, f"{attribute}({name}=...) default differs"
    required = [n for n, p in real_params.items() if p.default is inspect.Parameter.empty and n != "self"]
    assert [n for n in required if n in fake_params] == required
