"""What the data directory holds is never reached through a symbolic link, and a data file the
Delta log lists but the folder lacks gives one sentence with the recovery in every command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from deltalake import DeltaTable

from tests.fakes.frames import tweets_frame
from tests.reliability.processes import run_cli
from tweetgen.errors import StoreError
from tweetgen.files import LinkRefusedError, open_lock_file
from tweetgen.pipelines.features import run_feature_pipeline
from tweetgen.schema import TWEETS
from tweetgen.store.local import WRITERS_LOCK, LocalFeatureStore


def dangling(path: Path, tmp_path: Path) -> None:
    path.symlink_to(tmp_path / "nowhere")


def loop(path: Path, tmp_path: Path) -> None:
    path.symlink_to(path)


def outside(path: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    path.symlink_to(tmp_path / "elsewhere")


@pytest.mark.parametrize("link", [dangling, loop, outside])
def test_a_link_where_a_table_belongs_is_refused_naming_it(tmp_path: Path, link) -> None:
    store = LocalFeatureStore(tmp_path / "data" / "feature_store")
    store.root.mkdir(parents=True)
    table = store.path(TWEETS)
    link(table, tmp_path)
    for action in (lambda: store.insert(TWEETS, tweets_frame(range(1, 4))), lambda: store.read(TWEETS), lambda: store.exists(TWEETS)):
        with pytest.raises(LinkRefusedError, match=rf"^{table} is a symbolic link where the Delta table of 'tweets' v1 belongs"):
            action()
    assert table.is_symlink() and not (tmp_path / "elsewhere" / "_delta_log").exists()  # nothing written through it


def test_the_command_says_one_sentence_for_a_linked_table(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "feature_store").mkdir(parents=True)
    (data_dir / "feature_store" / "tweets_1").symlink_to(tmp_path / "nowhere")
    result = run_cli(["features"], data_dir)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {data_dir / 'feature_store' / 'tweets_1'} is a symbolic link where the Delta table of 'tweets' v1 belongs; "
        "links inside the data directory are not followed: remove the link (move what it points to into its place "
        "if you need it) and run again."
    ]


def test_a_lock_file_that_is_a_link_is_not_followed(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path / "data" / "feature_store")
    store.insert(TWEETS, tweets_frame(range(1, 4)))
    lock, target = store.path(TWEETS) / WRITERS_LOCK, tmp_path / "outside.lock"
    lock.unlink()
    lock.symlink_to(target)
    with pytest.raises(LinkRefusedError, match=rf"^{lock} is a symbolic link where a lock file belongs"):
        store.insert(TWEETS, tweets_frame(range(4, 6)))
    assert not target.exists()  # the premise of the bug: open(..., "a") would have created it
    assert sorted(store.read(TWEETS)["tweet_id"]) == [1, 2, 3]


def test_the_registry_lock_is_not_followed_either(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    lock = tmp_path / "models" / ".champion.lock"
    lock.symlink_to(tmp_path / "outside.lock")
    with pytest.raises(LinkRefusedError):
        open_lock_file(lock)
    assert not (tmp_path / "outside.lock").exists()
    with open_lock_file(tmp_path / "models" / "real.lock") as handle:  # an ordinary lock file opens
        assert not handle.closed


def test_a_missing_data_file_gives_one_sentence_in_every_command(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = LocalFeatureStore(data_dir / "feature_store")
    run_feature_pipeline(store)
    data_files = sorted(store.path(TWEETS).glob("*.parquet"))
    assert data_files  # the premise: the table has data files to lose
    version = DeltaTable(str(store.path(TWEETS))).version()
    data_files[0].unlink()
    with pytest.raises(StoreError, match=f"is missing its data file {data_files[0].name}"):
        store.read(TWEETS)
    for args in (["train", "--epochs", "1"], ["query", "SELECT count(*) FROM tweets"], ["features"], ["scrape", "--count", "2"]):
        result = run_cli(args, data_dir)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, (args, result.stderr)
        assert lines[0] == (
            f"error: The Delta table {store.path(TWEETS)} is missing its data file {data_files[0].name} "
            f"(version {version} lists it); "
            f"restore that file from a backup, or remove {store.path(TWEETS)} and run `python feature_engineering.py` again."
        ), (args, lines)
    assert not os.path.exists(data_files[0])
