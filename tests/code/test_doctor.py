"""``python -m tweetgen doctor``: against the Hopsworks twin (all well, no Query Service, a group
left by an older tweetgen), against a closed port, with settings missing, and its X and Modal
checks (recorded X answers; the real Modal CLI without a token; a stand-in CLI for the rest)."""

from __future__ import annotations

import re
import socket
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fakes.x_cassettes import replay
from tests.twin.fixtures import (  # noqa: F401 - the hopsworks_twin* and twin_project fixtures
    hopsworks_twin_fixture,
    hopsworks_twin_without_query_service_fixture,
    twin_project_fixture,
)
from tests.twin.server import HopsworksTwin
from tweetgen.cli import main
from tweetgen.config import Settings
from tweetgen.errors import ConfigError
from tweetgen.pipelines.doctor import FAIL, MODAL_SECRETS, OK, SKIP, DoctorReport, check_job_timing, run_doctor

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

HOPSWORKS = ["Hopsworks login", "feature groups", "scratch group write", "scratch group read", "scratch group delete", "model registry", "dataset API"]


def doctor(**flags: object) -> tuple[DoctorReport, list[str]]:
    lines: list[str] = []
    report = run_doctor(Settings.load(dotenv=None), echo=lines.append, **flags)  # type: ignore[arg-type]
    return report, lines


def statuses(report: DoctorReport) -> dict[str, str]:
    return {r.name: r.status for r in report.results}


def detail(report: DoctorReport, name: str) -> str:
    return next(r.detail for r in report.results if r.name == name)


def test_a_working_project_passes_every_check_and_leaves_nothing_behind(hopsworks_twin: HopsworksTwin, capsys) -> None:
    assert main(["doctor"]) == 0

    out = capsys.readouterr().out
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == [OK] * 7 + [SKIP] + [OK] * 10 + [SKIP, SKIP]
    assert lines[-1] == "All 20 checks passed or were skipped as shown: ready to deploy."
    assert re.search(r"^ok +local store: .*: a writable folder; feature groups: none written yet$", out, re.M)
    assert "Kafka: broker kafka.twin.invalid:9092 answered within 6 s" in out
    assert re.search(r"job timing( \(\d+\.\d s\))?: a write with its materialization job took \d+ s; HOPSWORKS_JOB_TIMEOUT 240 s", out)
    assert ("write plan: scrape tweets (awaited) + x_cursor (awaited) + job_runs (scheduled), timeout 2016 s; inference "
            "generated_tweets (awaited) + job_runs (scheduled), timeout 1800 s;") in out and "4 Spark jobs a day" in out
    assert "HOPSWORKS_API_KEY: set (not shown)" in out and hopsworks_twin.api_key not in out
    assert "feature groups" in out and "tweets v1 not written yet; generated_tweets v2 not written yet" in out
    assert re.search(r"scratch group write( \(\d+\.\d s\))?: 3 rows into tweetgen_doctor_[0-9a-f]{8}, through Kafka", out)
    assert "3 rows read back through the Query Service, as written" in out
    assert "no versions of 'tweet_model' yet" in out
    assert re.search(r"wrote, read back and removed Resources/tweetgen_doctor_[0-9a-f]{8}\.json", out)
    backend = hopsworks_twin.backend
    assert backend.feature_store.groups == {} and backend.jobs.jobs == {}  # the scratch group and its job are gone
    assert not [p for p in backend.files.files if p.startswith("Resources/")]
    assert any(line.startswith("POST project/119/featurestores/67/featuregroups") for line in hopsworks_twin.http.log)


def test_without_the_query_service_the_read_fails_with_what_to_do(hopsworks_twin_without_query_service: HopsworksTwin) -> None:
    with pytest.warns(UserWarning, match="Query Service"):
        report, _ = doctor()

    assert [r.name for r in report.failed] == ["scratch group read"]
    assert "reads need the Hopsworks Query Service (Arrow Flight), which this cluster does not offer" in detail(
        report, "scratch group read"
    )
    assert statuses(report)["scratch group write"] == OK and statuses(report)["scratch group delete"] == OK
    assert hopsworks_twin_without_query_service.backend.feature_store.groups == {}


