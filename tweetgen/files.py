"""Files and folders the pipelines write: one permission rule, locks, and what a killed run leaves.

Permissions: everything under the data directory (the feature store's tables, the registry's
versions, their locks and records) follows the process's umask, like files any other tool writes:
folders ``0o777`` and files ``0o666`` less the umask (``0755`` / ``0644`` with the usual ``022``).
Set a umask of ``077`` to keep them private. Libraries that write with their own modes (a
temporary folder is ``0700``, ``safetensors`` writes ``0600``) are brought back to the rule by
``apply_umask`` before a version is published.

Scratch folders: a run that stages files (a model version before it gets its number, a model
saved for the registry) holds an advisory lock on ``<folder>.lock`` beside its folder for as long
as it works in it. A later run removes the scratch folders whose lock nobody holds: their writer
was killed. A folder without a lock file is removed only when it is older than ``STALE_AFTER_S``
(where advisory locks do not exist, on Windows, the age alone decides). So a run never deletes
what a concurrent one is still writing.

Links: the folders and lock files the pipelines create under the data directory are opened
without following symbolic links (``O_NOFOLLOW``), so a link left where a table, a model folder or
a lock belongs (a dangling one, a loop, one pointing outside the data directory) is refused with
a sentence naming it (``LinkRefusedError``) instead of being followed or failing deep in a writer.
The data directory itself may be a link (to another disk, say).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows: no advisory locks
    fcntl = None  # type: ignore[assignment]

from tweetgen.errors import StoreError

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows: there ``lstat`` decides
LINK_ERRORS = (errno.ELOOP, errno.EMLINK)  # what open(O_NOFOLLOW) says of a link (EMLINK on FreeBSD)
LOCK_SUFFIX = ".lock"
STALE_AFTER_S = 3600.0  # a scratch folder without a lock file older than this is abandoned


def current_umask() -> int:
    """The process's umask (read without changing it where the system allows)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # no /proc: the only portable way is to set it and put it back
    os.umask(mask)
    return mask


def apply_umask(root: Path) -> None:
    """Give ``root`` and everything under it the modes of the permission rule (module docstring)."""
    mask = current_umask()
    folder_mode, file_mode = 0o777 & ~mask, 0o666 & ~mask
    os.chmod(root, folder_mode)
    for parent, folders, files in os.walk(root):  # links are listed, never followed or changed
        for names, mode in ((folders, folder_mode), (files, file_mode)):
            for name in names:
                path = os.path.join(parent, name)
                if not os.path.islink(path):
                    os.chmod(path, mode)


class LinkRefusedError(StoreError):
    """A symbolic link (or another kind of file) where the data directory needs a folder or a lock file."""


def _link_refused(path: Path, what: str) -> LinkRefusedError:
    return LinkRefusedError(
        f"{path} is a symbolic link where {what} belongs; links inside the data directory are not followed: "
        "remove the link (move what it points to into its place if you need it) and run again."
    )


def open_lock_file(path: Path) -> IO[str]:
    """Open (creating) the lock file ``path`` for appending, never through a symbolic link.

    Raises:
        LinkRefusedError: ``path`` is a symbolic link (dangling, a loop, or to anywhere).
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as error:
        if error.errno in LINK_ERRORS:
            raise _link_refused(path, "a lock file") from None
        raise
    if not NOFOLLOW and os.path.islink(path):  # pragma: no cover - Windows
        os.close(fd)
        raise _link_refused(path, "a lock file")
    return os.fdopen(fd, "a")


def real_folder(path: Path, what: str = "a folder of the data directory") -> bool:
    """Whether ``path`` is a folder (False if nothing is there), looked at without following a link.

    Raises:
        LinkRefusedError: ``path`` is a symbolic link, or a file where a folder belongs.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | NOFOLLOW)
    except FileNotFoundError:
        return False
    except OSError as error:
        if error.errno in LINK_ERRORS or os.path.islink(path):  # Linux says ENOTDIR for a link with O_DIRECTORY
            raise _link_refused(path, what) from None
        if error.errno == errno.ENOTDIR:
            raise LinkRefusedError(f"{path} is a file where {what} belongs; move it away and run again.") from None
        raise
    os.close(fd)
    if not NOFOLLOW and os.path.islink(path):  # pragma: no cover - Windows
        raise _link_refused(path, what)
    return True


