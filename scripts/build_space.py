"""Assemble the Hugging Face Space: one folder to upload, for ZeroGPU or CPU hardware.

    python scripts/build_space.py build/space --hardware zerogpu    # free accounts can host these
    python scripts/build_space.py build/space --hardware cpu        # CPU Spaces need a paid plan
    hf upload YOUR_NAME/tweetgen build/space . --repo-type=space

The folder holds ``app.py`` (the Space's ``app_file``), ``README.md`` (the front matter: Gradio
version from ``requirements.txt``, Python 3.12, the suggested hardware), ``requirements.txt`` for
that hardware, ``packages.txt`` (fonts) and the ``tweetgen`` package, avatar included.

Why two requirement files: a Space installs ``requirements.txt`` with pip, and an unpinned or
PyPI ``torch`` is the CUDA build (several GB of wheels). A CPU Space takes the CPU build from
PyTorch's index; a ZeroGPU Space needs the CUDA build, at a version ZeroGPU supports, and the
``spaces`` package for ``@spaces.GPU``. Gradio comes from ``sdk_version``; Modal is not needed.

This is a script, not a ``tweetgen`` command, because it packs the repository's own files
(``app/``, the package source, ``requirements.txt``), which an installed package does not carry.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Torch versions ZeroGPU supports (Hugging Face hub docs, spaces-zerogpu, 2026-07): 2.8.0, 2.9.1,
# 2.10.0, 2.11.0. The project pins 2.13.0, which is not among them: the newest listed one is used.
ZEROGPU_TORCH = "2.11.0"
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
SUGGESTED_HARDWARE = {"zerogpu": "zero-a10g", "cpu": "cpu-basic"}
NOT_ON_A_SPACE = {"gradio", "modal", "torch"}  # gradio: sdk_version; modal: deploys; torch: per hardware
PYTHON_VERSION = "3.12"  # ZeroGPU offers 3.10.13 and 3.12.12


def pinned(requirements: Path = REPO / "requirements.txt") -> dict[str, str]:
    """The pinned requirement lines of a requirements file, by package name (comments and options dropped)."""
    pins: dict[str, str] = {}
    for raw in requirements.read_text(encoding="utf-8").splitlines():
        line = raw.split("#")[0].strip()
        if line and not line.startswith("-"):
            pins[re.split(r"[\[=<>;! ]", line, maxsplit=1)[0].lower()] = line
    return pins


def space_requirements(hardware: str, pins: dict[str, str]) -> str:
    """The Space's requirements.txt for ``hardware`` (``zerogpu`` or ``cpu``) from the runtime ``pins``.

    ``spaces`` is pinned as in requirements-dev.txt, where the tests use it.
    """
    torch_version = pins["torch"].split("==")[1]
    if hardware == "cpu":
        head = [f"--extra-index-url {CPU_TORCH_INDEX}", f"torch=={torch_version}+cpu"]
    else:
        head = [f"torch=={ZEROGPU_TORCH}", pinned(REPO / "requirements-dev.txt")["spaces"]]
    rest = [line for name, line in pins.items() if name not in NOT_ON_A_SPACE]
    intro = f"# Written by scripts/build_space.py --hardware {hardware} from the project's requirements.txt."
    return "\n".join([intro, *head, *rest]) + "\n"


def front_matter(readme: str, hardware: str, gradio_version: str) -> str:
    """``readme`` with the front matter's sdk_version, python_version and suggested_hardware set."""
    values = {"sdk_version": gradio_version, "python_version": f'"{PYTHON_VERSION}"',
              "suggested_hardware": SUGGESTED_HARDWARE[hardware]}
    _, header, body = readme.split("---\n", 2)
    lines = [f"{key}: {values.pop(key)}" if (key := line.split(":")[0]) in values else line for line in header.splitlines()]
    lines += [f"{key}: {value}" for key, value in values.items()]  # those the template lacks
    return "---\n" + "\n".join(lines) + "\n---\n" + body


def build_space(dest: Path, hardware: str) -> list[Path]:
    """Write the Space folder ``dest`` (replacing an earlier build there); return the files written.

    Raises:
        SystemExit: ``dest`` holds something other than an earlier build, or the hardware is unknown.
    """
    if hardware not in SUGGESTED_HARDWARE:
        raise SystemExit(f"error: the hardware is {hardware!r}; use one of {', '.join(SUGGESTED_HARDWARE)}.")
    _clear(dest)
    pins = pinned()
    (dest / "assets").mkdir(parents=True)
    shutil.copy2(REPO / "app" / "app.py", dest / "app.py")
    shutil.copy2(REPO / "app" / "packages.txt", dest / "packages.txt")
    shutil.copy2(REPO / "assets" / "app-screenshot.png", dest / "assets" / "app-screenshot.png")
    readme = (REPO / "app" / "README.md").read_text(encoding="utf-8")
    (dest / "README.md").write_text(front_matter(readme, hardware, pins["gradio"].split("==")[1]), encoding="utf-8")
    (dest / "requirements.txt").write_text(space_requirements(hardware, pins), encoding="utf-8")
    shutil.copytree(REPO / "tweetgen", dest / "tweetgen", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return sorted(path for path in dest.rglob("*") if path.is_file())


def _clear(dest: Path) -> None:
    """Remove an earlier build in ``dest``; refuse to touch a folder that is something else."""
    if not dest.exists() or not any(dest.iterdir()):
        return
    if not ((dest / "app.py").is_file() and (dest / "tweetgen" / "__init__.py").is_file()):
        raise SystemExit(f"error: {dest} is not empty and is not an earlier Space build; choose an empty folder.")
    shutil.rmtree(dest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Assemble the Hugging Face Space folder.")
    parser.add_argument("dest", type=Path, help="the folder to write (e.g. build/space)")
    parser.add_argument("--hardware", choices=sorted(SUGGESTED_HARDWARE), default="zerogpu",
                        help="zerogpu (free accounts) or cpu (a paid plan); default zerogpu")
    args = parser.parse_args(argv)
    files = build_space(args.dest, args.hardware)
    print(f"Wrote {len(files)} files to {args.dest} for {args.hardware} hardware. Upload the folder with:")
    print(f"  hf upload YOUR_NAME/tweetgen {args.dest} . --repo-type=space")
    return 0


if __name__ == "__main__":
    sys.exit(main())