def test_a_group_left_by_an_older_tweetgen_is_named(twin_project, hopsworks_twin: HopsworksTwin) -> None:
    from tests.fakes.frames import tweets_frame

    plain = twin_project.get_feature_store().get_or_create_feature_group(
        name="tweets", version=1, primary_key=["tweet_id"], event_time="created_at"
    )
    with pytest.raises(Exception, match="datanode load balancer"):
        plain.insert(tweets_frame([1]))  # what the old adapter's first write did

    report, _ = doctor()

    assert [r.name for r in report.failed] == ["feature groups"]
    assert "The feature group 'tweets' v1 in Hopsworks project 'twin_project' is not a stream group" in detail(
        report, "feature groups"
    )


def test_offline_the_login_fails_at_once_and_the_rest_is_skipped(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HOPSWORKS_HOST", "127.0.0.1")
    monkeypatch.setenv("HOPSWORKS_PORT", str(port))
    monkeypatch.setenv("HOPSWORKS_PROJECT", "my_project")
    monkeypatch.setenv("HOPSWORKS_API_KEY", "secret-key-0123456789")
    monkeypatch.setenv("HOPSWORKS_TIMEOUT", "20")

    started = time.monotonic()
    assert main(["doctor"]) == 1
    elapsed = time.monotonic() - started

    assert elapsed < 20  # refused at once, not waited out
    out = capsys.readouterr().out
    assert (
        "FAIL  Hopsworks login" in out
        and "Could not log in to Hopsworks project 'my_project' at 127.0.0.1: the host could not be reached: nothing "
        "answers on that port (connection refused); check your network connection and HOPSWORKS_HOST" in out
    )
    assert all(f"skip  {name}: needs a Hopsworks login" in out for name in HOPSWORKS[1:])
    assert out.splitlines()[-1] == "1 of 20 checks failed: fix them and run `python -m tweetgen doctor` again."
    assert "secret-key-0123456789" not in out


def test_a_route_that_never_answers_fails_within_hopsworks_timeout(hopsworks_twin: HopsworksTwin, monkeypatch) -> None:
    monkeypatch.setenv("HOPSWORKS_TIMEOUT", "0.5")
    hopsworks_twin.http.stall("GET", r"^variables/versions$", seconds=30.0)
    started = time.monotonic()
    report, _ = doctor()
    assert time.monotonic() - started < 10.0  # given up after the 0.5 s bound, long before the 30 s stall ends
    assert [r.name for r in report.failed] == ["Hopsworks login"]
    assert "did not finish within 0.5 s" in detail(report, "Hopsworks login")


def test_missing_settings_are_named_and_secrets_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "x-token-secret-value")
    monkeypatch.setenv("TWEETGEN_MODEL_NAME", "tweet-gpt2")
    report, lines = doctor()

    found = statuses(report)
    assert (found["HOPSWORKS_API_KEY"], found["HOPSWORKS_PROJECT"], found["TWEETGEN_MODEL_NAME"]) == (FAIL, FAIL, FAIL)
    assert found["X_BEARER_TOKEN"] == OK and detail(report, "X_BEARER_TOKEN") == "set (not shown)"
    assert all(found[name] == SKIP for name in HOPSWORKS)
    assert "Account settings > API keys" in detail(report, "HOPSWORKS_API_KEY")
    assert not any("x-token-secret-value" in line for line in lines)


def test_the_x_check_makes_one_user_lookup_and_says_what_it_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "x-token-secret-value")
    monkeypatch.setenv("TWEETGEN_USERNAME", "tweetgen_test")
    with replay("user_lookup") as cassette:
        report, lines = doctor(check_x=True)
    assert cassette.play_count == 1
    assert detail(report, "X API") == "token accepted, @tweetgen_test is user id 1601234567890123456 (one paid user lookup, about $0.010 was spent)"
    assert not any("x-token-secret-value" in line for line in lines)

    monkeypatch.setenv("TWEETGEN_USERNAME", "no_such_account")
    with replay("user_lookup"):
        report, _ = doctor(check_x=True)
    assert detail(report, "X API").startswith("X has no account named @no_such_account; check TWEETGEN_USERNAME")

    monkeypatch.setenv("TWEETGEN_USERNAME", "tweetgen_test")
    with replay("user_lookup_unauthorized"):
        report, _ = doctor(check_x=True)
    assert detail(report, "X API") == (
        "the bearer token was rejected (401): check X_BEARER_TOKEN, or regenerate it in the X developer console."
    )


def test_the_x_check_without_a_token_fails_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    with replay("user_lookup") as cassette:
        report, _ = doctor(check_x=True)
    assert cassette.play_count == 0 and statuses(report)["X_BEARER_TOKEN"] == FAIL
    assert detail(report, "X API").startswith("X_BEARER_TOKEN is not set")


