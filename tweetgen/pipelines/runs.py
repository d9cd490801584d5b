"""Job runs: each run of a job recorded in the ``job_runs`` group, notified, and judged for health.

``run_recorded`` wraps a job (``tweetgen.pipelines.jobs`` calls it for every job, so the CLI, the
local scheduler and Modal record the same way). It records one row whether the job succeeds or
fails, then sends a notification on failure (or always, with ``TWEETGEN_NOTIFY_ON=always``). A
run that cannot be recorded or notified says so on stderr or in the log, and the job's own result,
its report or its exception, is what the caller gets.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pandas as pd

from tweetgen.clients.notify import Notification, scrub, send_notification
from tweetgen.config import Settings
from tweetgen.pipelines.drift import Drift
from tweetgen.pipelines.scheduler import describe_error, utc_now
from tweetgen.schema import JOB_RUNS, RUNNERS
from tweetgen.store.port import FeatureStore

R = TypeVar("R")

DAILY_JOB = "inference"  # the batch inference the app shows: its runs are the ones watched
STALE_AFTER = timedelta(hours=26)  # a day and a margin: a late but successful run is no alarm


@dataclass(frozen=True)
class JobRun:
    """One run of a job, as a ``job_runs`` row holds it."""

    job: str
    run_id: str
    runner: str
    started_at: datetime
    ended_at: datetime
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    error: str = ""

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    def frame(self) -> pd.DataFrame:
        """The run as a one-row frame of the ``job_runs`` contract."""
        row = {
            "run_id": self.run_id, "job": self.job, "runner": self.runner, "status": self.status,
            "started_at": pd.Timestamp(self.started_at), "ended_at": pd.Timestamp(self.ended_at),
            "duration_s": round(self.duration_s, 3), "counts": json.dumps(self.counts, sort_keys=True), "error": self.error,
        }
        return pd.DataFrame([row]).astype({"started_at": "datetime64[us, UTC]", "ended_at": "datetime64[us, UTC]"})


def new_run_id(job: str, started_at: datetime) -> str:
    """A readable, unique run id: ``<job>-<start as YYYYmmddTHHMMSSZ>-<6 random hex digits>``."""
    return f"{job}-{started_at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


class StoreOnce:
    """Opens the feature store on the first call and hands the same one (or the same error) after.

    The job and the recorder share it, so a run logs in to Hopsworks once, and a store that
    could not be opened is not tried a second time just to record that it failed.
    """

    def __init__(self, open_store: Callable[[], FeatureStore]) -> None:
        self._open = open_store
        self._store: FeatureStore | None = None
        self._error: BaseException | None = None

    def __call__(self) -> FeatureStore:
        if self._error is not None:
            raise self._error
        if self._store is None:
            try:
                self._store = self._open()
            except BaseException as error:
                self._error = error
                raise
        return self._store


def run_recorded(
    job: str,
    runner: str,
    settings: Settings,
    store: Callable[[], FeatureStore],
    work: Callable[[FeatureStore], R],
    clock: Callable[[], datetime] = utc_now,
) -> R:
    """Run ``work(store())``, record the run in ``job_runs``, notify, and return ``work``'s result.

    Args:
        job: the job's name (``features``, ``scrape``, ``train``, ``inference``...).
        runner: where it runs, one of ``RUNNERS``.
        store: the feature store, opened on first call (a ``StoreOnce``).

    Raises:
        Whatever ``work`` (or opening the store) raised, unchanged, after recording it.
    """
    if runner not in RUNNERS:
        raise ValueError(f"runner is {runner!r}, not one of {RUNNERS}")
    started = clock()
    run_id = new_run_id(job, started)
    try:
        result = work(store())
    except BaseException as error:
        failed = JobRun(job, run_id, runner, started, clock(), "failed", error=scrub(describe_error(error), settings.secrets()))
        _finish(failed, settings, store, failure=error)
        raise
    _finish(JobRun(job, run_id, runner, started, clock(), "ok", counts=report_counts(result)), settings, store)
    return result


def report_counts(report: object) -> dict[str, int]:
    """The counts a job's report gives (its ``counts()``), or none."""
    counts = getattr(report, "counts", None)
    return {str(k): int(v) for k, v in counts().items()} if callable(counts) else {}


def _finish(run: JobRun, settings: Settings, store: Callable[[], FeatureStore], failure: BaseException | None = None) -> None:
    """Record ``run`` (which failed with ``failure``, if given) and notify about it; neither ever raises."""
    try:
        store().insert(JOB_RUNS, run.frame())
    except Exception as error:  # noqa: BLE001 - recording must not replace the job's own outcome
        # The store that failed the job fails the record too: say so without repeating its sentence.
        reason = "its store failed, as the job's error says" if error is failure else scrub(describe_error(error), settings.secrets())
        print(f"warning: run {run.run_id} ({run.status}) could not be recorded in '{JOB_RUNS.name}': {reason}", file=sys.stderr, flush=True)
    if run.status == "failed" or settings.notify_on == "always":
        send_notification(settings, run_notification(run, settings.secrets()))  # logs, never raises


