"""The real hopsworks SDK against the twin: feature groups, reads, feature views, the backend's rules.

Nothing here imitates the SDK: each test runs ``hopsworks`` / ``hsfs`` code end to end, and only
the network boundary (REST, Kafka, the Query Service) is answered by ``tests.twin``.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from tests.twin.fixtures import (  # noqa: F401 - the hopsworks_twin* and twin_project fixtures
    hopsworks_twin_fixture,
    hopsworks_twin_without_query_service_fixture,
    twin_project_fixture,
)
from tests.twin.server import HopsworksTwin

# the SDK silences it with urllib3.disable_warnings() at import; pytest resets filters per test
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

def tweets(ids: list[int], days: list[str], texts: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tweet_id": ids,
            "created_at": pd.to_datetime(days, utc=True),
            "text": texts or [f"tweet {i}" for i in ids],
        }
    )


def stream_group(project, name: str = "tweets", **kwargs):
    """The write path that works from outside the cluster: Kafka, then the materialization job."""
    fs = project.get_feature_store()
    return fs.get_or_create_feature_group(
        name=name,
        version=1,
        description="Tweets.",
        primary_key=["tweet_id"],
        event_time="created_at",
        time_travel_format="DELTA",
        stream=True,
        **kwargs,
    )


def test_stream_insert_goes_through_kafka_and_the_materialization_job(twin_project, hopsworks_twin: HopsworksTwin):
    fg = stream_group(twin_project)
    # tweet 2 twice with the same event time, tweet 3 twice with two event times
    frame = tweets([1, 2, 2, 3, 3], ["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03", "2024-01-04"])

    job, report = fg.insert(frame, write_options={"wait_for_job": True})

    assert (job.name, report) == ("tweets_1_offline_fg_materialization", None)
    assert len(hopsworks_twin.backend.broker.topics[fg._online_topic_name]) == 5  # every row went to Kafka
    [execution] = job.get_executions()
    assert (execution.state, execution.final_status, execution.success) == ("FINISHED", "SUCCEEDED", True)
    read = fg.select(["tweet_id", "created_at", "text"]).read(dataframe_type="pandas")
    # the job keeps the last record per (primary key, event time): tweet 2 once, tweet 3 twice
    assert sorted(read["tweet_id"]) == [1, 2, 3, 3]
    assert str(read["created_at"].dtype) == "datetime64[us]"  # UTC without a zone, as the Query Service returns it
    assert hopsworks_twin.query_service.commands[-1]["features"] == ["tweet_id", "created_at", "text"]


def test_the_next_insert_materializes_only_the_new_records(twin_project, hopsworks_twin: HopsworksTwin):
    fg = stream_group(twin_project)
    fg.insert(tweets([1, 2], ["2024-01-01", "2024-01-02"]), write_options={"wait_for_job": True})
    fg.insert(tweets([2, 3], ["2024-01-02", "2024-01-03"], ["edited", "new"]), write_options={"wait_for_job": True})

    read = fg.read(dataframe_type="pandas").sort_values("tweet_id")

    assert list(read["tweet_id"]) == [1, 2, 3]
    assert list(read["text"]) == ["tweet 1", "edited", "new"]  # same key and event time: updated
    commits = hopsworks_twin.backend.feature_store.find("tweets", 1)[0].commits
    assert [(c["rowsInserted"], c["rowsUpdated"]) for c in commits] == [(2, 0), (1, 1)]
    assert fg.materialization_job.get_final_state() == "SUCCEEDED"


def test_insert_without_waiting_then_a_bounded_wait(twin_project):
    fg = stream_group(twin_project)

    job, _ = fg.insert(tweets([1], ["2024-01-01"]), write_options={"wait_for_job": False})
    execution = job.get_executions()[0]
    execution.await_termination(timeout=30)  # returns None; the state is read again

    assert job.get_final_state() == "SUCCEEDED"
    assert list(fg.read(dataframe_type="pandas")["tweet_id"]) == [1]


def test_a_failed_materialization_job_raises_and_writes_nothing(twin_project, hopsworks_twin: HopsworksTwin):
    from hopsworks.client.exceptions import JobExecutionException

    fg = stream_group(twin_project)
    hopsworks_twin.backend.stream.fail_next_materialization = "Spark executor lost"

    with pytest.raises(JobExecutionException, match="The Hopsworks Job failed, use the Hopsworks UI"):
        fg.insert(tweets([1], ["2024-01-01"]), write_options={"wait_for_job": True})

    assert issubclass(JobExecutionException, Exception) and not issubclass(JobExecutionException, OSError)
    assert fg.materialization_job.get_final_state() == "FAILED"
    assert hopsworks_twin.backend.feature_store.find("tweets", 1)[0].offline == []


def test_a_delta_group_cannot_be_written_from_outside_the_cluster(twin_project, hopsworks_twin: HopsworksTwin):
    from hopsworks.client.exceptions import FeatureStoreException

    fs = twin_project.get_feature_store()
    fg = fs.get_or_create_feature_group(name="tweets", version=1, primary_key=["tweet_id"], event_time="created_at")

    with pytest.raises(FeatureStoreException) as raised:
        fg.insert(tweets([1], ["2024-01-01"]))

    assert str(raised.value) == (
        "Failed to write to delta table in external cluster. Make sure datanode load balancer has been setup on "
        "the cluster."
    )
    assert "loadbalancer_external_domain_datanode" in str(raised.value.__cause__)
    # the metadata was created before the write failed: an empty DELTA group now holds the name
    [group] = hopsworks_twin.backend.feature_store.find("tweets", 1)
    assert (group.dto["timeTravelFormat"], group.stream, group.offline) == ("DELTA", False, [])


def test_explicit_features_on_a_delta_stream_group_also_need_the_datanode(twin_project):
    """A schema given up front makes the SDK create an empty Delta table itself (``_save_empty_table``)."""
    from hopsworks.client.exceptions import FeatureStoreException
    from hsfs.feature import Feature

    features = [Feature("tweet_id", "bigint"), Feature("created_at", "timestamp"), Feature("text", "string")]
    fg = stream_group(twin_project, features=features)

    with pytest.raises(FeatureStoreException, match="Make sure datanode load balancer has been setup"):
        fg.insert(tweets([1], ["2024-01-01"]))


def test_a_description_over_256_characters_is_refused(twin_project):
    from hopsworks.client.exceptions import RestAPIError

    fg = stream_group(twin_project)
    fg.description = "x" * 257

    with pytest.raises(RestAPIError) as raised:
        fg.insert(tweets([1], ["2024-01-01"]))

    assert (raised.value.response.status_code, raised.value.error_code) == (400, 270092)
    assert raised.value.user_message.endswith("is too long with 257 characters. Entity descriptions cannot be longer than 256 characters.")


@pytest.mark.parametrize("name", ["tweets-v2", "1tweets", "t" * 64, "tweets v2"])
def test_group_names_the_backend_refuses(twin_project, name: str):
    from hopsworks.client.exceptions import RestAPIError

    fg = stream_group(twin_project, name=name)

    with pytest.raises(RestAPIError) as raised:
        fg.insert(tweets([1], ["2024-01-01"]))

    assert (raised.value.response.status_code, raised.value.error_code) == (400, 270091)
    assert f"the provided name {name} is invalid" in raised.value.user_message


def test_a_feature_name_the_backend_refuses(twin_project):
    from hopsworks.client.exceptions import RestAPIError

    frame = tweets([1], ["2024-01-01"]).rename(columns={"text": "raw-text"})

    with pytest.raises(RestAPIError) as raised:
        stream_group(twin_project).insert(frame)

    assert raised.value.error_code == 270040
    assert "the provided feature name raw-text is invalid" in raised.value.user_message


def test_reads_need_the_query_service(hopsworks_twin_without_query_service: HopsworksTwin, tmp_path):
    import hopsworks

    project = hopsworks.login(**hopsworks_twin_without_query_service.login_kwargs(tmp_path / "certs"))
    fg = stream_group(project)
    fg.insert(tweets([1], ["2024-01-01"]), write_options={"wait_for_job": True})  # writes do not need it

    with (
        pytest.warns(UserWarning, match="Hopsworks Query Service will be disabled for this session"),
        pytest.raises(ValueError) as raised,
    ):
        fg.select(["tweet_id"]).read()

    assert str(raised.value) == "Reading data with Hive is not supported when using hopsworks client version >= 4.0"


def test_feature_view_training_data(twin_project):
    from hopsworks_common.util import VersionWarning

    fg = stream_group(twin_project)
    fg.insert(tweets([1, 2], ["2024-01-01", "2024-01-02"]), write_options={"wait_for_job": True})
    fs = twin_project.get_feature_store()

    view = fs.get_or_create_feature_view(
        name="tweets_training", query=fg.select(["tweet_id", "created_at", "text"]), version=1, description="Training."
    )
    features, labels = view.training_data(description="run 1", primary_key=True, event_time=True)
    with pytest.warns(VersionWarning, match="Incremented version to `2`"):
        view.training_data(description="run 2", primary_key=True, event_time=True)

    assert labels is None
    assert list(features.sort_values("tweet_id")["text"]) == ["tweet 1", "tweet 2"]
    assert view.get_last_accessed_training_dataset() == 2
    assert fs.get_or_create_feature_view(name="tweets_training", query=fg.select_all(), version=1).id == view.id


def test_a_feature_view_description_over_256_characters_is_refused(twin_project):
    from hopsworks.client.exceptions import RestAPIError

    fg = stream_group(twin_project)
    fg.insert(tweets([1], ["2024-01-01"]), write_options={"wait_for_job": True})

    with pytest.raises(RestAPIError) as raised:
        twin_project.get_feature_store().get_or_create_feature_view(
            name="tweets_training", query=fg.select_all(), version=1, description="d" * 300
        )

    assert raised.value.error_code == 270092


def test_online_strings_are_varchar_100_unless_the_first_insert_is_longer(twin_project, hopsworks_twin: HopsworksTwin):
    fg = stream_group(twin_project, online_enabled=True)
    fg.insert(tweets([1], ["2024-01-01"], ["short"]), write_options={"wait_for_job": True})

    stored = {f["name"]: f["onlineType"] for f in hopsworks_twin.backend.feature_store.find("tweets", 1)[0].features}
    assert stored == {"tweet_id": "bigint", "created_at": "timestamp", "text": "varchar(100)"}
    with pytest.raises(ValueError, match="Column text has string values longer than maximum column limit of 100"):
        fg.insert(tweets([2], ["2024-01-02"], ["x" * 280]), write_options={"wait_for_job": True})


def test_a_long_first_string_widens_the_online_column_until_the_row_is_too_large(twin_project):
    from hopsworks.client.exceptions import RestAPIError

    fg = stream_group(twin_project, online_enabled=True)

    # 25,000 characters: the SDK asks for varchar(25000), 100,000 bytes of a 30,000-byte row
    with pytest.raises(RestAPIError) as raised:
        fg.insert(tweets([1], ["2024-01-01"], ["x" * 25_000]), write_options={"wait_for_job": True})

    assert raised.value.response.status_code == 400
    assert "at most 30000 are allowed" in raised.value.user_message


def test_online_rows_reach_the_online_table(twin_project, hopsworks_twin: HopsworksTwin):
    fg = stream_group(twin_project, online_enabled=True)

    fg.insert(tweets([1, 2], ["2024-01-01", "2024-01-02"]), write_options={"wait_for_job": True})

    group = hopsworks_twin.backend.feature_store.find("tweets", 1)[0]
    assert sorted(group.online) == [(1,), (2,)] and len(group.offline) == 2


def test_the_features_property_is_deprecated(twin_project):
    from hopsworks_apigen import HopsworksDeprecationWarning

    fg = stream_group(twin_project)
    fg.insert(tweets([1], ["2024-01-01"]), write_options={"wait_for_job": True})
    stored = twin_project.get_feature_store().get_feature_group("tweets", version=1)

    with pytest.warns(HopsworksDeprecationWarning, match="columns"):
        names = [f.name for f in stored.features]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [f.name for f in stored.columns] == names == ["tweet_id", "created_at", "text"]


def test_onlinefs_drops_a_string_longer_than_its_column_and_the_insert_still_succeeds(
    twin_project, hopsworks_twin: HopsworksTwin
):
    fg = stream_group(twin_project, online_enabled=True)
    fg.insert(tweets([1], ["2024-01-01"], ["short"]), write_options={"wait_for_job": True})

    # with the SDK's own check switched off, the row reaches Kafka and OnlineFS refuses it
    fg.insert(
        tweets([2], ["2024-01-02"], ["x" * 150]),
        write_options={"wait_for_job": True, "wait_for_online_ingestion": True},
        validation_options={"online_schema_validation": False},
    )

    group = hopsworks_twin.backend.feature_store.find("tweets", 1)[0]
    assert sorted(group.online) == [(1,)] and len(group.offline) == 2
    assert group.online_rejected == ["text: value longer than 100 characters"]
    assert [r.status for r in fg.get_latest_online_ingestion().results] == ["FAILED"]


def test_explicit_online_types_on_a_hudi_stream_group(twin_project, hopsworks_twin: HopsworksTwin):
    """The SDK creates no table itself for HUDI, so a schema with online types can be given up front."""
    from hsfs.feature import Feature

    features = [
        Feature("tweet_id", "bigint"),
        Feature("created_at", "timestamp"),
        Feature("text", "string", online_type="text"),  # no length check, 256 bytes of the row
        Feature("clean_text", "string", online_type="varchar(280)"),
    ]
    fs = twin_project.get_feature_store()
    fg = fs.get_or_create_feature_group(
        name="tweets", version=1, primary_key=["tweet_id"], event_time="created_at", online_enabled=True,
        time_travel_format="HUDI", stream=True, features=features,
    )
    frame = tweets([1], ["2024-01-01"], ["x" * 25_000]).assign(clean_text="y" * 280)

    fg.insert(frame, write_options={"wait_for_job": True})
    with pytest.raises(ValueError, match="Column clean_text has string values longer than maximum column limit of 280"):
        fg.insert(tweets([2], ["2024-01-02"]).assign(clean_text="y" * 281))

    group = hopsworks_twin.backend.feature_store.find("tweets", 1)[0]
    assert [f["onlineType"] for f in group.features] == ["bigint", "timestamp", "text", "varchar(280)"]
    assert len(fg.read(dataframe_type="pandas")["text"][0]) == 25_000 and len(group.online) == 1
