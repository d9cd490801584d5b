"""The fonts tweet images need come with `make demo` as with `make test`: the same script,
``scripts/install_system_packages.sh``, run with stand-ins for dpkg-query, apt-get and id on PATH."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "install_system_packages.sh"
FONTS = ["fonts-noto-color-emoji", "fonts-noto-cjk"]


def make_dry_run(target: str) -> list[str]:
    """The commands ``make -n <target>`` would run."""
    result = subprocess.run(["make", "-n", "-W", "requirements.txt", target], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize(("target", "packages"), [("demo", FONTS), ("test", [])])
def test_demo_and_test_install_the_fonts_with_the_same_script_before_they_run(target: str, packages: list[str]) -> None:
    commands = make_dry_run(target)
    script = [i for i, line in enumerate(commands) if "scripts/install_system_packages.sh" in line]
    run = [i for i, line in enumerate(commands) if "-m tweetgen demo" in line or "-m pytest" in line]
    assert len(script) == 1 and len(run) == 1 and script[0] < run[0], commands
    assert commands[script[0]].split()[2:] == packages  # demo: the two fonts; test: everything (Chromium too)


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """A PATH folder: dpkg-query that finds nothing installed, id that says root, and the tools the script uses."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")
    (folder / "id").write_text("#!/bin/sh\necho 0\n")
    for tool in ("grep", "cat"):
        (folder / tool).symlink_to(f"/usr/bin/{tool}" if Path(f"/usr/bin/{tool}").exists() else f"/bin/{tool}")
    for name in ("dpkg-query", "id"):
        (folder / name).chmod(0o755)
    return folder


def run_script(fake_bin: Path, *packages: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/bash", str(SCRIPT), *packages], env={**os.environ, "PATH": str(fake_bin)},
                          capture_output=True, text=True, timeout=60)


def test_the_fonts_are_installed_with_apt_get_and_nothing_else(fake_bin: Path, tmp_path: Path) -> None:
    calls = tmp_path / "apt-get.calls"
    (fake_bin / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    (fake_bin / "apt-get").chmod(0o755)
    result = run_script(fake_bin, *FONTS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Installing system packages: fonts-noto-color-emoji fonts-noto-cjk"
    assert calls.read_text().splitlines() == ["update -qq", "install -y -qq --no-install-recommends fonts-noto-color-emoji fonts-noto-cjk"]


def test_without_apt_get_it_names_what_is_missing_and_goes_on(fake_bin: Path) -> None:
    result = run_script(fake_bin, *FONTS)
    assert result.returncode == 0
    assert result.stdout.startswith("System packages missing: fonts-noto-color-emoji fonts-noto-cjk (no apt-get here")


def test_an_unknown_package_is_refused_in_one_sentence(fake_bin: Path) -> None:
    result = run_script(fake_bin, "fonts-noto-cjk", "cowsay")
    assert result.returncode == 2
    assert result.stderr == "Unknown package 'cowsay': this script installs only chromium fonts-noto-color-emoji fonts-noto-cjk.\n"
