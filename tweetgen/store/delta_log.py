"""Checks of a Delta table's commit log, before the ``deltalake`` library reads it.

A Delta table is its log: ``_delta_log/<version, 20 digits>.json``, one JSON action per line,
``commitInfo`` first. ``deltalake`` reads an emptied commit file as a commit that changed nothing
(the rows it added silently disappear, and a live source releases them again), and a commit cut
in the middle of a line as a parse error deep in its stack. Neither may happen quietly, so every
open of a table first checks the commits after the last checkpoint: each must be non-empty, each
line must be a JSON object, and the files it adds and removes must match the counts its own
``commitInfo`` recorded (which catches a commit cut at a line boundary).

``deltalake`` writes a commit to a temporary file and renames it into place, so a concurrent
reader never sees a commit being written: what these checks find is damage (a full disk, a
copy cut short, an edit), never a writer at work.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

from tweetgen.errors import StoreError
from tweetgen.files import real_folder

LOG_DIR = "_delta_log"
COMMIT_FILE = re.compile(r"^(\d{20})\.json$")
CHECKPOINT_FILE = re.compile(r"^(\d{20})\.checkpoint(\.\d+\.\d+)?\.parquet$")
#: A data file, or one Delta Lake is still writing (``<name>#<n>``, renamed to ``<name>`` when whole).
DATA_FILE = re.compile(r".+\.parquet(#\d+)?")
# commitInfo.operationMetrics keys that count the files a commit adds and removes, per writer operation
ADDED_COUNTS = ("num_added_files", "num_target_files_added")
REMOVED_COUNTS = ("num_removed_files", "num_target_files_removed")


def check_delta_log(table: Path) -> None:
    """Raise ``StoreError`` naming the first damaged commit of the table at ``table`` and how to recover.

    A folder without a log is not checked (it is not a table yet).
    """
    for commit in commits_to_check(table / LOG_DIR):
        problem = commit_damage(commit)
        if problem:
            raise StoreError(_sentence(table, commit, problem))


def commits_to_check(log: Path) -> list[Path]:
    """The commit files after the newest checkpoint, oldest first (a link as the log is refused)."""
    if not real_folder(log, "a Delta table's log"):
        return []
    commits, checkpoint = [], -1
    for path in log.iterdir():
        if match := COMMIT_FILE.match(path.name):
            commits.append((int(match.group(1)), path))
        elif match := CHECKPOINT_FILE.match(path.name):
            checkpoint = max(checkpoint, int(match.group(1)))
    return [path for version, path in sorted(commits) if version > checkpoint]


def commit_damage(commit: Path) -> str | None:
    """What is wrong with one commit file, in a few words, or None."""
    try:
        text = commit.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return f"cannot be read ({type(error).__name__})"
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return "is empty"
    actions = []
    for number, line in enumerate(lines, 1):
        try:
            action = json.loads(line)
        except ValueError:
            return f"is cut short or garbled at line {number}"
        if not isinstance(action, dict):
            return f"holds something other than an action at line {number}"
        actions.append(action)
    return _count_damage(actions)


def logged_paths(table: Path) -> set[str]:
    """The data files (relative paths) that the commits after the last checkpoint add or remove."""
    paths = set()
    for commit in commits_to_check(table / LOG_DIR):
        for line in commit.read_text(encoding="utf-8").splitlines():
            action = json.loads(line) if line.strip() else {}
            for kind in ("add", "remove"):
                if isinstance(action.get(kind), dict):
                    paths.add(unquote(action[kind]["path"]))
    return paths


def unlogged_files(table: Path, known: set[str]) -> list[Path]:
    """Files a killed writer may leave: data files in no commit (``known`` holds the logged ones,
    relative to ``table``), data files still being written (Delta Lake writes ``<name>#<n>`` and
    renames it when whole) and temporary commit files never renamed into the log."""
    found = [
        path for path in table.rglob("*.parquet*")
        if not any(part.startswith(("_", ".")) for part in path.relative_to(table).parts)
        and DATA_FILE.fullmatch(path.name)
        and path.relative_to(table).as_posix() not in known
    ]
    log = table / LOG_DIR
    if log.is_dir():
        found += [path for path in log.iterdir() if path.name.startswith("_commit_") and path.suffix == ".tmp"]
    return sorted(found)


def _count_damage(actions: list[dict]) -> str | None:
    """Compare the add and remove actions with the counts the commit's ``commitInfo`` recorded."""
    info = next((a["commitInfo"] for a in actions if "commitInfo" in a), None)
    if not isinstance(info, dict):
        return "has no commitInfo (it is cut short)"
    metrics = info.get("operationMetrics") or {}
    for keys, kind in ((ADDED_COUNTS, "add"), (REMOVED_COUNTS, "remove")):
        recorded = next((metrics[k] for k in keys if k in metrics), None)
        found = sum(1 for a in actions if kind in a)
        if isinstance(recorded, int) and recorded != found:
            return f"lists {found} '{kind}' actions where its commitInfo records {recorded} (it is cut short)"
    return None


def _sentence(table: Path, commit: Path, problem: str) -> str:
    version = int(commit.stem)
    newest = commit == commits_to_check(table / LOG_DIR)[-1]
    if newest and version == 0:
        recovery = f"remove {table} and run the pipeline that wrote it again"
    elif newest:
        recovery = (
            f"if no backup holds it, remove {commit} to return the table to version {version - 1}, "
            "then run the pipeline that wrote it again (it rewrites the rows that commit held)"
        )
    else:
        recovery = f"later commits build on it, so restore {commit} from a backup, or remove {table} and rebuild it"
    return f"The Delta log of {table} is damaged: commit {commit.name} {problem}; {recovery}."
