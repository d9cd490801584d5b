"""SIGKILL at random points of ingest, inference and training: the store stays readable, the
registry usable, nothing is duplicated, and the next run removes what the killed one left.

Kill points are drawn from a seeded generator: some uniformly over the run, some a random moment
after the run has started writing (its first data file or scratch folder exists), so the windows
between writing files and committing them are hit, not only the imports.
"""

from __future__ import annotations

import random
import signal
import tempfile
from pathlib import Path

import pytest

from tests.fakes.models import MODEL_NAME, register_tiny_model
from tests.reliability.processes import kill_after, kill_when, start_cli, start_python
from tweetgen.model.train import TrainConfig
from tweetgen.pipelines.features import run_feature_pipeline
from tweetgen.pipelines.inference import Sampling, run_batch_inference
from tweetgen.pipelines.training import STAGING_PREFIX, run_training
from tweetgen.registry.local import INCOMING_PREFIX, LocalModelRegistry
from tweetgen.schema import GENERATED_TWEETS, TWEETS
from tweetgen.sources.replay import REPLAY_HOLDOUT
from tweetgen.sources.sample import SAMPLE_TWEETS
from tweetgen.store.local import LocalFeatureStore

HISTORY = SAMPLE_TWEETS - REPLAY_HOLDOUT
TINY = dict(n_layer=1, n_embd=32, n_head=2, vocab_size=300, block_size=32, batch_size=8, n_samples=1, eval_fraction=0.01,
            progress=False)
# The training job as `tweetgen train` runs it, with a model small enough for a test.
TRAIN = (
    "from tweetgen.config import Settings\n"
    "from tweetgen.model.train import TrainConfig\n"
    "from tweetgen.pipelines.jobs import train_job\n"
    f"train_job(Settings.load(), TrainConfig(max_steps=2, **{TINY!r}))\n"
)


# A child process that runs batch inference as `tweetgen infer` does, armed to die at its first data file.
DIE_AT_FIRST_FILE = "from tests.reliability.processes import die_at_first_file\ndie_at_first_file"
INFER = "from tweetgen.cli import main\nraise SystemExit(main(['infer']))\n"


def data_files(table: Path) -> set[Path]:
    """The table's data files, and those still being written (Delta Lake writes ``<name>#1`` first)."""
    return {p for p in table.iterdir() if ".parquet" in p.name} if table.is_dir() else set()


def uncommitted_files(store: LocalFeatureStore, spec) -> set[str]:
    committed = {Path(p).name for p in store._table(spec).file_uris()}
    return {p.name for p in data_files(store.path(spec))} - committed


def writes_a_new_file(table: Path):
    """A condition that holds once ``table`` has a data file it did not have now."""
    before = data_files(table)
    return lambda: bool(data_files(table) - before)


def assert_store_is_whole(store: LocalFeatureStore) -> None:
    """Every group that exists reads, has unique keys, and every data file in it is committed."""
    for spec in (TWEETS, GENERATED_TWEETS):
        if not store.exists(spec):
            continue
        frame = store.read(spec)
        assert not frame.duplicated(list(spec.primary_key)).any(), spec.name
        committed = {Path(p).name for p in store._table(spec).file_uris()}
        assert {p.name for p in data_files(store.path(spec))} == committed, f"uncommitted files left in {spec.name}"