def run_notification(run: JobRun, secret_values: Sequence[str] = ()) -> Notification:
    """What a notification about ``run`` says: the job, the run, the error sentence and the time."""
    outcome = "failed" if run.status == "failed" else "succeeded"
    lines = [
        f"The job '{run.job}' {outcome} ({run.runner}).",
        f"Run:      {run.run_id}",
        f"Started:  {_stamp(run.started_at)}",
        f"Ended:    {_stamp(run.ended_at)} ({run.duration_s:.1f} s)",
    ]
    if run.error:
        lines.append(f"Error:    {run.error}")
    if run.counts:
        lines.append("Counts:   " + ", ".join(f"{name} {value:,}" for name, value in sorted(run.counts.items())))
    fields = {
        "job": run.job, "run_id": run.run_id, "status": run.status, "runner": run.runner, "error": run.error,
        "started_at": run.started_at.astimezone(UTC).isoformat(), "ended_at": run.ended_at.astimezone(UTC).isoformat(),
    }
    subject = f"tweetgen: {run.job} {outcome} at {_stamp(run.ended_at)}"
    text = scrub("\n".join(lines) + "\n", list(secret_values))
    return Notification(subject, text, {k: scrub(v, list(secret_values)) for k, v in fields.items()})


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# ---------------------------------------------------------------------------------------------
# Reading the runs back: `query --runs`, the app's health panel and GET /api/health

#: The last five runs of each job, newest first (`python -m tweetgen query --runs`).
RUNS_SQL = """
SELECT job, date_trunc('second', started_at) AS started_at, status, runner, round(duration_s, 1) AS seconds, error, counts,
       run_id
FROM job_runs QUALIFY row_number() OVER (PARTITION BY job ORDER BY started_at DESC) <= 5
ORDER BY job, started_at DESC
"""


@dataclass(frozen=True)
class JobHealth:
    """The last run of each job and whether the daily job is overdue.

    Attributes:
        checked_at: when this was judged (UTC).
        last_runs: one row per job, its newest run (``job_runs`` columns), jobs sorted by name.
        last_daily_success: end of the newest successful run of ``DAILY_JOB``, or None.
        warning: one sentence when the daily job has not succeeded within ``STALE_AFTER``.
        drift: the champion's drift figure as its newest successful run recorded it
            (``tweetgen.pipelines.drift``), or None.
    """

    checked_at: datetime
    last_runs: pd.DataFrame
    last_daily_success: datetime | None
    warning: str | None
    drift: Drift | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (ISO timestamps, ages in seconds) for ``GET /api/health``."""
        jobs = []
        for row in self.last_runs.itertuples(index=False):
            jobs.append({
                "job": row.job, "run_id": row.run_id, "status": row.status, "runner": row.runner,
                "started_at": _iso(row.started_at), "ended_at": _iso(row.ended_at),
                "age_s": round((self.checked_at - _utc(row.ended_at)).total_seconds(), 1),
                "counts": json.loads(row.counts), "error": row.error or None,
            })
        return {
            "status": "warning" if self.warning else "ok", "warning": self.warning, "checked_at": _iso(self.checked_at),
            "daily_job": DAILY_JOB, "daily_job_last_success": self.last_daily_success and _iso(self.last_daily_success),
            "stale_after_hours": STALE_AFTER.total_seconds() / 3600, "jobs": jobs,
            "drift": self.drift.as_dict() if self.drift else None,
        }


def read_runs(store: FeatureStore) -> pd.DataFrame:
    """Every recorded run (empty, with the contract's columns, when none was ever recorded)."""
    if not store.exists(JOB_RUNS):
        return pd.DataFrame({name: pd.Series(dtype="object") for name in JOB_RUNS.columns})
    return store.read(JOB_RUNS)


def job_health(runs: pd.DataFrame, now: datetime) -> JobHealth:
    """Judge ``runs`` (``job_runs`` rows) at ``now`` (aware): last run per job, and the daily job's warning."""
    if runs.empty:
        last = runs.iloc[0:0]
    else:
        newest_first = runs.sort_values("started_at", ascending=False, kind="stable")
        last = newest_first.drop_duplicates("job").sort_values("job").reset_index(drop=True)
    daily = runs[(runs["job"] == DAILY_JOB) & (runs["status"] == "ok")] if not runs.empty else runs
    last_success = _utc(daily["ended_at"].max()) if len(daily) else None
    drift = Drift.from_counts(json.loads(daily.sort_values("started_at").iloc[-1]["counts"] or "{}")) if len(daily) else None
    return JobHealth(now.astimezone(UTC), last, last_success, _daily_warning(last_success, now), drift)


def _daily_warning(last_success: datetime | None, now: datetime) -> str | None:
    if last_success is None:
        return (f"The daily job ({DAILY_JOB}) has no successful run recorded yet: schedule it "
                "(`python -m tweetgen schedule`, or `modal deploy modal_app.py`) or run `python -m tweetgen infer`.")
    overdue = now - last_success
    if overdue <= STALE_AFTER:
        return None
    return (f"The daily job ({DAILY_JOB}) last succeeded {format_age(overdue)} ago, more than "
            f"{STALE_AFTER.total_seconds() / 3600:.0f} hours: look at its last runs (`python -m tweetgen query --runs`).")


def format_age(age: timedelta) -> str:
    """A short age: "45 s", "12 min", "5 h", "3 days"."""
    seconds = max(0.0, age.total_seconds())
    for unit, size in (("days", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size * (2 if unit == "days" else 1):
            return f"{seconds // size:.0f} {unit}"
    return f"{seconds:.0f} s"


def _utc(value: object) -> datetime:
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)).to_pydatetime()


def _iso(value: object) -> str:
    return _utc(value).isoformat()
