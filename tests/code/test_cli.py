"""The command line: monitor questions, usage errors and user errors as one line, never a traceback."""

import json
import subprocess
import sys
from pathlib import Path

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


def test_last_runs_as_json(monitored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--last", "3", "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3
    assert rows[0]["generated_at"] >= rows[1]["generated_at"] >= rows[2]["generated_at"]
    assert {row["arm"] for row in rows} <= {"champion", "challenger"}


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
