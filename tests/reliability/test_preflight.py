"""Settings and the store are checked before any expensive work: one sentence, exit 1 (a flag's
value that cannot work: 2), torch never imported. (Speed is the bench's business; "torch was not
imported" is what makes these fast.)"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.processes import PYTHON, cli_env

# Runs the CLI and reports on stderr's last line whether torch was imported along the way.
PROBE = (
    "import sys\n"
    "from tweetgen.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('torch imported' if 'torch' in sys.modules else 'torch not imported', file=sys.stderr)\n"
    "sys.exit(code)\n"
)
KEY_MISSING = "error: HOPSWORKS_API_KEY is not set: create an API key in the Hopsworks UI"


def probe(args: list[str], data_dir: Path, **env: str) -> tuple[int, str, bool]:
    """(exit status, the error lines, whether torch was imported) of ``tweetgen ARGS``."""
    result = subprocess.run([PYTHON, "-c", PROBE, *args], env=cli_env(data_dir, **env), cwd=data_dir.parent,
                            capture_output=True, text=True, timeout=120)
    *errors, torch_line = result.stderr.strip().splitlines()
    return result.returncode, "\n".join(errors), torch_line == "torch imported"


@pytest.mark.parametrize("command", [["models"], ["infer"], ["train"], ["app"], ["query", "SELECT 1"], ["schedule"]])
def test_the_hopsworks_backend_without_its_key_fails_before_torch(tmp_path: Path, command: list[str]) -> None:
    code, errors, torch = probe(command, tmp_path / "data", TWEETGEN_BACKEND="hopsworks", HOPSWORKS_PROJECT="p")
    assert (code, torch) == (1, False)
    assert errors.startswith(KEY_MISSING) and len(errors.splitlines()) == 1


def test_schedule_checks_every_jobs_requirements_at_start(tmp_path: Path) -> None:
    code, errors, torch = probe(["schedule", "--max-runs", "1"], tmp_path / "data", TWEETGEN_LIVE_SOURCE="x")
    assert (code, torch) == (1, False)
    assert errors == (
        "error: TWEETGEN_LIVE_SOURCE is x but X_BEARER_TOKEN is not set; set it to the bearer token of your "
        "X developer app, or use TWEETGEN_LIVE_SOURCE=replay."
    )
    code, errors, _ = probe(["schedule", "--max-runs", "1"], tmp_path / "data", TWEETGEN_BACKEND="hopsworks",
                            X_BEARER_TOKEN="t", HOPSWORKS_API_KEY="k")
    assert code == 1 and errors.startswith("error: HOPSWORKS_PROJECT is not set")


@pytest.mark.parametrize(("flags", "sentence"), [
    (["--max-steps", "-1"], "error: --max-steps is -1; use a whole number of at least 1."),
    (["--max-steps", "0"], "error: --max-steps is 0; use a whole number of at least 1."),
    (["--batch-size", "0"], "error: --batch-size is 0; use a whole number of at least 1."),
    (["--epochs", "0"], "error: --epochs is 0.0; use a number above 0."),
    (["--max-seconds", "-5"], "error: --max-seconds is -5.0; use a number above 0."),
    (["--max-seconds", "nan"], "error: --max-seconds is nan; use a number above 0."),
    (["--ngram-order", "9"], "error: --ngram-order is 9; use 0 (no n-gram) to 7."),
    (["--model", "gpt3"], "error: --model is 'gpt3'; use one of lstm, gpt2."),
    (["--tokenizer", "words"], "error: --tokenizer is 'words'; use one of byte, bpe."),
])
def test_training_options_that_cannot_work_fail_before_torch(tmp_path: Path, flags: list[str], sentence: str) -> None:
    assert probe(["train", *flags], tmp_path / "data") == (2, sentence, False)  # usage errors exit 2


def test_a_champion_record_naming_a_missing_version_fails_before_training(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    record = data_dir / "models" / "tweet_model" / "champion.json"  # the default model name
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"version": 7}))
    for command in (["train"], ["infer"], ["models"]):
        code, errors, torch = probe(command, data_dir)
        assert (code, torch) == (1, False), command
        assert errors == f"error: {record} names version 7, whose folder is gone; remove {record} and train again."


def test_a_data_dir_that_is_a_file_is_named(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("oops")
    for command in (["features"], ["query", "SELECT 1"], ["train"]):
        code, errors, torch = probe([*command, "--data-dir", str(not_a_folder)], tmp_path / "elsewhere")
        assert (code, torch) == (1, False)
        assert errors == (f"error: The data directory {not_a_folder} (--data-dir or TWEETGEN_DATA_DIR) is a file, "
                          "not a folder; pass a folder, or a path that does not exist yet.")


@contextlib.contextmanager
def read_only(*folders: Path) -> Iterator[None]:
    """Make ``folders`` refuse new files: mode 0555, or for root (whom modes do not stop) the
    immutable attribute, as a read-only mount would; skip where neither is possible."""
    if os.geteuid() != 0:
        change, undo = (lambda f: f.chmod(0o555) or True), (lambda f: f.chmod(0o755))
    elif shutil.which("chattr"):
        change = lambda f: subprocess.run(["chattr", "+i", str(f)], capture_output=True).returncode == 0  # noqa: E731
        undo = lambda f: subprocess.run(["chattr", "-i", str(f)], capture_output=True)  # noqa: E731
    else:
        pytest.skip("running as root without chattr: no way to make a folder read-only here")
    changed = [f for f in folders if change(f)]
    try:
        if len(changed) < len(folders):
            pytest.skip("chattr +i is not allowed here (no CAP_LINUX_IMMUTABLE)")
        yield
    finally:
        for folder in changed:
            undo(folder)


def test_a_read_only_data_dir_fails_before_any_work(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "feature_store").mkdir(parents=True)
    with read_only(data_dir, data_dir / "feature_store"):
        for command in (["features"], ["scrape"], ["train"], ["infer"]):
            code, errors, torch = probe(command, data_dir)
            assert (code, torch) == (1, False), (command, errors)
            assert errors.startswith(f"error: The data directory {data_dir} (--data-dir or TWEETGEN_DATA_DIR) is read-only")
        code, errors, _ = probe(["query", "SELECT 1 AS one"], data_dir)  # reading needs no write access
        assert code == 0, errors