def make_folder(path: Path, what: str = "a folder of the data directory") -> Path:
    """Create the folder ``path`` (and its parents) unless it exists; a link there is refused.

    Raises:
        LinkRefusedError: ``path`` is a symbolic link (a dangling one or a loop included).
    """
    if not real_folder(path, what):
        with contextlib.suppress(FileExistsError):  # a link appeared: the check below names it
            path.mkdir(parents=True, exist_ok=True)
        real_folder(path, what)
    return path


def is_locked(lock_path: Path) -> bool:
    """Whether some process holds the advisory lock on ``lock_path`` (False if it does not exist)."""
    if fcntl is None or not lock_path.exists():
        return False
    try:
        with open_lock_file(lock_path) as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return True  # cannot tell: treat as in use
    return False


def _hold(lock_path: Path) -> IO[str]:
    """Open ``lock_path`` and hold an exclusive lock on it until the handle is closed."""
    handle = open_lock_file(lock_path)
    if fcntl is not None:
        fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


@contextlib.contextmanager
def scratch_folder(parent: Path, prefix: str) -> Iterator[Path]:
    """A new folder ``<parent>/<prefix><random>``, locked while the block runs, removed after it
    (unless the block renamed it: then only its lock file goes)."""
    parent.mkdir(parents=True, exist_ok=True)  # the caller's folder (the system's temporary one may be a link)
    folder = parent / f"{prefix}{secrets.token_hex(6)}"
    lock_path = folder.with_name(folder.name + LOCK_SUFFIX)
    handle = _hold(lock_path)  # the lock first, then the folder: a sweeper never sees it unlocked
    try:
        folder.mkdir(mode=0o700)  # work in progress is private; what is published follows the rule
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        lock_path.unlink(missing_ok=True)
        handle.close()


def remove_abandoned(parent: Path, prefix: str, stale_after_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove the scratch folders (and lock files) under ``parent`` whose writer is gone; return them."""
    if not parent.is_dir():
        return []
    removed = []
    for path in sorted(parent.glob(f"{prefix}*")):
        if path.name.endswith(LOCK_SUFFIX):
            folder = path.with_name(path.name[: -len(LOCK_SUFFIX)])
            if not folder.exists() and _old(path, stale_after_s) and not is_locked(path):
                path.unlink(missing_ok=True)  # a lock left by a writer killed after its folder went
            continue
        if path.is_dir() and not path.is_symlink() and _abandoned(path, stale_after_s):
            shutil.rmtree(path, ignore_errors=True)
            path.with_name(path.name + LOCK_SUFFIX).unlink(missing_ok=True)
            removed.append(path)
    return removed


def _abandoned(folder: Path, stale_after_s: float) -> bool:
    lock_path = folder.with_name(folder.name + LOCK_SUFFIX)
    if fcntl is not None and lock_path.exists():
        return not is_locked(lock_path)
    return _old(folder, stale_after_s)


def _old(path: Path, age_s: float) -> bool:
    try:
        return time.time() - path.lstat().st_mtime > age_s
    except OSError:
        return False


@contextlib.contextmanager
def shared_lock(lock_path: Path, when_alone: Callable[[], object] = lambda: None) -> Iterator[None]:
    """Hold ``lock_path`` shared for the block, as one of possibly several concurrent writers.

    A writer that finds no other writer holding it first calls ``when_alone()`` under the
    exclusive lock (to remove what a killed writer left: nobody can be writing it now), then
    keeps the lock shared, so writers that come later still run alongside it. Without advisory
    locks (Windows) it never calls ``when_alone``: leftovers stay rather than risk a live write.
    """
    make_folder(lock_path.parent)
    with open_lock_file(lock_path) as handle:
        if fcntl is None:
            yield
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        else:
            when_alone()
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_writable_folder(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (tried, so read-only mounts and ACLs count)."""
    probe = folder / f".tweetgen-write-test-{secrets.token_hex(4)}"
    try:
        probe.touch(exist_ok=False)
    except OSError:
        return False
    probe.unlink(missing_ok=True)
    return True