def test_the_modal_check_without_a_token_says_run_modal_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "modal.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(tmp_path / "modal.toml"))  # no token from the user's own config
    report, _ = doctor(check_modal=True)  # the real Modal CLI
    assert detail(report, "Modal").startswith("Modal has no valid token on this machine: run `modal setup`")


@pytest.mark.parametrize(
    ("listed", "expected"),
    [
        (["hopsworks", "x-api", "other"], (OK, "token works; secrets hopsworks, x-api exist")),
        (["hopsworks"], (FAIL, "Modal secrets x-api are missing: create them (modal secret create x-api X_BEARER_TOKEN=...)")),
    ],
)
def test_the_modal_check_reads_the_secret_list(tmp_path: Path, listed: list[str], expected: tuple[str, str]) -> None:
    # Stands in for `modal secret list --json`, printing rows as modal/cli/utils.py display_table does.
    cli = tmp_path / "modal_cli.py"
    rows = [{"name": n, "created_at": "2026-01-01 00:00", "created_by": "me", "last_used_at": "-"} for n in listed]
    cli.write_text(f"import json, sys\nassert sys.argv[1:] == ['secret', 'list', '--json']\nprint(json.dumps({rows!r}))\n")
    report, _ = doctor(check_modal=True, modal_command=(sys.executable, str(cli)))
    result = next(r for r in report.results if r.name == "Modal")
    assert result.status == expected[0] and result.detail.startswith(expected[1])


def test_the_modal_secrets_are_the_ones_modal_app_mounts() -> None:
    source = (REPO / "modal_app.py").read_text(encoding="utf-8")
    assert set(re.findall(r'Secret\.from_name\(\s*"([^"]+)"', source)) == set(MODAL_SECRETS)


def test_the_help_says_the_x_check_costs_money() -> None:
    import subprocess

    result = subprocess.run([sys.executable, "-m", "tweetgen", "doctor", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    words = " ".join(re.sub("[│╭╮╰╯─]", " ", result.stdout).split())  # the help as one line, its box and wrapping undone
    assert result.returncode == 0 and "one paid user lookup (about $0.010)" in words


def test_backend_and_data_dir_flags_choose_what_doctor_checks(tmp_path: Path, capsys) -> None:
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file where the data directory should be")
    assert main(["doctor", "--backend", "local", "--data-dir", str(not_a_folder)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL  local store: The data directory {not_a_folder} (--data-dir or TWEETGEN_DATA_DIR) is a file" in out

    assert main(["doctor", "--data-dir", str(tmp_path / "fresh")]) == 1  # no Hopsworks key: the login is not ready
    out = capsys.readouterr().out
    assert f"ok    local store: {tmp_path / 'fresh'}: a writable folder; feature groups: none written yet" in out

    assert main(["doctor", "--backend", "hopsworks"]) == 1
    out = capsys.readouterr().out
    assert "ok    TWEETGEN_BACKEND: hopsworks" in out and "local store" not in out


def test_kafka_that_cannot_be_reached_fails_its_own_line_and_the_scratch_group_is_not_tried(
    hopsworks_twin: HopsworksTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOPSWORKS_TIMEOUT", "1")
    hopsworks_twin.backend.broker.refuse()
    report, _ = doctor()
    assert [r.name for r in report.failed] == ["Kafka"]
    assert detail(report, "Kafka").startswith(
        "Hopsworks could not list the topics of its Kafka broker at 127.0.0.1:"
    ) and "could not be reached within 1 s (KafkaError _TRANSPORT" in detail(report, "Kafka")
    assert {r.name: r.status for r in report.results}["scratch group write"] == SKIP
    assert hopsworks_twin.backend.feature_store.groups == {}  # nothing was created


@pytest.mark.parametrize(("write_s", "passes"), [(160.0, True), (161.0, False)])
def test_the_job_timeout_must_leave_half_again_the_measured_materialization(write_s: float, passes: bool) -> None:
    settings = Settings.load(dotenv=None)  # HOPSWORKS_JOB_TIMEOUT 240 s: 1.5 x 160 s
    if passes:
        assert check_job_timing(write_s, settings).startswith("a write with its materialization job took 160 s")
    else:
        with pytest.raises(ConfigError, match=r"took 161 s, and HOPSWORKS_JOB_TIMEOUT is 240 s: set it to at least 242 s"):
            check_job_timing(write_s, settings)
