"""The layer rule is checked, not only written: import-linter's contracts in pyproject.toml.

Entry points on top, then the app, the pipelines, the adapters behind the ports, the model, and
at the bottom settings, errors and the data contracts; adapters never import each other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the ``tweetgen`` package found in ``root`` with ``root``'s pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root)}  # the package in root wins over the installed one
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )


def test_the_package_keeps_its_layers() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


def copy_of_the_package(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "tweetgen", tmp_path / "tweetgen", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "line", "reported"),
    [
        ("model/train.py", "from tweetgen.pipelines.jobs import train_job", "tweetgen.model.train -> tweetgen.pipelines.jobs"),
        ("registry/hopsworks.py", "from tweetgen.store.hopsworks import HopsworksFeatureStore",
         "tweetgen.registry.hopsworks -> tweetgen.store.hopsworks"),
    ],
    ids=["a lower layer imports a higher one", "one adapter imports another"],
)
def test_a_broken_rule_fails_the_check(tmp_path: Path, module: str, line: str, reported: str) -> None:
    root = copy_of_the_package(tmp_path)
    with (root / "tweetgen" / module).open("a") as source:
        source.write(f"\n{line}  # noqa: E402\n")
    result = lint_imports(root)
    assert result.returncode != 0
    assert reported in result.stdout
