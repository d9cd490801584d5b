"""The write plan (``tweetgen.clients.write_plan``): which groups a run waits for, which are
materialized on a schedule, the Spark jobs a day costs, and the worst case each job's timeout
covers; and the Hopsworks adapter following it against the twin, on Serverless timing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes.frames import tweets_frame
from tests.twin.fixtures import hopsworks_twin_fixture, slow_jobs  # noqa: F401 - the hopsworks_twin fixture
from tests.twin.server import HopsworksTwin
from tweetgen.clients import write_plan
from tweetgen.clients.write_plan import AWAITED, SCHEDULED, job_timeout_s, plan_of, spark_jobs_per_day, write_budget_s
from tweetgen.config import Settings
from tweetgen.pipelines.runs import JobRun
from tweetgen.schema import GROUPS, JOB_RUNS, TWEETS
from tweetgen.store.hopsworks import HopsworksFeatureStore
from tweetgen.store.port import WriteResult

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


def settings(**changes: object) -> Settings:
    return dataclasses.replace(Settings.load(dotenv=None), **changes)  # type: ignore[arg-type]


def test_every_contract_has_a_plan_and_only_job_runs_waits_for_its_schedule() -> None:
    assert set(write_plan.PLAN) == {spec.name for spec in GROUPS.values()}
    assert [name for name, plan in write_plan.PLAN.items() if plan == SCHEDULED] == ["job_runs"]
    assert plan_of("tweetgen_doctor_ab12") == AWAITED  # a group the plan does not know is waited for


def test_a_day_costs_four_spark_jobs_where_waiting_for_every_write_would_cost_six() -> None:
    assert spark_jobs_per_day() == 4  # scrape: tweets, x_cursor; inference: generated_tweets; job_runs once
    every_write = sum(count * len(write_plan.JOB_WRITES[job]) for job, count in write_plan.RUNS_PER_DAY.items())
    assert every_write == 6  # scrape 3, retrain 1, inference 2
    assert spark_jobs_per_day({"scrape": 24, "retrain": 1, "inference": 1}) == 24 * 2 + 1 + 1  # hourly scrapes


def test_a_write_budget_is_one_or_two_job_timeouts_and_one_call_timeout() -> None:
    s = settings(hopsworks_timeout_s=60.0, hopsworks_job_timeout_s=240.0)
    assert write_budget_s("tweets", s) == 2 * 240 + 60  # settle an earlier job, then wait for its own
    assert write_budget_s("job_runs", s) == 240 + 60  # settle only
    # scrape: login 60 + X reads 240 + tweets 540 + x_cursor 540 + job_runs 300 = 1680, plus a fifth
    assert job_timeout_s("scrape", s) == 2016
    longer = settings(hopsworks_timeout_s=60.0, hopsworks_job_timeout_s=241.0)
    assert job_timeout_s("scrape", longer) == 2022  # 5 more job-timeout seconds (five waits), times 1.2


def test_a_job_runs_row_is_sent_without_waiting_and_lands_when_the_scheduled_job_runs(
    hopsworks_twin: HopsworksTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = slow_jobs(monkeypatch, hopsworks_twin)
    opened = HopsworksFeatureStore.from_settings(settings())
    when = datetime(2026, 1, 10, 5, 30, tzinfo=UTC)
    run = JobRun("scrape", "run-1", "modal", when, when + timedelta(minutes=3), "ok")
    assert opened.insert(JOB_RUNS, run.frame()) == WriteResult(inserted=1, already_present=0)  # creates the group
    later = dataclasses.replace(run, run_id="run-2")
    assert opened.insert(JOB_RUNS, later.frame()).inserted == 1

    [group] = hopsworks_twin.backend.feature_store.find("job_runs", 1)
    job = hopsworks_twin.backend.jobs.jobs[group.job_name]
    assert job.executions == [] and clock.now() == 0  # no Spark job started, none waited for
    assert job.dto["jobSchedule"]["cronExpression"] == write_plan.SCHEDULED_MATERIALIZATION
    assert group.offline == []  # the rows wait in Kafka

    hopsworks_twin.backend.jobs.fire(group.job_name)  # 06:45 UTC: one job for every run's rows
    clock.sleep(200)
    assert opened.read(JOB_RUNS)["run_id"].tolist() == ["run-1", "run-2"]
    assert [e["finalStatus"] for e in job.executions] == ["SUCCEEDED"]


def test_an_awaited_group_waits_for_its_job_on_serverless_timing(hopsworks_twin: HopsworksTwin, monkeypatch) -> None:
    clock = slow_jobs(monkeypatch, hopsworks_twin)
    opened = HopsworksFeatureStore.from_settings(settings())
    assert opened.insert(TWEETS, tweets_frame([1])).inserted == 1
    first = clock.now()
    assert opened.insert(TWEETS, tweets_frame([2])).inserted == 1
    assert first >= 185 and 185 <= clock.now() - first <= write_budget_s("tweets", settings())
