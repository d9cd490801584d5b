"""Jobs and their executions (``hopsworks_common/core/job_api.py``, ``execution_api.py``).

- ``GET jobs/{name}`` (``JobApi.get``; ``FeatureGroup.materialization_job`` looks up
  ``<group>_<version>_offline_fg_materialization``; 404 error 130009 when absent).
- ``POST jobs/{name}/executions`` (``ExecutionApi._start``, a text/plain body holding the args).
- ``GET jobs/{name}/executions?sort_by=submissiontime:desc[&limit=1]`` (``JobApi.last_execution``)
  and ``GET jobs/{name}/executions/{id}`` (``ExecutionApi._get``, polled by
  ``ExecutionEngine._wait_until_finished``).

By default an execution runs to its end inside the POST, so the SDK's first poll sees a final
state and its 3-second sleeps never happen; its stdout and stderr files exist, so its wait for log
aggregation ends at once. ``hold_next`` keeps the next execution RUNNING (final status
UNDEFINED, as YARN reports a running application) until ``release`` runs it: a job slower than
the client's patience.

``timeline`` makes executions take time as on Hopsworks Serverless, where a published run of a
materialization job went SUBMITTED, RUNNING, AGGREGATING_LOGS and ended SUCCEEDED after about
185 s: each state lasts the given seconds of ``clock`` (the twin's ``VirtualClock``, which the SDK's
sleeps advance, so minutes pass in milliseconds). The job's work happens when RUNNING ends; from
then on the final status is known (``Execution.success`` in ``hopsworks_common/execution.py`` reads
it) while the logs are aggregated, and the stdout/stderr files appear only at FINISHED or FAILED, so
the SDK's wait for log aggregation (``ExecutionEngine._wait_until_finished``) polls them.
``POST``/``PUT jobs/{name}/schedule/v2`` (``JobApi._schedule_job``, ``Job.schedule``; the SDK calls
it for the ``offline_backfill_every_hr`` write option) keeps the schedule in the job's
``jobSchedule``; Hopsworks' scheduler takes Quartz expressions with 0 in the seconds field (the
SDK's ``_schedule_materialization`` says so), the twin refuses others. ``fire`` runs a scheduled
job as the scheduler would at its next fire time.
Shapes: ``job_fixtures.json``, ``execution_fixtures.json``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.twin.rest import HopsworksError, Request, Router

if TYPE_CHECKING:
    from tests.twin.datasets import Files

#: What a job does when it runs: raises to fail the execution.
Runner = Callable[[str], None]


#: A materialization job as a published run on Hopsworks Serverless saw it (about 185 s in all).
SERVERLESS_TIMELINE = (("SUBMITTED", 15.0), ("RUNNING", 140.0), ("AGGREGATING_LOGS", 30.0))


class VirtualClock:
    """Seconds that pass only when someone sleeps: ``sleep`` advances ``now`` at once."""

    def __init__(self) -> None:
        self._now = 0.0
        self._lock = threading.Lock()
        self.slept = 0.0

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)
            self.slept += max(0.0, seconds)
        time.sleep(0)  # let other threads run, as a real sleep would


@dataclass
class Job:
    dto: dict[str, Any]
    run: Runner
    executions: list[dict[str, Any]] = field(default_factory=list)


class Jobs:
    def __init__(self, files: Files, user: str) -> None:
        self.files, self.user = files, user
        self.jobs: dict[str, Job] = {}
        self.failures: list[str] = []  # the error of every failed execution, oldest first
        self.hold_next = False  # the next execution stays RUNNING until release()
        self._held: list[tuple[Job, dict[str, Any]]] = []
        self._next_id = 0
        self.clock: Callable[[], float] = time.monotonic
        self.timeline: tuple[tuple[str, float], ...] = ()  # (state, seconds) each execution passes through
        self._timed: dict[int, tuple[Job, float]] = {}  # id(execution) -> (job, when it was submitted)
        self._progress = threading.RLock()  # requests arrive on several threads
        self._errors: dict[int, str] = {}  # id(execution) -> what it failed with, for its stderr log

    def create(self, name: str, config: dict[str, Any], run: Runner, job_type: str = "SPARK") -> Job:
        self._next_id += 1
        dto = {
            "id": self._next_id,
            "name": name,
            "creationTime": "2026-01-01T00:00:00Z",
            "config": config,
            "jobType": job_type,
            "creator": {"username": self.user},
            "type": "jobDTO",
        }
        self.jobs[name] = Job(dto, run)
        return self.jobs[name]

    def get(self, name: str) -> Job:
        if name not in self.jobs:
            raise HopsworksError(404, 130009, "Job not found.", f"Job {name} not found.")
        return self.jobs[name]

    def start(self, name: str, args: str) -> dict[str, Any]:
        job = self.get(name)
        number = len(job.executions) + 1
        logs = f"Logs/Spark/{name}/{number}"
        execution = {
            "id": number,
            "args": args,
            "submissionTime": f"2026-01-01T00:00:{number:02d}.000Z",
            "user": self.user,
            "stdoutPath": self.files.absolute(f"{logs}/stdout.log"),
            "stderrPath": self.files.absolute(f"{logs}/stderr.log"),
            "type": "executionDTO",
        }
        job.executions.append(execution)
        if self.timeline:
            execution.update(state=self.timeline[0][0], finalStatus="UNDEFINED", progress=0.0)
            self._timed[id(execution)] = (job, self.clock())
        elif self.hold_next:
            self.hold_next = False
            execution.update(state="RUNNING", finalStatus="UNDEFINED", progress=0.5)
            self._held.append((job, execution))
        else:
            self._run(job, execution)
        return execution

    def schedule(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        fields = str(body.get("cronExpression", "")).split()
        if len(fields) not in (6, 7) or fields[0] != "0":
            raise HopsworksError(400, 130021, "Could not update schedule.",  # JOB_SCHEDULE_UPDATE; status: the twin's guess
                                 f"Invalid Quartz cron expression {body.get('cronExpression')!r}: seconds must be 0.")
        job = self.get(name)
        schedule = {**body, "id": (job.dto.get("jobSchedule") or {}).get("id") or job.dto["id"], "enabled": True}
        job.dto["jobSchedule"] = schedule
        return schedule

    def fire(self, name: str) -> dict[str, Any]:
        """The scheduler's fire: an execution of the scheduled job with its default arguments."""
        job = self.get(name)
        if not job.dto.get("jobSchedule"):
            raise AssertionError(f"job {name} has no schedule")
        return self.start(name, str(job.dto["config"].get("defaultArgs", "")))

    def release(self) -> None:
        """Run the held executions to their end."""
        held, self._held = self._held, []
        for job, execution in held:
            self._run(job, execution)

    def refresh(self, execution: dict[str, Any]) -> dict[str, Any]:
        """Move a timed execution to the state its age says (its work is done when RUNNING ends)."""
        with self._progress:
            return self._advance(execution)

    def _advance(self, execution: dict[str, Any]) -> dict[str, Any]:
        timed = self._timed.get(id(execution))
        if timed is None:
            return execution
        job, start = timed
        age, elapsed = self.clock() - start, 0.0
        for state, seconds in self.timeline:
            if state == "AGGREGATING_LOGS" and execution["finalStatus"] == "UNDEFINED":
                self._work(job, execution)  # the application has ended: its final status is known
            if age < elapsed + seconds:
                execution.update(state=state, progress=round(min(0.99, age / self.duration()), 2))
                return execution
            elapsed += seconds
        if execution["finalStatus"] == "UNDEFINED":
            self._work(job, execution)
        del self._timed[id(execution)]
        execution["state"] = "FINISHED" if execution["finalStatus"] == "SUCCEEDED" else "FAILED"
        self._write_logs(job, execution)
        return execution

    def refresh_all(self) -> None:
        """Bring every timed execution to its state now: the cluster works whether or not anyone asks."""
        for job, _ in list(self._timed.values()):
            for execution in list(job.executions):
                self.refresh(execution)

    def duration(self) -> float:
        """Seconds an execution takes under ``timeline``."""
        return sum(seconds for _, seconds in self.timeline) or 1.0

    def _run(self, job: Job, execution: dict[str, Any]) -> None:
        self._work(job, execution)
        execution["state"] = "FINISHED" if execution["finalStatus"] == "SUCCEEDED" else "FAILED"
        self._write_logs(job, execution)

    def _work(self, job: Job, execution: dict[str, Any]) -> None:
        """What the job does; a failure is recorded, as YARN would (final status FAILED)."""
        name = job.dto["name"]
        try:
            job.run(execution["args"])
            execution.update(finalStatus="SUCCEEDED", progress=1.0)
        except Exception as error:  # noqa: BLE001 - a failing job is recorded, as YARN would
            execution.update(finalStatus="FAILED", progress=1.0)
            self.failures.append(f"{name}: {error}")
            self._errors[id(execution)] = str(error)

    def _write_logs(self, job: Job, execution: dict[str, Any]) -> None:
        logs = f"Logs/Spark/{job.dto['name']}/{execution['id']}"
        self.files.write(f"{logs}/stderr.log", self._errors.pop(id(execution), "").encode())
        self.files.write(f"{logs}/stdout.log", b"")


