"""Job health as the app and /api/health judge it: last run per job, ages, the 26-hour warning."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from tweetgen.errors import StoreError
from tweetgen.pipelines.runs import JobRun, format_age, job_health, read_runs, run_notification
from tweetgen.store.local import LocalFeatureStore
from tweetgen.ui.predictor import MAX_PROMPT_CHARS, PromptError, check_prompt
from tweetgen.ui.views import RunsCache, health_markdown, health_panel

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def runs(*rows: tuple[str, str, float, str]) -> pd.DataFrame:
    """job_runs rows from (job, status, hours before NOW it ended, error); each ran one minute."""
    frames = []
    for i, (job, status, hours_ago, error) in enumerate(rows):
        ended = NOW - timedelta(hours=hours_ago)
        frames.append(JobRun(job, f"{job}-{i}", "scheduler", ended - timedelta(minutes=1), ended, status, {"n": i}, error).frame())
    return pd.concat(frames, ignore_index=True)


def test_the_last_run_of_each_job_is_shown_with_its_status_and_age() -> None:
    health = job_health(runs(("scrape", "ok", 30, ""), ("scrape", "failed", 6.5, "X said no | twice."),
                             ("inference", "ok", 6, "")), NOW)
    assert health.last_runs[["job", "run_id", "status"]].values.tolist() == [["inference", "inference-2", "ok"], ["scrape", "scrape-1", "failed"]]
    assert health.last_daily_success == NOW - timedelta(hours=6) and health.warning is None
    assert health_markdown(health).splitlines() == [
        "**Pipeline health**",
        "",
        "| job | last run | status | age |",
        "|---|---|---|---|",
        "| inference | 6:00 AM · Nov 22, 2026 UTC (scheduler) | ok | 6 h ago |",
        "| scrape | 5:30 AM · Nov 22, 2026 UTC (scheduler) | **failed**: X said no \\| twice. | 6 h ago |",
    ]


@pytest.mark.parametrize(("hours", "warned"), [(25.9, False), (26.0, False), (26.1, True), (80, True)])
def test_a_warning_when_the_daily_job_has_not_succeeded_for_more_than_26_hours(hours, warned) -> None:
    health = job_health(runs(("inference", "ok", hours, ""), ("inference", "failed", 1, "No model.")), NOW)
    assert (health.warning is not None) == warned
    if warned:
        assert f"last succeeded {format_age(timedelta(hours=hours))} ago, more than 26 hours" in health.warning
        assert health.warning in health_markdown(health) and health.as_dict()["status"] == "warning"


def test_no_runs_at_all_says_so(tmp_path) -> None:
    store = LocalFeatureStore(tmp_path)
    health = job_health(read_runs(store), NOW)
    assert health.last_runs.empty and health.as_dict()["jobs"] == []
    text = health_panel(RunsCache(store).frame, NOW)
    assert "No job runs recorded yet." in text and "has no successful run recorded yet" in text


def test_a_store_that_cannot_be_read_is_one_sentence_on_the_page() -> None:
    def unreachable() -> pd.DataFrame:
        raise StoreError("Hopsworks could not read feature group 'job_runs'.")

    assert health_panel(unreachable, NOW) == "**Pipeline health** · the job runs could not be read: Hopsworks could not read feature group 'job_runs'."


def test_ages_read_naturally() -> None:
    ages = [timedelta(seconds=45), timedelta(minutes=12), timedelta(hours=5, minutes=50), timedelta(hours=47), timedelta(days=3, hours=1)]
    assert [format_age(a) for a in ages] == ["45 s", "12 min", "5 h", "47 h", "3 days"]


def test_a_notification_names_job_run_error_and_time_and_never_a_secret() -> None:
    run = JobRun("scrape", "scrape-20261122T053000Z-abc123", "modal", NOW, NOW + timedelta(seconds=4), "failed",
                 error="Login failed with key sk-secret-1.")
    note = run_notification(run, ["sk-secret-1"])
    assert note.subject == "tweetgen: scrape failed at 2026-11-22 12:00:04 UTC"
    assert note.text.splitlines() == [
        "The job 'scrape' failed (modal).",
        "Run:      scrape-20261122T053000Z-abc123",
        "Started:  2026-11-22 12:00:00 UTC",
        "Ended:    2026-11-22 12:00:04 UTC (4.0 s)",
        "Error:    Login failed with key ***.",
    ]
    assert note.fields["error"] == "Login failed with key ***." and note.fields["ended_at"] == "2026-11-22T12:00:04+00:00"


def test_check_prompt_holds_the_prompt_box_limits() -> None:
    assert check_prompt("  The rocket  ") == "The rocket"
    assert check_prompt("é🚀" * (MAX_PROMPT_CHARS // 2)) == "é🚀" * (MAX_PROMPT_CHARS // 2)
    for bad, says in (("x" * (MAX_PROMPT_CHARS + 1), "101 characters"), ("a\tb", "U+0009"), ("a\x00", "U+0000"), ("\ud800", "U+D800")):
        with pytest.raises(PromptError, match=re.escape(says)):
            check_prompt(bad)
