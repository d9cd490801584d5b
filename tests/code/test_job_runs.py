"""Every job run leaves a `job_runs` row; failures (and, when asked, successes) are notified.

Through the real entry points (``tweetgen.cli.main``, the scheduler), with a real SMTP server and
a real HTTP receiver on 127.0.0.1 (``tests.fakes.receivers``), on the local store and on the
Hopsworks adapter running the real SDK against the wire twin (``tests.twin``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from tests.fakes.receivers import http_receiver, self_signed_certificate, smtp_server
from tests.twin.fixtures import hopsworks_twin_fixture  # noqa: F401 - the hopsworks_twin fixture
from tweetgen.cli import main
from tweetgen.clients.notify import Notification, send_notification
from tweetgen.config import Settings
from tweetgen.errors import StoreError, ValidationError
from tweetgen.pipelines.features import run_feature_pipeline
from tweetgen.pipelines.jobs import scheduled_jobs
from tweetgen.pipelines.runs import JobRun, StoreOnce, read_runs, run_recorded
from tweetgen.pipelines.scheduler import run_forever, simulated_clock
from tweetgen.schema import JOB_RUNS
from tweetgen.store.hopsworks import HopsworksFeatureStore
from tweetgen.store.local import LocalFeatureStore

FAKE_TOKEN = "x-bearer-token-do-not-print-0123456789"
START = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def ingest_sample_history() -> None:
    """The history a scrape's replay releases from, written without a job run of its own."""
    run_feature_pipeline(LocalFeatureStore(Settings.load().feature_store_dir), source="sample")


def local_runs() -> pd.DataFrame:
    return read_runs(LocalFeatureStore(Settings.load().feature_store_dir))


@pytest.fixture
def receivers(monkeypatch):
    """An SMTP server and a webhook receiver, with the settings that point at them."""
    with smtp_server() as mail, http_receiver() as hook:
        monkeypatch.setenv("TWEETGEN_SMTP_HOST", mail.host)
        monkeypatch.setenv("TWEETGEN_SMTP_PORT", str(mail.port))
        monkeypatch.setenv("TWEETGEN_NOTIFY_EMAIL", "ops@example.com, dev@example.com")
        monkeypatch.setenv("TWEETGEN_NOTIFY_WEBHOOK", hook.url)
        monkeypatch.setenv("X_BEARER_TOKEN", FAKE_TOKEN)
        yield mail, hook


def test_a_failing_job_leaves_a_failed_row_one_email_and_one_webhook_call(receivers, capsys) -> None:
    mail, hook = receivers
    assert main(["infer"]) == 1  # no model trained: the job fails
    err = capsys.readouterr().err
    assert "python -m tweetgen train" in err and "could not be recorded" not in err

    (row,) = local_runs().to_dict("records")
    assert row["job"] == "inference" and row["status"] == "failed" and row["runner"] == "local"
    assert "There is no champion model 'tweet_model'" in row["error"] and row["counts"] == "{}"
    assert row["run_id"].startswith("inference-") and row["ended_at"] >= row["started_at"]

    (received,) = mail.received
    assert received.recipients == ["ops@example.com", "dev@example.com"] and not received.tls
    body = received.text
    assert received.message["Subject"].startswith("tweetgen: inference failed at ")
    for needed in (row["run_id"], "There is no champion model", f"{row['started_at']:%Y-%m-%d %H:%M:%S} UTC"):
        assert needed in body

    (post,) = hook.received
    assert post.content_type == "application/json"
    assert post.body["job"] == "inference" and post.body["status"] == "failed" and post.body["run_id"] == row["run_id"]
    assert post.body["text"] == body and post.body["content"] == body and "There is no champion" in post.body["error"]
    for text in (body, json.dumps(post.body), err):
        assert FAKE_TOKEN not in text and "secret-token" not in text


def test_a_successful_run_is_recorded_with_its_counts_and_notified_only_when_asked(receivers, monkeypatch) -> None:
    mail, hook = receivers
    ingest_sample_history()
    assert main(["scrape"]) == 0
    (row,) = local_runs().to_dict("records")
    assert row["status"] == "ok" and row["error"] == ""
    assert json.loads(row["counts"]) == {"rows_read": 4, "inserted": 4, "already_present": 0, "duplicates_dropped": 0,
                                         "rows_rejected": 0, "empty_clean_text": 0, "held_out": 0}
    assert mail.received == [] and hook.received == []

    monkeypatch.setenv("TWEETGEN_NOTIFY_ON", "always")
    assert main(["scrape"]) == 0
    assert len(local_runs()) == 2
    assert "scrape succeeded" in mail.received[0].message["Subject"] and hook.received[0].body["status"] == "ok"
    assert "inserted 4" in hook.received[0].body["text"]


