"""The write plan on Hopsworks: which feature groups are materialized before a run ends, which on a
schedule, and how long each scheduled job may take at worst (its Modal timeout follows from it).

A write to a stream group sends its rows through Kafka; a Spark job (the group's materialization
job) then merges them into the offline table, where reads find them. On Hopsworks Serverless one
such job takes about three minutes (a published run: SUBMITTED, RUNNING, AGGREGATING_LOGS,
SUCCEEDED after 185 s), whatever the number of rows. So each group gets one of two plans:

- **awaited**: the insert starts the job and the run waits for it (``HOPSWORKS_JOB_TIMEOUT``), so
  the run fails, and says so, if the rows did not land. For groups read soon after, or whose stale
  read costs money: ``tweets`` (the batch inference 30 minutes after the scrape, and training, read
  it), ``x_cursor`` (the next scrape resumes from it; a cursor not yet in the table means paying
  for the same posts again), ``generated_tweets`` (the app shows the day's run; a failed job must
  fail the run, whose retry then settles it), ``held_out_tweets`` (the replay reads it next).
- **scheduled**: the insert only sends the rows (the SDK's ``start_offline_materialization``
  write option off) and the group's job runs on ``SCHEDULED_MATERIALIZATION`` (the SDK's
  ``offline_backfill_every_hr`` write option, which schedules it), picking up every run's rows at
  once. For ``job_runs``: every job writes one row and only the health panel and ``doctor`` read
  them, so they may land after the day's runs, and the runs spare one Spark job and one wait each.

Whatever the plan, the next write to a group first waits for a materialization still running and
runs a failed one again (``tweetgen.store.hopsworks``), so no row is lost or stored twice.

A day of the scheduled pipeline then costs ``spark_jobs_per_day()`` Spark jobs: the scrape's two
awaited groups, the inference's one, and one scheduled run for ``job_runs`` (six if every write
were awaited).

Only the standard library and ``tweetgen.config`` are imported here: ``modal_app.py`` reads the
timeouts when it is deployed from a machine that has only ``modal`` installed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from tweetgen.config import Settings

AWAITED, SCHEDULED = "awaited", "scheduled"
#: How each group's rows reach its offline table (groups not named here are awaited).
PLAN = {
    "tweets": AWAITED,
    "held_out_tweets": AWAITED,
    "x_cursor": AWAITED,
    "generated_tweets": AWAITED,
    "job_runs": SCHEDULED,
}
#: When the scheduled groups' jobs run: daily at 06:45 UTC, after the scrape (05:30) and the batch
#: inference (06:00) have written their rows. A Quartz expression, as Hopsworks' scheduler takes it
#: (seconds first, and only 0 there; ``?`` for the day of the week).
SCHEDULED_MATERIALIZATION = "0 45 6 ? * * *"
#: The groups each scheduled job writes, in order (``tweetgen.pipelines.jobs``; every job ends with
#: its ``job_runs`` row).
JOB_WRITES = {
    "scrape": ("tweets", "x_cursor", "job_runs"),
    "inference": ("generated_tweets", "job_runs"),
    "retrain": ("job_runs",),  # and a model version in the registry, when it trains
    "train": ("job_runs",),
}
#: Each job's own work before its writes, in seconds: the scrape's X reads stop within their budget
#: (``tweetgen.sources.x_api.MODAL_TIME_BUDGET_S``); the inference downloads the champion and a
#: challenger, generates and measures; the retrain counts the new tweets and, when it trains,
#: downloads the champion, warm-starts it for 60 s, scores and uploads; training runs
#: ``max_seconds`` (1 h by default, at most 1.5 h on Modal), then evaluates and uploads.
WORK_S = {"scrape": 240.0, "inference": 600.0, "retrain": 900.0, "train": 2 * 3600.0}
#: How many times a day each job runs on its schedule (train runs when asked; retrain's only
#: write to a group is its ``job_runs`` row, scheduled, so it adds no Spark job).
RUNS_PER_DAY = {"scrape": 1, "retrain": 1, "inference": 1}
MARGIN = 1.2  # a timeout is the worst case plus a fifth


def plan_of(group: str) -> str:
    """``AWAITED`` or ``SCHEDULED``: how the group's rows reach its offline table."""
    return PLAN.get(group, AWAITED)


def write_budget_s(group: str, settings: Settings) -> float:
    """The longest one write to ``group`` may take before it succeeds or fails with its sentence.

    An earlier materialization still running is waited for, or a failed one run again and waited
    for (up to ``HOPSWORKS_JOB_TIMEOUT``); the keys are read, the rows sent through Kafka and the
    job started (each call bounded by ``HOPSWORKS_TIMEOUT``; a stalled one fails the write within
    that bound); an awaited group's own job is then waited for (``HOPSWORKS_JOB_TIMEOUT`` again).
    """
    jobs = 2 if plan_of(group) == AWAITED else 1
    return jobs * settings.hopsworks_job_timeout_s + settings.hopsworks_timeout_s


def job_timeout_s(job: str, settings: Settings, work_s: float | None = None) -> int:
    """The Modal timeout of ``job``: the login, its own work (``WORK_S``), its writes, with ``MARGIN``."""
    writes = sum(write_budget_s(group, settings) for group in JOB_WRITES[job])
    work = WORK_S[job] if work_s is None else work_s
    return math.ceil((settings.hopsworks_timeout_s + work + writes) * MARGIN)


def spark_jobs_per_day(runs_per_day: dict[str, int] | None = None) -> int:
    """Materialization jobs a day of scheduled runs starts: one per awaited write, one per scheduled group."""
    runs = RUNS_PER_DAY if runs_per_day is None else runs_per_day
    awaited = sum(count * _awaited(JOB_WRITES[job]) for job, count in runs.items())
    scheduled = len({g for job in runs for g in JOB_WRITES[job] if plan_of(g) == SCHEDULED})
    return awaited + scheduled


def _awaited(groups: Iterable[str]) -> int:
    return sum(plan_of(group) == AWAITED for group in groups)


def describe(settings: Settings) -> str:
    """The plan in one line: each job's writes with their plan and its timeout, the Spark jobs a day."""
    jobs = "; ".join(
        f"{job} {' + '.join(f'{g} ({plan_of(g)})' for g in groups)}, timeout {job_timeout_s(job, settings)} s"
        for job, groups in JOB_WRITES.items()
    )
    return f"{jobs}; {spark_jobs_per_day()} Spark jobs a day"
