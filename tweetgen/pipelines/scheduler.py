"""A local scheduler: the Modal app's cron jobs, run in this process.

Cron specs have the 5 standard fields (minute hour day-of-month month day-of-week) and are read in
UTC, as ``modal.Cron(spec, timezone="UTC")`` reads them. One job runs at a time. A job whose time
comes while another runs starts as soon as that one ends, once; missed times are not made up.
A failed run is logged in one line and its job keeps its schedule.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter

from tweetgen.errors import ConfigError, TweetgenError

MAX_SLEEP_S = 60.0  # wake up at least this often, so a suspended laptop does not oversleep a job
MAX_MESSAGE_CHARS = 500


@dataclass(frozen=True)
class Job:
    """A named function run on a cron schedule.

    Attributes:
        name: shown in the log.
        cron: a 5-field cron spec in UTC, e.g. ``"0 6 * * *"`` (daily at 06:00).
        run: called with no arguments; its return value is ignored, an exception marks the run failed.

    Raises:
        ConfigError: ``cron`` is not a valid 5-field cron spec.
    """

    name: str
    cron: str
    run: Callable[[], object]

    def __post_init__(self) -> None:
        check_cron(self.cron, self.name)


def check_cron(cron: str, job: str = "a job") -> str:
    """Return ``cron`` with its fields single-spaced.

    Raises:
        ConfigError: it does not have 5 fields, or a field is out of range.
    """
    fields = cron.split()
    spec = " ".join(fields)
    if len(fields) != 5 or not croniter.is_valid(spec):
        raise ConfigError(
            f"The schedule of {job} is {cron!r}, not a cron spec; use 5 fields, "
            "minute hour day-of-month month day-of-week, e.g. '0 6 * * *'."
        )
    return spec


def next_run(cron: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` that ``cron`` matches, as an aware UTC datetime.

    Raises:
        ValueError: ``after`` is naive.
        ConfigError: ``cron`` is not a valid 5-field cron spec.
    """
    if after.tzinfo is None:
        raise ValueError("next_run needs a timezone-aware datetime.")
    return croniter(check_cron(cron), after.astimezone(UTC)).get_next(datetime)


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def run_forever(
    jobs: Sequence[Job],
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    max_runs: int | None = None,
    log: Callable[[str], None] = functools.partial(print, flush=True),
) -> int:
    """Run each job at its cron times until interrupted or ``max_runs`` runs have happened.

    Args:
        jobs: the jobs; when two are due at the same time, the one listed first runs first.
        clock: the current aware time (injected by tests).
        sleep: waits that many seconds; the clock must advance while it does.
        max_runs: stop after this many runs, failed ones included; ``None`` runs until Ctrl-C.
        log: receives one line per event (start, end with duration and outcome, stop).

    Returns:
        The number of runs started.

    Raises:
        ConfigError: there are no jobs.
    """
    if not jobs:
        raise ConfigError("There are no jobs to schedule; give the scheduler at least one.")
    due = [next_run(job.cron, clock()) for job in jobs]
    for job, when in zip(jobs, due, strict=True):
        log(f"scheduled {job.name} ({job.cron} UTC), first run at {_stamp(when)}")
    runs = 0
    try:
        while max_runs is None or runs < max_runs:
            index = min(range(len(jobs)), key=lambda i: due[i])
            _sleep_until(due[index], clock, sleep)
            runs += 1
            _run_once(jobs[index], due[index], clock, log)
            due[index] = next_run(jobs[index].cron, max(due[index], clock()))
    except KeyboardInterrupt:
        log(f"stopped by the user after {runs} run(s)")
        return runs
    log(f"stopped after {runs} run(s)")
    return runs


def _sleep_until(when: datetime, clock: Callable[[], datetime], sleep: Callable[[float], None]) -> None:
    while (left_s := (when - clock()).total_seconds()) > 0:
        sleep(min(left_s, MAX_SLEEP_S))


def _run_once(job: Job, due: datetime, clock: Callable[[], datetime], log: Callable[[str], None]) -> bool:
    """Run ``job`` and log its start and its end; return whether it succeeded."""
    started = clock()
    log(f"start {job.name} (due {_stamp(due)})")
    try:
        job.run()
    except KeyboardInterrupt:
        log(f"end {job.name}: interrupted after {_seconds(started, clock())}")
        raise
    except (Exception, SystemExit) as error:  # a job that fails, or calls sys.exit, must not end the schedule
        log(f"end {job.name}: failed after {_seconds(started, clock())}: {describe_error(error)}")
        return False
    log(f"end {job.name}: ok in {_seconds(started, clock())}")
    return True


def describe_error(error: BaseException) -> str:
    """One line for a failed run: the message of a ``TweetgenError``, else type and message."""
    if isinstance(error, SystemExit):
        text = f"exited with status {error.code}"
    elif isinstance(error, TweetgenError):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    line = " ".join(text.split())
    return line if len(line) <= MAX_MESSAGE_CHARS else line[: MAX_MESSAGE_CHARS - 3] + "..."


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _seconds(start: datetime, end: datetime) -> str:
    return f"{(end - start).total_seconds():.1f} s"


def upcoming_runs(cron: str, after: datetime, n: int = 3) -> list[datetime]:
    """The next ``n`` times (UTC) a cron spec fires strictly after ``after`` (timezone-aware)."""
    times: list[datetime] = []
    for _ in range(n):
        after = next_run(cron, after)
        times.append(after)
    return times


def simulated_clock(start: datetime) -> tuple[Callable[[], datetime], Callable[[float], None]]:
    """A ``clock`` and a ``sleep`` for ``scheduler.run_forever`` that skip the waiting.

    ``sleep(s)`` moves the clock ``s`` seconds forward at once, so a day of schedule runs in the
    time its jobs take (their own run time is not added to the clock).
    """
    if start.tzinfo is None:
        raise ValueError("simulated_clock needs a timezone-aware start time.")
    now = [start]

    def clock() -> datetime:
        return now[0]

    def sleep(seconds: float) -> None:
        now[0] += timedelta(seconds=max(0.0, seconds))

    return clock, sleep
