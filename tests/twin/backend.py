"""The twin's state: one project with its feature store, jobs, Kafka, files and model registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.twin.datasets import Files
from tests.twin.featurestore import FeatureStore, Group
from tests.twin.featureviews import FeatureViews
from tests.twin.jobs import Jobs
from tests.twin.kafka import Broker, StreamIngestion
from tests.twin.registry import Registry
from tests.twin.rest import HopsworksError
from tests.twin.rules import FS
from tests.twin.tls import SERVICE_DOMAIN, Pems


@dataclass
class Project:
    name: str = "twin_project"
    id: int = 119
    user: str = "twin_user"
    feature_store_id: int = 67

    @property
    def feature_store_name(self) -> str:
        return f"{self.name}_featurestore"


@dataclass
class Backend:
    """Everything the twin holds; the route modules read and change it.

    ``variables`` are the cluster's: as on Hopsworks Serverless, no datanode or namenode load
    balancer is configured (``loadbalancer_external_domain_datanode`` is absent), so a Python
    client outside the cluster cannot write a DELTA table itself.
    """

    pems: Pems
    project: Project = field(default_factory=Project)
    version: str = "5.2.1"
    store_password: str = "twin-store-password"
    variables: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        p = self.project
        self.variables.update(
            {"service_discovery_domain": SERVICE_DOMAIN, "enable_flyingduck": "false", "enable_data_science_profile": "false"}
        )
        self.feature_store = FeatureStore(p.id, p.feature_store_id, p.feature_store_name, p.user)
        self.feature_views = FeatureViews(self.feature_store)
        self.files = Files(p.name)
        self.jobs = Jobs(self.files, p.user)
        self.registry = Registry(self.files, p.id, p.user)
        self.broker = Broker()
        self.stream = StreamIngestion(self.feature_store, self.broker)

    def project_json(self) -> dict[str, Any]:
        p = self.project
        return {
            "projectId": p.id,
            "projectName": p.name,
            "owner": p.user,
            "created": "2026-01-01T00:00:00Z",
            "description": "The twin's project",
        }

    def create_group(self, body: dict[str, Any]) -> Group:
        """``FeaturegroupController.createFeaturegroup``: the group, its topic, its materialization job."""
        group = self.feature_store.create(body)
        if "onlineTopicName" in group.dto:
            self.broker.topics[group.topic] = []
        if group.stream:
            config = {
                "type": "sparkJobConfiguration",
                "appName": group.job_name,
                "defaultArgs": f"-op offline_fg_materialization -path hdfs:///Projects/{self.project.name}"
                f"/Resources/jobs/{group.job_name}/config.json",
            }
            self.jobs.create(group.job_name, config, lambda args: self.stream.materialize(group, args))
        return group

    def delete_group(self, group_id: int, delete_feature_views: bool, force: bool) -> None:
        """``FeaturegroupController.deleteFeatureGroup``: the group, its data, topic and jobs, and
        (asked for) the feature views built on it; a group a view uses is kept otherwise."""
        group = self.feature_store.by_id(group_id)
        views = self.feature_views.using(group_id)
        if views and not (delete_feature_views or force):
            raise HopsworksError(
                400, FS + 1, "Feature group is used by feature views.",  # error code: the twin's guess
                f"Feature group {group.name} is used by feature views {sorted(n for n, _ in views)}.",
            )
        if delete_feature_views:
            for key in views:
                self.feature_views.delete(*key)
        del self.feature_store.groups[group_id]
        self.broker.topics.pop(group.dto.get("onlineTopicName", ""), None)
        self.jobs.jobs.pop(group.job_name, None)
