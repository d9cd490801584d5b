"""A damaged Delta commit is found and named, with how to recover: never a silent roll-back, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.processes import run_cli
from tweetgen.errors import StoreError
from tweetgen.pipelines.features import run_feature_pipeline
from tweetgen.pipelines.live import scrape_replay
from tweetgen.schema import TWEETS
from tweetgen.store.local import LocalFeatureStore


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory whose `tweets` group has three commits after its creation: history, two scrapes."""
    data_dir = tmp_path / "data"
    store = LocalFeatureStore(data_dir / "feature_store")
    run_feature_pipeline(store)
    scrape_replay(store, count=4)
    scrape_replay(store, count=4)
    return data_dir


def log_of(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "feature_store" / "tweets_1" / "_delta_log").glob("*.json"))


def emptied(commit: Path) -> None:
    commit.write_text("")


def cut_mid_line(commit: Path) -> None:
    text = commit.read_text()
    commit.write_text(text[: len(text) // 2])


def cut_at_a_line(commit: Path) -> None:
    commit.write_text(commit.read_text().splitlines()[0])  # commitInfo alone: its add actions are gone


@pytest.mark.parametrize(("damage", "what"), [
    (emptied, "is empty"),
    (cut_mid_line, "is cut short or garbled at line"),
    (cut_at_a_line, "lists 0 'add' actions where its commitInfo records 1"),
])
def test_every_command_names_the_damaged_commit_and_writes_nothing(data_dir: Path, damage, what: str) -> None:
    last = log_of(data_dir)[-1]
    damage(last)
    commits_before = log_of(data_dir)
    for args in (["query", "SELECT count(*) FROM tweets"], ["scrape", "--count", "2"], ["features"], ["infer"]):
        result = run_cli(args, data_dir)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert f"commit {last.name} {what}" in result.stderr
        assert f"remove {last} to return the table to version {int(last.stem) - 1}" in result.stderr
    assert log_of(data_dir) == commits_before  # nothing was written on top of the damage


def test_following_the_sentence_recovers_the_rows_the_commit_held(data_dir: Path) -> None:
    store = LocalFeatureStore(data_dir / "feature_store")
    before = set(store.read(TWEETS, columns=["tweet_id"])["tweet_id"])
    last = log_of(data_dir)[-1]
    emptied(last)
    with pytest.raises(StoreError, match="is empty"):
        store.read(TWEETS)
    last.unlink()  # what the sentence says to do
    assert len(store.read(TWEETS)) == len(before) - 4  # version N-1: the last scrape's rows are missing ...
    referenced = {Path(p).name for p in store._table(TWEETS).file_uris()}
    orphans = [p for p in (data_dir / "feature_store" / "tweets_1").glob("*.parquet") if p.name not in referenced]
    assert len(orphans) == 1  # the data file the emptied commit had added
    report = scrape_replay(store, count=4)  # ... and the next scrape releases them again
    assert report.inserted == 4
    after = store.read(TWEETS, columns=["tweet_id"])["tweet_id"]
    assert set(after) == before and after.is_unique
    assert not orphans[0].exists()  # removed by that write: no commit names it


def test_a_damaged_commit_before_the_last_says_to_restore_it(data_dir: Path) -> None:
    middle = log_of(data_dir)[-2]
    emptied(middle)
    result = run_cli(["query", "SELECT count(*) FROM tweets"], data_dir)
    assert result.returncode == 1
    assert f"commit {middle.name} is empty; later commits build on it, so restore {middle} from a backup" in result.stderr
