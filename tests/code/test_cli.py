"""The command line: monitor questions, usage errors and user errors as one line, never a traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO
from tests.fakes.monitor_rows import monitor_frame
from tests.twin.fixtures import hopsworks_twin_fixture  # noqa: F401 - the hopsworks_twin fixture
from tweetgen.cli import main
from tweetgen.config import Settings
from tweetgen.schema import GENERATED_TWEETS
from tweetgen.store.hopsworks import HopsworksFeatureStore
from tweetgen.store.local import LocalFeatureStore
from tweetgen.store.port import FeatureStore
from tweetgen.store.query import ARMS_SQL, LAST_RUNS_SQL, run_query


@pytest.fixture
def monitored() -> Path:
    settings = Settings.load()
    LocalFeatureStore(settings.feature_store_dir).insert(GENERATED_TWEETS, monitor_frame(n_runs=4, arms=("champion", "challenger")))
    return settings.data_dir


def test_last_runs_counts_runs_and_keeps_each_runs_arms_together(monitored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--last", "3", "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    runs = [row["generated_at"] for row in rows]
    assert len(rows) == 6 and len(set(runs)) == 3  # 3 runs of the 4, each with its champion and challenger
    assert runs == sorted(runs, reverse=True)
    assert [row["arm"] for row in rows] == ["champion", "challenger"] * 3
    assert main(["query", "--last", "1", "--format", "json"]) == 0
    newest = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert newest == rows[:2]
    assert main(["query", "--last", "100", "--format", "csv"]) == 0  # more than there are: all 4 runs
    assert len(capsys.readouterr().out.splitlines()) == 1 + 8


def test_drift_gives_each_day_and_family_its_measures_and_change(monitored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--drift", "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(row["day"][:10], row["family"]) for row in rows] == [
        (day, family) for day in ("2026-01-10", "2026-01-11", "2026-01-12", "2026-01-13") for family in ("gpt2", "lstm")
    ]
    lstm = [row for row in rows if row["family"] == "lstm"]
    assert [row["real_bpc"] for row in lstm] == [3.0, 2.9, 2.8, 2.7]  # monitor_frame: 3.0 - 0.1 per run
    assert lstm[0]["real_bpc_change"] is None and [row["real_bpc_change"] for row in lstm[1:]] == [-0.1] * 3
    assert [row["prompted_copy_words"] for row in lstm] == [0.0, 1.0, 2.0, 3.0] and {row["runs"] for row in rows} == {1}
    assert {"real_chars", "prompted_chars", "random_chars", "real_sentiment", "prompted_sentiment", "random_sentiment"} <= set(rows[0])


def test_drift_days_are_utc_days_whatever_the_machines_zone(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: 06:00 UTC is the next day there
    frame = monitor_frame(n_runs=2)
    frame["generated_at"] = frame["generated_at"] + pd.Timedelta(hours=17)  # 23:00 UTC
    LocalFeatureStore(Settings.load().feature_store_dir).insert(GENERATED_TWEETS, frame)
    assert main(["query", "--drift", "--format", "csv"]) == 0
    assert [line.split(",")[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["2026-01-10", "2026-01-11"]


def test_an_unknown_table_is_named_with_the_tables_there_are(monitored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "SELECT * FROM generated_tweet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Table with name generated_tweet does not exist; the tables are tweets (or tweets_v1), ")
    assert "generated_tweets (or generated_tweets_v2), job_runs (or job_runs_v1)" in err and len(err.splitlines()) == 1
    assert main(["query", "SELECT nope FROM generated_tweets"]) == 1  # another mistake keeps DuckDB's sentence
    assert 'Referenced column "nope" not found' in capsys.readouterr().err


def test_arm_summary(monitored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--arms", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("family,arm,model_version,runs,first_run,last_run,real_bpc")
    # the A/B test: one row per family (the LSTM champion, the GPT-2 challenger), by first run, then family
    assert [line.split(",")[:4] for line in lines[1:]] == [["gpt2", "challenger", "4", "4"], ["lstm", "champion", "3", "4"]]


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
@pytest.mark.parametrize("store_kind", ["local", "hopsworks"])
def test_monitor_questions_are_the_same_on_both_backends(store_kind: str, request: pytest.FixtureRequest) -> None:
    store: FeatureStore
    if store_kind == "local":
        store = LocalFeatureStore(Settings.load().feature_store_dir)
    else:
        request.getfixturevalue("hopsworks_twin")  # sets HOPSWORKS_* to reach it
        store = HopsworksFeatureStore.from_settings(Settings.load(dotenv=None))
    store.insert(GENERATED_TWEETS, monitor_frame(n_runs=5))
    assert len(run_query(store, LAST_RUNS_SQL.format(n=2))) == 2
    summary = run_query(store, ARMS_SQL)
    assert summary[["arm", "runs"]].values.tolist() == [["champion", 5]]


@pytest.mark.parametrize("args", [["query"], ["query", "SELECT 1", "--arms"], ["features", "--bogus"], ["nope"]])
def test_usage_errors_exit_2_without_a_traceback(args: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "tweetgen", *args], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Usage:" in result.stderr and "Traceback" not in result.stderr


def test_a_user_error_is_one_line_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "SELECT * FROM generated_tweets"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: The feature group 'generated_tweets' (version 2) does not exist yet")
    assert "python batch_inference.py" in err and len(err.strip().splitlines()) == 1


def test_the_cli_and_the_data_pipelines_import_without_torch() -> None:
    """Scripts that never touch a model start fast: importing them must not pull in torch."""
    code = (
        "import sys, tweetgen.cli, tweetgen.pipelines.jobs, tweetgen.store.factory, tweetgen.registry.factory, tweetgen.pipelines.features, tweetgen.pipelines.live; "
        "print(sorted(m for m in ('torch', 'transformers', 'gradio', 'modal', 'hopsworks') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_demo_says_which_fonts_the_tweet_images_lack_and_how_to_install_them(monkeypatch, capsys) -> None:
    import dataclasses

    from tweetgen.pipelines import demo
    from tweetgen.ui import render

    files = dataclasses.replace(render.find_fonts(), emoji=("NotoColorEmoji.ttf", 0), fallbacks=(("NotoSansCJK-Regular.ttc", 0),))
    monkeypatch.setattr(demo, "run_demo", lambda settings, train_seconds, echo: demo.DemoReport())  # the pipelines are not the point
    cases = [
        (dataclasses.replace(files, emoji=None, fallbacks=()), "Warning: this machine has no colour emoji font (fonts-noto-color-emoji) and "
         "no CJK font (fonts-noto-cjk), so tweet images draw emoji and Chinese, Japanese and Korean characters as grey dots; install "
         "them with `bash scripts/install_system_packages.sh fonts-noto-color-emoji fonts-noto-cjk` (as `make demo` does).\n"),
        (dataclasses.replace(files, fallbacks=()), "Warning: this machine has no CJK font (fonts-noto-cjk), so tweet images draw Chinese, "
         "Japanese and Korean characters as grey dots; install it with `bash scripts/install_system_packages.sh fonts-noto-cjk` (as `make demo` does).\n"),
        (dataclasses.replace(files, emoji=None), "Warning: this machine has no colour emoji font (fonts-noto-color-emoji), so tweet images "
         "draw emoji as grey dots; install it with `bash scripts/install_system_packages.sh fonts-noto-color-emoji` (as `make demo` does).\n"),
        (files, ""),
    ]
    for fonts, warning in cases:
        monkeypatch.setattr(render, "find_fonts", lambda fonts=fonts: fonts)
        assert main(["demo", "--no-serve"]) == 0
        captured = capsys.readouterr()
        assert captured.err == warning and "Demo pipeline done" in captured.out
    script = (REPO / "scripts" / "install_system_packages.sh").read_text()
    assert "KNOWN=(chromium fonts-noto-color-emoji fonts-noto-cjk)" in script  # the command named installs those packages
