"""Concurrent writers leave no duplicates, and a run never removes what a concurrent run is still writing."""

from __future__ import annotations

import subprocess
import threading
from datetime import timedelta
from pathlib import Path

from tests.data.test_kaggle import NEW_HEADER, T0, Tweet, new_row, write_csv
from tests.fakes.frames import tweets_frame
from tests.fakes.saved_models import saved_fixture  # noqa: F401 - the saved fixture
from tests.reliability.processes import (
    PYTHON,
    cli_env,
    in_threads_together,
    spans_overlap,
    start_cli,
    start_cli_together,
)
from tweetgen.files import remove_abandoned, scratch_folder, shared_lock
from tweetgen.pipelines.runs import read_runs
from tweetgen.registry.local import INCOMING_PREFIX, LocalModelRegistry
from tweetgen.schema import HELD_OUT_TWEETS, TWEETS
from tweetgen.store.local import WRITERS_LOCK, LocalFeatureStore


def overlapping_files(folder: Path, n_files: int = 3, per_file: int = 400, step: int = 200) -> tuple[list[Path], int]:
    """Kaggle files whose tweets overlap (file i holds tweets i*step .. i*step + per_file); the distinct count."""
    paths = []
    for i in range(n_files):
        tweets = [Tweet(T0 + timedelta(minutes=n), text=f"Tweet {n}") for n in range(i * step, i * step + per_file)]
        paths.append(write_csv(folder / f"{2019 + i}.csv", NEW_HEADER, [new_row(t) for t in tweets]))
    return paths, (n_files - 1) * step + per_file


def run_spans(store: LocalFeatureStore, job: str, runs: int) -> list[tuple]:
    """The recorded (start, end) of each of the ``runs`` runs of ``job`` (``job_runs``)."""
    spans = [tuple(span) for span in read_runs(store).query("job == @job")[["started_at", "ended_at"]].itertuples(index=False)]
    assert len(spans) == runs, spans
    return spans


def test_concurrent_ingests_of_overlapping_files_store_each_tweet_once(tmp_path: Path) -> None:
    paths, distinct = overlapping_files(tmp_path)
    runs = [["features", "--source", "kaggle", "--path", str(p)] for p in [*paths, paths[1]]]
    for attempt in range(3):  # retry, in a new data directory, until the four runs really overlapped
        data_dir = tmp_path / f"data-{attempt}"
        processes = start_cli_together(runs, data_dir)
        assert [p.wait(timeout=120) for p in processes] == [0] * len(processes)
        store = LocalFeatureStore(data_dir / "feature_store")
        spans = run_spans(store, "features", len(processes))
        ids, held = store.read(TWEETS)["tweet_id"], store.read(HELD_OUT_TWEETS)["tweet_id"]
        # Each run held back the newest tenth of what it read; a tweet one run held back another may have
        # written as history (the replay then skips it). Each group holds a tweet once, and none is lost.
        assert ids.is_unique and held.is_unique and len(set(ids) | set(held)) == distinct
        if spans_overlap(spans):
            break
    assert spans_overlap(spans), f"the features runs did not overlap in any attempt: {spans}"


def test_concurrent_scrapes_release_each_tweet_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert start_cli(["features"], data_dir).wait(timeout=120) == 0  # the history, and the tweets it held back
    store = LocalFeatureStore(data_dir / "feature_store")
    history = len(store.read(TWEETS))
    for attempt in range(1, 4):  # a scrape of 5 tweets takes a tenth of a second: retry until the three overlapped
        processes = start_cli_together([["scrape", "--count", "5"]] * 3, data_dir)
        assert [p.wait(timeout=120) for p in processes] == [0, 0, 0]
        spans = sorted(run_spans(store, "scrape", 3 * attempt))[-3:]  # this attempt's: they started after the last ones ended
        ids = store.read(TWEETS)["tweet_id"]
        assert ids.is_unique and 5 <= len(ids) - history <= 15  # runs that read the same held ids release them once
        history = len(ids)
        if spans_overlap(spans):
            break
    assert spans_overlap(spans), f"the scrape runs did not overlap in any attempt: {spans}"


