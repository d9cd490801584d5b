"""The feature pipeline end to end through its real entry points, on the local backend."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tweetgen.errors import SourceError
from tweetgen.pipelines.features import run_feature_pipeline
from tweetgen.schema import JOB_RUNS, TWEETS
from tweetgen.sources.replay import REPLAY_HOLDOUT
from tweetgen.sources.sample import SAMPLE_TWEETS
from tweetgen.store.local import LocalFeatureStore

HISTORY = SAMPLE_TWEETS - REPLAY_HOLDOUT


def run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def test_script_builds_the_group_then_adds_nothing() -> None:
    first = run_script("feature_engineering.py")
    assert first.returncode == 0, first.stderr
    assert re.search(rf"rows read\s+{SAMPLE_TWEETS:,}\n", first.stdout)
    assert re.search(rf"held out\s+{REPLAY_HOLDOUT}  \(the newest, into held_out_tweets", first.stdout)
    assert re.search(rf"rows inserted\s+{HISTORY:,}\n", first.stdout)
    second = run_script("feature_engineering.py")
    assert second.returncode == 0, second.stderr
    assert re.search(r"rows inserted\s+0\n", second.stdout)
    assert re.search(rf"already present\s+{HISTORY:,}\n", second.stdout)
    assert "Nothing new" in second.stdout
    query = run_script("-m", "tweetgen", "query", "SELECT count(*) AS n FROM tweets", "--format", "csv")
    assert query.stdout.splitlines() == ["n", str(HISTORY)]


def test_hopsworks_without_a_key_fails_at_once_naming_the_variable() -> None:
    started = time.monotonic()
    result = run_script("feature_engineering.py", env={"TWEETGEN_BACKEND": "hopsworks"})
    assert result.returncode == 1
    assert "HOPSWORKS_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    # Caught by the checks before any job starts: one sentence, and no run to record.
    (error,) = result.stderr.strip().splitlines()
    assert error.startswith("error: HOPSWORKS_API_KEY is not set")
    assert time.monotonic() - started < 60


def test_missing_kaggle_path_is_one_sentence_and_writes_nothing(tmp_path: Path) -> None:
    result = run_script("feature_engineering.py", "--source", "kaggle", "--path", str(tmp_path / "nowhere"),
                        "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "nowhere" in result.stderr
    store = LocalFeatureStore(tmp_path / "data" / "feature_store")
    assert not store.exists(TWEETS)  # nothing written but the record of the failed run
    assert store.read(JOB_RUNS)[["job", "status"]].values.tolist() == [["features", "failed"]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"id,tweet\n1,hello\n", "column"),
        (b"\xff\xfe\x00bad bytes", "UTF-8"),
    ],
)
def test_bad_kaggle_files_write_nothing(tmp_path: Path, content: bytes, message: str) -> None:
    csv = tmp_path / "2021.csv"
    csv.write_bytes(content)
    store = LocalFeatureStore(tmp_path / "store")
    with pytest.raises(SourceError, match=message) as caught:
        run_feature_pipeline(store, source="kaggle", paths=[csv])
    assert "2021.csv" in str(caught.value)
    assert not store.exists(TWEETS)


def test_sample_history_in_process_reports_every_row(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path)
    report = run_feature_pipeline(store, source="sample")
    assert report.rows_read == SAMPLE_TWEETS and report.held_out == REPLAY_HOLDOUT and report.inserted == HISTORY
    parts = (report.inserted, report.already_present, report.duplicates_dropped, report.rows_rejected, report.held_out)
    assert sum(parts) == report.rows_read
    assert report.empty_clean_text == (store.read(TWEETS)["clean_text"] == "").sum()
    assert 0 < report.empty_clean_text < HISTORY * 0.1
