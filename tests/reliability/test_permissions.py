"""One permission rule for everything under the data directory: the umask (tweetgen.files)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.frames import tweets_frame
from tests.fakes.monitor_rows import monitor_frame
from tests.fakes.saved_models import save_tiny_model
from tweetgen.files import apply_umask, current_umask
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.schema import GENERATED_TWEETS, TWEETS
from tweetgen.store.local import LocalFeatureStore


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, set[str]]:
    """Octal modes found under ``root``: {"folders": {...}, "files": {...}}."""
    found: dict[str, set[str]] = {"folders": set(), "files": set()}
    for path in [root, *root.rglob("*")]:
        found["folders" if path.is_dir() else "files"].add(oct(stat.S_IMODE(path.lstat().st_mode)))
    return found


def write_everything(data_dir: Path) -> None:
    """What the pipelines write: both groups, and a model version made champion, saved the way
    training saves it (a private temporary folder, safetensors' own 0600 file)."""
    store = LocalFeatureStore(data_dir / "feature_store")
    store.insert(TWEETS, tweets_frame(range(5)))
    store.insert(GENERATED_TWEETS, monitor_frame(2, first_id=1))
    registry = LocalModelRegistry(data_dir / "models")
    with tempfile.TemporaryDirectory() as saved:  # created 0700, like the training pipeline's staging folder
        save_tiny_model(Path(saved))
        assert oct(stat.S_IMODE(Path(saved, "model.safetensors").stat().st_mode)) == "0o600"  # what needs fixing
        version = registry.register(Path(saved), "m", {"eval_bits_per_char": 2.0}, {"eval_set_id": "sha256:x"})
    assert registry.promote_if_better(version).promoted


@pytest.mark.parametrize(("mask", "folders", "files"), [(0o022, "0o755", "0o644"), (0o077, "0o700", "0o600"), (0o002, "0o775", "0o664")])
def test_tables_and_registry_follow_the_umask(tmp_path: Path, mask: int, folders: str, files: str) -> None:
    data_dir = tmp_path / "data"
    with umask(mask):
        assert current_umask() == mask
        write_everything(data_dir)
    found = modes(data_dir)
    assert found == {"folders": {folders}, "files": {files}}
    assert (data_dir / "models" / "m" / "1" / "model.safetensors").is_file()
    assert any((data_dir / "feature_store" / "tweets_1").glob("*.parquet"))


def test_apply_umask_leaves_links_alone(tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    target.write_text("x")
    target.chmod(0o600)
    folder = tmp_path / "version"
    folder.mkdir(mode=0o700)
    (folder / "link").symlink_to(target)
    with umask(0o022):
        apply_umask(folder)
    assert oct(stat.S_IMODE(folder.stat().st_mode)) == "0o755"
    assert oct(stat.S_IMODE(target.stat().st_mode)) == "0o600"  # never changed through a link
