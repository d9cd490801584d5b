"""Run the CLI as a real process, and kill one with SIGKILL at a chosen moment (no test hooks in
the code under test: the process is killed from outside, as a crash or an OOM killer would)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO

PYTHON = sys.executable
# One torch thread, as in the test process: tiny models gain nothing from more on a busy machine.
QUIET = {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI process: this checkout's package first, the given data directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOPSWORKS_", "X_BEARER", "TWEETGEN_"))}
    return {**env, **QUIET, "PYTHONPATH": str(REPO), "TWEETGEN_DATA_DIR": str(data_dir), **extra}


def run_cli(args: list[str], data_dir: Path, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess[str]:
    """``python -m tweetgen ARGS`` to the end; the completed process (stdout, stderr, returncode)."""
    return subprocess.run(
        [PYTHON, "-m", "tweetgen", *args], env=cli_env(data_dir, **extra), cwd=data_dir.parent,
        capture_output=True, text=True, timeout=timeout,
    )


@dataclass
class Killed:
    """A process killed with SIGKILL: how long it had run, and whether it had ended by itself first."""

    after_s: float
    finished_first: bool
    returncode: int


def start_cli(args: list[str], data_dir: Path, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, "-m", "tweetgen", *args], env=cli_env(data_dir, **extra), cwd=data_dir.parent,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )


def start_python(code: str, data_dir: Path, **extra: str) -> subprocess.Popen[str]:
    """``python -c CODE`` with the CLI's environment: a library entry point with settings the CLI
    does not expose (a smaller model, to keep a test short)."""
    return subprocess.Popen(
        [PYTHON, "-c", code], env=cli_env(data_dir, **extra), cwd=data_dir.parent,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )


def kill_when(process: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 120, delay_s: float = 0.0) -> Killed:
    """SIGKILL ``process`` ``delay_s`` after ``ready()`` first holds (polled every few ms)."""
    started = time.monotonic()
    while not ready():
        if process.poll() is not None:
            return Killed(time.monotonic() - started, True, process.returncode)
        if time.monotonic() - started > timeout:
            break
        time.sleep(0.002)
    time.sleep(delay_s)
    finished = process.poll() is not None
    if not finished:
        os.killpg(process.pid, signal.SIGKILL)
    returncode = process.wait(timeout=30)
    return Killed(time.monotonic() - started, finished, returncode)


def kill_after(process: subprocess.Popen[str], delay_s: float) -> Killed:
    """SIGKILL ``process`` after ``delay_s`` seconds (unless it ended before)."""
    return kill_when(process, lambda: True, delay_s=delay_s)
