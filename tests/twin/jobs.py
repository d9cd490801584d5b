"""Jobs and their executions (``hopsworks_common/core/job_api.py``, ``execution_api.py``).

- ``GET jobs/{name}`` (``JobApi.get``; ``FeatureGroup.materialization_job`` looks up
  ``<group>_<version>_offline_fg_materialization``; 404 error 130009 when absent).
- ``POST jobs/{name}/executions`` (``ExecutionApi._start``, a text/plain body holding the args).
- ``GET jobs/{name}/executions?sort_by=submissiontime:desc[&limit=1]`` (``JobApi.last_execution``)
  and ``GET jobs/{name}/executions/{id}`` (``ExecutionApi._get``, polled by
  ``ExecutionEngine._wait_until_finished``).

An execution runs to its end inside the POST, so the SDK's first poll sees a final state and
its 3-second sleeps never happen; its stdout and stderr files exist, so its wait for log
aggregation ends at once. ``hold_next`` keeps the next execution RUNNING (final status
UNDEFINED, as YARN reports a running application) until ``release`` runs it: a job slower than
the client's patience.
Shapes: ``job_fixtures.json``, ``execution_fixtures.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.twin.rest import HopsworksError, Request, Router

if TYPE_CHECKING:
    from tests.twin.datasets import Files

#: What a job does when it runs: raises to fail the execution.
Runner = Callable[[str], None]


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
        if self.hold_next:
            self.hold_next = False
            execution.update(state="RUNNING", finalStatus="UNDEFINED", progress=0.5)
            self._held.append((job, execution))
        else:
            self._run(job, execution)
        return execution

    def release(self) -> None:
        """Run the held executions to their end."""
        held, self._held = self._held, []
        for job, execution in held:
            self._run(job, execution)

    def _run(self, job: Job, execution: dict[str, Any]) -> None:
        name, logs = job.dto["name"], f"Logs/Spark/{job.dto['name']}/{execution['id']}"
        try:
            job.run(execution["args"])
            execution.update(state="FINISHED", finalStatus="SUCCEEDED", progress=1.0)
            self.files.write(f"{logs}/stderr.log", b"")
        except Exception as error:  # noqa: BLE001 - a failing job is recorded, as YARN would
            execution.update(state="FAILED", finalStatus="FAILED", progress=1.0)
            self.failures.append(f"{name}: {error}")
            self.files.write(f"{logs}/stderr.log", str(error).encode())
        self.files.write(f"{logs}/stdout.log", b"")


def add_routes(router: Router, jobs: Jobs) -> None:
    def executions(request: Request) -> dict[str, Any]:
        items = sorted(jobs.get(request.params["name"]).executions, key=lambda e: e["id"], reverse=True)
        limit = int(request.query.get("limit") or len(items) or 1)
        return {"count": len(items[:limit]), "items": items[:limit]}

    def execution(request: Request) -> dict[str, Any]:
        for item in jobs.get(request.params["name"]).executions:
            if str(item["id"]) == request.params["id"]:
                return item
        raise HopsworksError(404, 130007, "Execution not found.", f"Execution {request.params['id']} not found.")

    router.add("GET", "project/{p}/jobs/{name}", lambda r: jobs.get(r.params["name"]).dto)
    router.add("POST", "project/{p}/jobs/{name}/executions", lambda r: jobs.start(r.params["name"], r.body.decode()))
    router.add("GET", "project/{p}/jobs/{name}/executions", executions)
    router.add("GET", "project/{p}/jobs/{name}/executions/{id}", execution)