def test_a_failure_in_the_store_itself_is_said_on_stderr_notified_and_keeps_the_exit_status(receivers, monkeypatch, capsys) -> None:
    _, hook = receivers
    # The settings are complete, so the job starts; then its store cannot open: nothing answers there.
    for name, value in {"TWEETGEN_BACKEND": "hopsworks", "HOPSWORKS_API_KEY": "k3y", "HOPSWORKS_PROJECT": "tweets",
                        "HOPSWORKS_HOST": "127.0.0.1", "HOPSWORKS_PORT": str(_dead_port()), "HOPSWORKS_TIMEOUT": "5"}.items():
        monkeypatch.setenv(name, value)
    assert main(["scrape"]) == 1
    err = capsys.readouterr().err
    warning, error = err.strip().splitlines()
    assert warning.startswith("warning: run scrape-") and warning.endswith("(failed) could not be recorded in 'job_runs': its store failed, as the job's error says")
    assert error.startswith("error: Could not log in to Hopsworks project 'tweets' at 127.0.0.1")
    (post,) = hook.received
    assert post.body["status"] == "failed" and "Could not log in to Hopsworks" in post.body["error"]
    assert "k3y" not in err and "k3y" not in json.dumps(post.body)


def test_notifications_that_cannot_be_sent_are_logged_and_never_hide_the_result(monkeypatch, caplog, capsys) -> None:
    with http_receiver(status=500) as hook:
        monkeypatch.setenv("TWEETGEN_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("TWEETGEN_SMTP_PORT", str(_dead_port()))
        monkeypatch.setenv("TWEETGEN_NOTIFY_EMAIL", "ops@example.com")
        monkeypatch.setenv("TWEETGEN_NOTIFY_WEBHOOK", hook.url)
        with caplog.at_level(logging.WARNING, logger="tweetgen.clients.notify"):
            assert main(["infer"]) == 1
    problems = [r.getMessage() for r in caplog.records]
    assert len(problems) == 2
    assert problems[0].startswith("The email notification could not be sent (ConnectionRefusedError")
    assert problems[1] == ("The webhook notification could not be sent (the receiver answered HTTP 500 Internal Server Error); "
                           "check TWEETGEN_NOTIFY_WEBHOOK (host 127.0.0.1).")
    assert len(hook.received) == 1 and local_runs()["status"].tolist() == ["failed"]
    assert "There is no champion model" in capsys.readouterr().err


def test_starttls_with_a_self_signed_certificate_and_a_login(tmp_path, monkeypatch) -> None:
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this certificate, as a user would a private CA
    with smtp_server(tls=(cert, key), users={"tweetgen": "smtp-password-123"}) as mail:
        settings = Settings.from_mapping({
            "TWEETGEN_SMTP_HOST": mail.host, "TWEETGEN_SMTP_PORT": str(mail.port), "TWEETGEN_SMTP_USER": "tweetgen",
            "TWEETGEN_SMTP_PASSWORD": "smtp-password-123", "TWEETGEN_SMTP_FROM": "bot@example.com",
            "TWEETGEN_NOTIFY_EMAIL": "ops@example.com",
        })
        assert send_notification(settings, Notification("tweetgen: test", "hello\n")) == []
        wrong = Settings.from_mapping({**_mapping(settings), "TWEETGEN_SMTP_PASSWORD": "wrong-password-456"})
        (problem,) = send_notification(wrong, Notification("tweetgen: test", "again\n"))
    (received,) = mail.received
    assert received.tls and received.login == "tweetgen" and received.sender == "bot@example.com"
    assert received.text == "hello\n"
    assert "535" in problem and "wrong-password-456" not in problem


def test_an_untrusted_certificate_or_no_tls_never_gets_the_password(tmp_path, caplog) -> None:
    cert, key = self_signed_certificate(tmp_path)  # not trusted: SSL_CERT_FILE is not set
    mapping = {"TWEETGEN_SMTP_HOST": "127.0.0.1", "TWEETGEN_SMTP_USER": "tweetgen", "TWEETGEN_SMTP_PASSWORD": "pw-789",
               "TWEETGEN_NOTIFY_EMAIL": "ops@example.com"}
    with smtp_server(tls=(cert, key)) as tls_mail, smtp_server() as plain_mail:
        (untrusted,) = send_notification(Settings.from_mapping({**mapping, "TWEETGEN_SMTP_PORT": str(tls_mail.port)}), Notification("s", "t"))
        (plain,) = send_notification(Settings.from_mapping({**mapping, "TWEETGEN_SMTP_PORT": str(plain_mail.port)}), Notification("s", "t"))
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted
    assert "offers no STARTTLS, and the password is never sent unencrypted" in plain
    assert tls_mail.received == [] and plain_mail.received == []
    assert all("pw-789" not in record.getMessage() for record in caplog.records)


def test_the_scheduler_records_its_runs_as_the_scheduler() -> None:
    clock, sleep = simulated_clock(START - timedelta(hours=1))
    ingest_sample_history()
    run_forever(scheduled_jobs(Settings.load()), clock=clock, sleep=sleep, max_runs=3, log=lambda line: None)
    runs = local_runs().sort_values("started_at")
    assert runs[["job", "status", "runner"]].values.tolist() == [
        ["scrape", "ok", "scheduler"], ["retrain", "failed", "scheduler"], ["inference", "failed", "scheduler"],
    ]


@pytest.mark.parametrize("backend", ["local", "hopsworks"])
def test_runs_are_recorded_through_the_store_port_on_both_backends(backend, tmp_path, request) -> None:
    twin = None
    if backend == "local":
        settings, store = Settings.load(), LocalFeatureStore(tmp_path / "store")
    else:
        twin = request.getfixturevalue("hopsworks_twin")  # sets HOPSWORKS_* to reach it
        settings = Settings.load(dotenv=None).with_overrides(backend="hopsworks")
        store = HopsworksFeatureStore.from_settings(settings)
    times = iter([START, START + timedelta(seconds=3), START + timedelta(minutes=1), START + timedelta(minutes=1, seconds=2)])
    opener = StoreOnce(lambda: store)
    assert run_recorded("scrape", "modal", settings, opener, lambda s: "report", clock=lambda: next(times)) == "report"
    with pytest.raises(StoreError, match="broke"):
        run_recorded("inference", "modal", settings, opener, _raise(StoreError("The store broke.")), clock=lambda: next(times))
    if twin is not None:  # on Hopsworks job_runs is materialized on its schedule (tweetgen.clients.write_plan)
        twin.backend.jobs.fire("job_runs_1_offline_fg_materialization")
    runs = read_runs(store).sort_values("started_at").reset_index(drop=True)
    assert runs[["job", "status", "runner", "duration_s", "error"]].values.tolist() == [
        ["scrape", "ok", "modal", 3.0, ""], ["inference", "failed", "modal", 2.0, "The store broke."],
    ]
    assert runs["started_at"].tolist() == [pd.Timestamp(START), pd.Timestamp(START + timedelta(minutes=1))]


def test_the_contract_refuses_rows_that_would_mislead(tmp_path) -> None:
    store = LocalFeatureStore(tmp_path)
    good = JobRun("scrape", "scrape-1", "local", START, START + timedelta(seconds=1), "ok", {"inserted": 4}).frame()
    bad_rows = {
        "counts": good.assign(counts='{"inserted": "four"}'),
        "status": good.assign(status="maybe"),
        "runner": good.assign(runner="laptop"),
        "error sentence": good.assign(status="failed"),
        "before 'started_at'": good.assign(ended_at=good["started_at"] - pd.Timedelta(seconds=1)),
    }
    for problem, frame in bad_rows.items():
        with pytest.raises(ValidationError, match=problem):
            store.insert(JOB_RUNS, frame)
    assert not store.exists(JOB_RUNS)
    assert store.insert(JOB_RUNS, good).inserted == 1


@pytest.mark.parametrize("count", [0, -1, 2**63 - 1])
def test_a_negative_count_is_refused_in_one_sentence_and_the_run_is_not_recorded(count, tmp_path, capsys) -> None:
    class Report:
        def counts(self) -> dict[str, int]:
            return {"inserted": count, "held_out": 3}

    store, report = LocalFeatureStore(tmp_path), Report()
    assert run_recorded("scrape", "local", Settings.load(), StoreOnce(lambda: store), lambda s: report) is report  # the job's result
    err = capsys.readouterr().err
    if count >= 0:
        assert err == "" and json.loads(read_runs(store)["counts"].item()) == {"inserted": count, "held_out": 3}
    else:
        (warning,) = err.splitlines()
        assert warning.startswith("warning: run scrape-") and warning.endswith(
            "(ok) could not be recorded in 'job_runs': feature group 'job_runs' v1: 'counts' in row 0 holds a negative count "
            '("inserted": -1); a count is 0 or more.')
        assert not store.exists(JOB_RUNS)


def _raise(error: Exception):
    def work(store):
        raise error

    return work


def _dead_port() -> int:
    from tweetgen.ui.browser import free_port

    return free_port()


def _mapping(settings: Settings) -> dict[str, str]:
    return {
        "TWEETGEN_SMTP_HOST": settings.smtp_host or "", "TWEETGEN_SMTP_PORT": str(settings.smtp_port),
        "TWEETGEN_SMTP_USER": settings.smtp_user or "", "TWEETGEN_NOTIFY_EMAIL": ",".join(settings.notify_email),
    }