def test_concurrent_registrations_get_distinct_versions_and_leave_no_scratch(tmp_path: Path, saved) -> None:
    for attempt in range(3):  # a registration takes milliseconds: retry until the four really overlapped
        folder = tmp_path / f"models-{attempt}"
        registry = LocalModelRegistry(folder)
        results, spans = in_threads_together([
            lambda bits=2.0 + i / 10, registry=registry: registry.register(saved[0], "m", {"eval_bits_per_char": bits},
                                                                          {"eval_set_id": "sha256:x"})
            for i in range(4)
        ])
        assert sorted(v.version for v in results) == [1, 2, 3, 4]
        assert [v.version for v in registry.versions("m")] == [1, 2, 3, 4]
        assert list((folder / "m").glob(f"{INCOMING_PREFIX}*")) == []
        if spans_overlap(spans):
            break
    assert spans_overlap(spans), f"the registrations ran one after another in every attempt: {spans}"


def test_a_scratch_folder_in_use_is_never_removed(tmp_path: Path) -> None:
    with scratch_folder(tmp_path, ".incoming-") as working:
        (working / "model.safetensors").write_bytes(b"half written")
        sweep = f"from pathlib import Path; from tweetgen.files import remove_abandoned; print(remove_abandoned(Path({str(tmp_path)!r}), '.incoming-'))"
        sweeper = subprocess.run([PYTHON, "-c", sweep], capture_output=True, text=True, timeout=60, env=cli_env(tmp_path))  # another process
        assert sweeper.stdout.strip() == "[]" and (working / "model.safetensors").is_file()
    assert list(tmp_path.iterdir()) == []  # gone once its writer is done
    abandoned = tmp_path / ".incoming-dead"
    abandoned.mkdir()
    (tmp_path / ".incoming-dead.lock").touch()  # its writer died: nobody holds the lock
    assert remove_abandoned(tmp_path, ".incoming-") == [abandoned] and list(tmp_path.iterdir()) == []


def test_files_of_a_write_in_flight_survive_another_writer(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path)
    store.insert(TWEETS, tweets_frame(range(3)))
    table = store.path(TWEETS)
    in_flight = table / "part-00000-in-flight-c000.snappy.parquet"  # written, not yet committed
    being_written = table / "part-00001-in-flight-c000.snappy.parquet#1"  # Delta Lake renames it when whole
    not_data = table / "notes.parquet.txt"  # not a data file: never removed
    for file in (in_flight, being_written, not_data):
        file.write_bytes(b"PAR1")
    holding, release = threading.Event(), threading.Event()

    def writer_in_flight() -> None:
        with shared_lock(table / WRITERS_LOCK):
            holding.set()
            release.wait(timeout=60)

    thread = threading.Thread(target=writer_in_flight)
    thread.start()
    assert holding.wait(timeout=10)
    store.insert(TWEETS, tweets_frame(range(3, 6)))  # another writer meanwhile: not alone, removes nothing
    assert in_flight.exists() and being_written.exists()
    release.set()
    thread.join(timeout=10)
    store.insert(TWEETS, tweets_frame(range(6, 9)))  # alone now: the file no commit names is a leftover
    assert not in_flight.exists() and not being_written.exists() and not_data.exists()
    assert sorted(store.read(TWEETS)["tweet_id"]) == list(range(9))


def test_threads_inserting_the_same_rows_store_them_once(tmp_path: Path, n_threads: int = 4) -> None:
    frame = tweets_frame(range(50))
    for attempt in range(3):  # retry until the inserts really overlapped
        store = LocalFeatureStore(tmp_path / f"store-{attempt}")
        results, spans = in_threads_together([lambda store=store: store.insert(TWEETS, frame)] * n_threads)
        assert sum(r.inserted for r in results) == 50 and sum(r.already_present for r in results) == 50 * (n_threads - 1)
        assert sorted(store.read(TWEETS)["tweet_id"]) == list(range(50))
        if spans_overlap(spans):
            break
    assert spans_overlap(spans), f"the inserts ran one after another in every attempt: {spans}"
