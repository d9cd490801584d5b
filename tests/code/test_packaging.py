"""The package installs: a wheel holds every subpackage and the avatar, and the two dependency
lists (ranges in pyproject.toml, exact pins in the requirements files) agree."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
SUBPACKAGES = ("clients", "model", "pipelines", "registry", "sources", "store", "ui")


def pins(path: Path) -> dict[str, Requirement]:
    """The requirements of one file (``-r`` lines and comments skipped), by normalised name."""
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    requirements = [Requirement(line) for line in lines if line and not line.startswith("-")]
    return {re.sub(r"[-_.]+", "-", r.name.lower()): r for r in requirements}


def ranges(names: list[str]) -> dict[str, Requirement]:
    return {re.sub(r"[-_.]+", "-", Requirement(r).name.lower()): Requirement(r) for r in names}


def test_a_wheel_holds_every_subpackage_and_the_avatar_and_nothing_else(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(tmp_path), str(REPO)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("tweetgen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tweetgen/ui/assets/avatar.png" in names
    assert {f"tweetgen/{sub}/__init__.py" for sub in SUBPACKAGES} <= set(names)
    tops = {name.split("/")[0] for name in names if not name.startswith("tweetgen-")}
    assert tops == {"tweetgen"}, f"only the package belongs in the wheel, not {tops - {'tweetgen'}}"


def test_requirements_pin_what_pyproject_declares_within_its_ranges() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    runtime = ranges([*project["dependencies"], *extras["app"], *extras["modal"]])
    dev = ranges(extras["dev"])
    runtime_pins, dev_pins = pins(REPO / "requirements.txt"), pins(REPO / "requirements-dev.txt")
    assert set(runtime_pins) == set(runtime), "requirements.txt and [project] dependencies list other packages"
    assert set(dev_pins) - {"setuptools"} == set(dev), "requirements-dev.txt and the dev extra list other packages"
    for name, pinned in {**runtime_pins, **dev_pins}.items():
        if name == "setuptools":
            continue
        (version,) = [spec.version for spec in pinned.specifier if spec.operator == "=="]
        declared = (runtime | dev)[name]
        assert declared.specifier.contains(version), f"{name}=={version} is outside {declared.specifier}"
        assert pinned.extras == declared.extras and str(pinned.marker) == str(declared.marker), name


def test_the_runtime_set_holds_no_test_notebook_or_benchmark_tool() -> None:
    runtime = pins(REPO / "requirements.txt")
    for tool in ("pytest", "playwright", "ruff", "nbclient", "pyppmd", "accelerate", "ipykernel", "vcrpy", "import-linter"):
        assert tool not in runtime, f"{tool} is a development tool: it belongs in requirements-dev.txt"


def test_a_plain_install_is_what_training_needs_and_keeps_the_machines_torch() -> None:
    # Colab: `pip install <the package>` must keep Colab's CUDA torch and bring neither the app nor
    # the deployment tools (requirements.txt would replace torch and add gradio, modal, ...).
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    plain = ranges(project["dependencies"])
    assert {"torch", "transformers", "tokenizers", "hopsworks", "pandas", "matplotlib", "tqdm"} <= set(plain)
    assert not {"gradio", "modal", "playwright", "pytest", "jupyter", "accelerate"} & set(plain)
    assert [spec.operator for spec in plain["torch"].specifier] == [">="], "a lower bound only: any CUDA build that is new enough"
