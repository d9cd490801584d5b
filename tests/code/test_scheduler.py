"""The local scheduler, driven by a fake clock: no test sleeps for real."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tweetgen.errors import ConfigError, SourceError
from tweetgen.pipelines.scheduler import Job, next_run, run_forever, simulated_clock, upcoming_runs


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when the scheduler sleeps or a job says it took time."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("cron", "after", "expected"),
    [
        ("0 6 * * *", at(1, 5, 59, 59), at(1, 6)),
        ("0 6 * * *", at(1, 6), at(2, 6)),  # strictly after
        ("0 6 * * *", at(1, 6, 0, 1), at(2, 6)),
        ("*/30 * * * *", at(1, 6, 0, 30), at(1, 6, 30)),
        ("*/30 * * * *", at(1, 23, 45), at(2, 0, 0)),
        ("15 */6 * * *", at(1, 6, 15), at(1, 12, 15)),
        ("15 */6 * * *", at(1, 19), at(2, 0, 15)),
        ("0 9 * * 1-5", at(1, 12), at(2, 9)),  # 2026-03-01 is a Sunday
        ("0 0 1 * *", at(1, 0, 0, 1), datetime(2026, 4, 1, tzinfo=UTC)),
        ("0,30 8-9 * * *", at(1, 8, 30), at(1, 9, 0)),
    ],
)
def test_next_run(cron: str, after: datetime, expected: datetime) -> None:
    assert next_run(cron, after) == expected


def test_next_run_reads_the_spec_in_utc_and_answers_in_utc() -> None:
    after = datetime(2026, 3, 1, 7, 30, tzinfo=timezone(timedelta(hours=2)))  # 05:30 UTC
    result = next_run("0 6 * * *", after)
    assert result == at(1, 6)
    assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize("cron", ["0 6 * *", "61 * * * *", "0 25 * * *", "every day", "0 0 6 * * *", ""])
def test_next_run_rejects_invalid_specs(cron: str) -> None:
    with pytest.raises(ConfigError, match="5 fields"):
        next_run(cron, at(1, 0))


def test_next_run_rejects_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_run("0 6 * * *", datetime(2026, 3, 1, 5))


def test_a_job_with_an_invalid_spec_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="nightly"):
        Job("nightly", "0 6 * * * *", lambda: None)


def test_no_jobs_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no jobs"):
        run_forever([], clock=FakeClock(at(1, 0)), sleep=FakeClock(at(1, 0)).sleep)


def test_two_jobs_run_in_order_of_their_times() -> None:
    clock = FakeClock(at(1, 5, 50))
    ran: list[tuple[str, datetime]] = []
    jobs = [
        Job("scrape", "*/30 * * * *", lambda: ran.append(("scrape", clock()))),
        Job("infer", "15 */6 * * *", lambda: ran.append(("infer", clock()))),
    ]
    runs = run_forever(jobs, clock=clock, sleep=clock.sleep, max_runs=6, log=lambda line: None)
    assert runs == 6
    assert ran == [
        ("scrape", at(1, 6, 0)),
        ("infer", at(1, 6, 15)),
        ("scrape", at(1, 6, 30)),
        ("scrape", at(1, 7, 0)),
        ("scrape", at(1, 7, 30)),
        ("scrape", at(1, 8, 0)),
    ]
    assert clock.now == at(1, 8, 0)
    assert max(clock.slept) <= 60  # sleeps in short steps


def test_jobs_due_at_the_same_time_run_in_the_order_listed() -> None:
    clock = FakeClock(at(1, 5, 59))
    ran: list[str] = []
    jobs = [Job(name, "0 6 * * *", lambda name=name: ran.append(name)) for name in ("features", "train", "infer")]
    run_forever(jobs, clock=clock, sleep=clock.sleep, max_runs=3, log=lambda line: None)
    assert ran == ["features", "train", "infer"]


def test_a_failing_job_is_logged_in_one_line_and_keeps_its_schedule() -> None:
    clock = FakeClock(at(1, 5, 59))
    lines: list[str] = []
    ok_runs: list[datetime] = []

    def fail() -> None:
        clock.advance(2.5)
        raise RuntimeError("disk\nfull")

    jobs = [Job("boom", "0 * * * *", fail), Job("fine", "30 * * * *", lambda: ok_runs.append(clock()))]
    runs = run_forever(jobs, clock=clock, sleep=clock.sleep, max_runs=4, log=lines.append)

    assert runs == 4
    assert ok_runs == [at(1, 6, 30), at(1, 7, 30)]
    failures = [line for line in lines if "failed" in line]
    assert failures == ["end boom: failed after 2.5 s: RuntimeError: disk full"] * 2
    assert "start boom (due 2026-03-01 07:00:00 UTC)" in lines  # rescheduled after the failure


def test_a_user_facing_error_is_logged_by_its_message_and_sys_exit_does_not_stop_the_schedule() -> None:
    clock = FakeClock(at(1, 5, 59))
    lines: list[str] = []
    errors = iter([SourceError("Out of X API credits (402 Payment Required)."), SystemExit(2)])

    def fail() -> None:
        raise next(errors)

    run_forever([Job("scrape", "0 * * * *", fail)], clock=clock, sleep=clock.sleep, max_runs=2, log=lines.append)
    assert "end scrape: failed after 0.0 s: Out of X API credits (402 Payment Required)." in lines
    assert "end scrape: failed after 0.0 s: exited with status 2" in lines
    assert lines[-1] == "stopped after 2 run(s)"


def test_the_log_gives_start_end_duration_and_outcome() -> None:
    clock = FakeClock(at(1, 5, 0))
    lines: list[str] = []
    job = Job("train", "0 6 * * *", lambda: clock.advance(90))
    run_forever([job], clock=clock, sleep=clock.sleep, max_runs=1, log=lines.append)
    assert lines == [
        "scheduled train (0 6 * * * UTC), first run at 2026-03-01 06:00:00 UTC",
        "start train (due 2026-03-01 06:00:00 UTC)",
        "end train: ok in 90.0 s",
        "stopped after 1 run(s)",
    ]


def test_times_missed_during_a_long_run_are_not_made_up() -> None:
    clock = FakeClock(at(1, 5, 59, 30))
    ran: list[datetime] = []

    def slow() -> None:
        ran.append(clock())
        clock.advance(150)  # runs past the next two minutes

    run_forever([Job("slow", "* * * * *", slow)], clock=clock, sleep=clock.sleep, max_runs=2, log=lambda line: None)
    assert ran == [at(1, 6, 0), at(1, 6, 3)]


def test_max_runs_stops_and_the_clock_moved_only_by_sleeping() -> None:
    clock = FakeClock(at(1, 0, 0))
    calls: list[datetime] = []
    runs = run_forever(
        [Job("scrape", "*/30 * * * *", lambda: calls.append(clock()))],
        clock=clock,
        sleep=clock.sleep,
        max_runs=3,
        log=lambda line: None,
    )
    assert runs == 3
    assert calls == [at(1, 0, 30), at(1, 1, 0), at(1, 1, 30)]
    assert sum(clock.slept) == pytest.approx(90 * 60)


def test_ctrl_c_while_waiting_stops_cleanly() -> None:
    clock = FakeClock(at(1, 5, 59))
    lines: list[str] = []
    steps = iter(range(100))

    def sleep(seconds: float) -> None:
        if next(steps) == 3:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    runs = run_forever([Job("scrape", "0 * * * *", lambda: None)], clock=clock, sleep=sleep, log=lines.append)
    assert runs == 1  # 06:00 ran; the wait for 07:00 was interrupted
    assert lines[-1] == "stopped by the user after 1 run(s)"


def test_upcoming_runs_are_the_next_cron_times_in_utc() -> None:
    after = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
    assert upcoming_runs("0 6 * * *", after, n=2) == [datetime(2026, 1, 16, 6, 0, tzinfo=UTC), datetime(2026, 1, 17, 6, 0, tzinfo=UTC)]
    in_paris = datetime(2026, 1, 15, 6, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    assert upcoming_runs("30 5 * * *", in_paris, n=1) == [datetime(2026, 1, 16, 5, 30, tzinfo=UTC)]


def test_simulated_clock_moves_only_when_slept() -> None:
    start = datetime(2026, 1, 15, 5, 0, tzinfo=UTC)
    clock, sleep = simulated_clock(start)
    assert clock() == start
    sleep(90.5)
    sleep(-5)  # a negative wait does not move the clock back
    assert clock() == start + timedelta(seconds=90.5)
    with pytest.raises(ValueError, match="timezone-aware"):
        simulated_clock(datetime(2026, 1, 15))


def test_simulated_clock_runs_a_schedule_without_waiting() -> None:
    ran: list[str] = []
    clock, sleep = simulated_clock(datetime(2026, 1, 15, 5, 0, tzinfo=UTC))
    jobs = [Job("early", "30 5 * * *", lambda: ran.append(f"early {clock():%H:%M}")),
            Job("late", "0 6 * * *", lambda: ran.append(f"late {clock():%H:%M}"))]
    assert run_forever(jobs, clock=clock, sleep=sleep, max_runs=3, log=lambda line: None) == 3
    assert ran == ["early 05:30", "late 06:00", "early 05:30"]
    assert clock().date() == datetime(2026, 1, 16).date()
