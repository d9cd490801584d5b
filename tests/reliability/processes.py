"""Run the CLI as a real process, and kill one with SIGKILL at a chosen moment (no test hooks in
the code under test: the process is killed as a crash or an OOM killer would, from outside, or
from a watcher the test's own child code arms: ``die_at_first_file``)."""

from __future__ import annotations

import ctypes
import os
import signal
import struct
import subprocess
import sys
import threading
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


IN_CREATE, IN_MOVED_TO = 0x100, 0x80


def die_at_first_file(folder: Path) -> None:
    """SIGKILL this process the moment a data file starts to appear in ``folder`` (a file whose
    name does not start with ``_``: not the lock, the contract or the log).

    Call it in a child process (``start_python``) before the write: a thread blocked on Linux
    inotify wakes when the writer creates the file (Delta Lake first writes ``<name>#1``, then
    renames it and commits about a millisecond later) and kills the process within microseconds:
    after its first write, before its commit. The test checks that it landed there.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    watch = libc.inotify_init1(0)
    if watch < 0 or libc.inotify_add_watch(watch, str(folder).encode(), IN_CREATE | IN_MOVED_TO) < 0:
        raise OSError(ctypes.get_errno(), f"cannot watch {folder}")

    def kill_on_first_file() -> None:
        while True:
            events, offset = os.read(watch, 65536), 0
            while offset < len(events):
                _, _, _, length = struct.unpack_from("iIII", events, offset)
                name = events[offset + 16 : offset + 16 + length].rstrip(b"\0").decode()
                offset += 16 + length
                if not name.startswith("_"):
                    os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=kill_on_first_file, daemon=True).start()


# A CLI run that imports everything, says it is ready, and waits for the go (a file) to start its job.
_AT_THE_GO = """
import sys, time
from pathlib import Path
from tweetgen.cli import main
barrier = Path(sys.argv[1])
(barrier / f"ready-{sys.argv[2]}").touch()
while not (barrier / "go").exists():
    time.sleep(0.002)
raise SystemExit(main(sys.argv[3:]))
"""


def start_cli_together(runs: list[list[str]], data_dir: Path, timeout: float = 120) -> list[subprocess.Popen[str]]:
    """Start one CLI process per argument list and let their jobs begin at the same moment, once
    every process has finished its imports (which take seconds on a busy machine), so that their
    writes overlap. A test proves they did with ``spans_overlap`` on their ``job_runs`` rows."""
    barrier = data_dir.parent / f"barrier-{time.monotonic_ns()}"
    barrier.mkdir(parents=True)
    processes = [
        subprocess.Popen([PYTHON, "-c", _AT_THE_GO, str(barrier), str(i), *args], env=cli_env(data_dir), cwd=data_dir.parent,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        for i, args in enumerate(runs)
    ]
    started = time.monotonic()
    while len(list(barrier.glob("ready-*"))) < len(runs):
        if any(p.poll() is not None for p in processes) or time.monotonic() - started > timeout:
            for process in processes:
                process.kill()
            raise AssertionError("a CLI process ended or hung before its job could start")
        time.sleep(0.01)
    (barrier / "go").touch()
    return processes


def spans_overlap(spans: list[tuple[float, float]] | list[tuple[object, object]]) -> bool:
    """Whether the writers ran concurrently: each (start, end) span shares a moment with another
    (a writer that ran alone, before or after all the others, proves nothing about concurrency)."""
    return len(spans) > 1 and all(
        any(start < other_end and other_start < end for j, (other_start, other_end) in enumerate(spans) if j != i)
        for i, (start, end) in enumerate(spans)
    )


def in_threads_together(calls: list[Callable[[], object]], timeout: float = 60) -> tuple[list[object], list[tuple[float, float]]]:
    """Run each call in a thread of its own, all released at once by a barrier; return their
    results (in the order of ``calls``) and the (start, end) span of each, for ``spans_overlap``.
    An exception in a call is raised here, after every thread has ended."""
    results: list[object] = [None] * len(calls)
    spans: list[tuple[float, float]] = [(0.0, 0.0)] * len(calls)
    errors: list[BaseException] = []
    go = threading.Barrier(len(calls))

    def run(i: int) -> None:
        go.wait(timeout=timeout)
        started = time.monotonic()
        try:
            results[i] = calls[i]()
        except BaseException as error:  # noqa: BLE001 - raised in the caller's thread below
            errors.append(error)
        spans[i] = (started, time.monotonic())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]
    return results, spans