def test_killed_ingests_leave_a_readable_store_and_the_next_run_finishes_the_job(tmp_path: Path) -> None:
    rng = random.Random(15)
    data_dir = tmp_path / "data"
    store = LocalFeatureStore(data_dir / "feature_store")
    table = store.path(TWEETS)
    kills = [kill_after(start_cli(["features"], data_dir), rng.uniform(0.2, 4.0)) for _ in range(2)]
    for args, delay_s in ((["features"], 0.05), (["features"], 0.05), (["scrape", "--count", "7"], 0.3)):
        ready = writes_a_new_file(table)  # taken before the start: files of earlier runs do not count
        kills.append(kill_when(start_cli(args, data_dir), ready, delay_s=rng.uniform(0, delay_s)))
    assert any(not k.finished_first for k in kills), "every run ended before its kill: the test proved nothing"
    if store.exists(TWEETS):  # readable after each kind of crash, whatever it had written
        assert store.read(TWEETS)["tweet_id"].is_unique

    report = run_feature_pipeline(store)  # the next run: finishes the history, removes leftovers
    assert report.inserted + report.already_present == HISTORY
    assert_store_is_whole(store)
    assert len(store.read(TWEETS)) in range(HISTORY, HISTORY + 8)  # the history, and the scrape if it committed


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A data directory with the sample history and a tiny champion model."""
    data_dir = tmp_path_factory.mktemp("trained") / "data"
    run_feature_pipeline(LocalFeatureStore(data_dir / "feature_store"))
    register_tiny_model(LocalModelRegistry(data_dir / "models"), bits_per_char=3.0)
    return data_dir


def test_killed_inference_leaves_a_usable_store_and_registry(trained: Path) -> None:
    rng = random.Random(16)
    store, registry = LocalFeatureStore(trained / "feature_store"), LocalModelRegistry(trained / "models")
    kill_after(start_cli(["infer"], trained), rng.uniform(1.0, 6.0))  # anywhere: imports, loading, generating
    if not store.exists(GENERATED_TWEETS):
        store._ensure_table(GENERATED_TWEETS)  # the monitor group as a first run creates it, to watch it
    monitor, version = store.path(GENERATED_TWEETS), store.table_version(GENERATED_TWEETS)
    assert store.read(GENERATED_TWEETS).empty, "the first kill came after the commit: nothing is left to kill mid-write"

    # The second run dies the moment its first data file appears (tests.reliability.processes.die_at_first_file)
    killed = start_python(f"{DIE_AT_FIRST_FILE}({str(monitor)!r})\n{INFER}", trained)
    assert killed.wait(timeout=180) == -signal.SIGKILL, "inference ended without writing: the kill never came"
    assert store.table_version(GENERATED_TWEETS) == version, "the kill came after the commit"
    assert uncommitted_files(store, GENERATED_TWEETS), "the kill left no data file: it came before the first write"
    assert store.read(GENERATED_TWEETS).empty  # readable, and the half write is not in it
    registry.load(registry.champion(MODEL_NAME))  # the champion still loads

    report = run_batch_inference(store, registry, MODEL_NAME, Sampling(max_new_tokens=8))
    rows = store.read(GENERATED_TWEETS)
    assert len(rows) == 1 and report.inserted + len(report.skipped_arms) == 1  # one row per tweet and model, never two
    assert_store_is_whole(store)  # the killed run's data file is gone


def test_killed_training_leaves_a_usable_registry_and_the_next_run_removes_its_scratch(
    trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(17)
    registry = LocalModelRegistry(trained / "models")
    before = registry.versions(MODEL_NAME)
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    name_dir = trained / "models" / MODEL_NAME
    registering = lambda: any(name_dir.glob(f"{INCOMING_PREFIX}*[!k]"))  # a version folder being written  # noqa: E731
    killed = kill_when(start_python(TRAIN, trained, TMPDIR=str(scratch_root)), registering, timeout=180, delay_s=rng.uniform(0, 0.1))
    assert not killed.finished_first, "training ended before it was killed in its registration"
    left = sorted(p.name for p in scratch_root.glob(f"{STAGING_PREFIX}*")) + sorted(p.name for p in name_dir.glob(f"{INCOMING_PREFIX}*"))
    assert left, "the kill left no scratch folder: it proved nothing about their removal"
    kill_after(start_python(TRAIN, trained, TMPDIR=str(scratch_root)), rng.uniform(0.5, 8.0))

    assert registry.versions(MODEL_NAME)[: len(before)] == before  # earlier versions untouched
    registry.load(registry.champion(MODEL_NAME))  # the champion still loads
    assert all(not registry.check_files(v) for v in registry.versions(MODEL_NAME))  # no half version was published

    monkeypatch.setattr(tempfile, "tempdir", str(scratch_root))  # the next run, in this process, same TMPDIR
    report = run_training(LocalFeatureStore(trained / "feature_store"), registry,
                          TrainConfig(max_steps=2, model_name=MODEL_NAME, **TINY))
    assert report.version.version == max(v.version for v in registry.versions(MODEL_NAME))
    assert list(scratch_root.iterdir()) == [] and list(name_dir.glob(f"{INCOMING_PREFIX}*")) == []