def add_routes(router: Router, jobs: Jobs) -> None:
    def executions(request: Request) -> dict[str, Any]:
        items = sorted(jobs.get(request.params["name"]).executions, key=lambda e: e["id"], reverse=True)
        items = [jobs.refresh(e) for e in items]
        limit = int(request.query.get("limit") or len(items) or 1)
        return {"count": len(items[:limit]), "items": items[:limit]}

    def execution(request: Request) -> dict[str, Any]:
        for item in jobs.get(request.params["name"]).executions:
            if str(item["id"]) == request.params["id"]:
                return jobs.refresh(item)
        raise HopsworksError(404, 130007, "Execution not found.", f"Execution {request.params['id']} not found.")

    router.add("GET", "project/{p}/jobs/{name}", lambda r: jobs.get(r.params["name"]).dto)
    router.add("POST", "project/{p}/jobs/{name}/executions", lambda r: jobs.start(r.params["name"], r.body.decode()))
    router.add("GET", "project/{p}/jobs/{name}/executions", executions)
    router.add("GET", "project/{p}/jobs/{name}/executions/{id}", execution)
    for method in ("POST", "PUT"):
        router.add(method, "project/{p}/jobs/{name}/schedule/v2", lambda r: jobs.schedule(r.params["name"], r.json()))
