"""The Modal images' sizes: the wheels pip's resolver picks for each, and their sum.

    python bench/bench_images.py                       # resolves against the configured indexes
    python bench/bench_images.py --cpu-torch-from DIR  # CPU torch from a folder of wheels

``modal_app.py`` builds two images on Debian with Python 3.11 (linux x86_64): ``image`` (scrape,
batch inference, web) installs torch from PyTorch's CPU index first, then ``requirements.txt``;
``gpu_image`` (train) installs ``requirements.txt`` alone, so torch is PyPI's CUDA build with its
``nvidia-*`` libraries. For each, pip resolves the same requirements for that platform
(``pip install --dry-run --report``, nothing installed) and the size of every wheel it picked is
read: from the file for a local wheel, from the index's file listing (PEP 700 ``size``) otherwise.
The comparison line is the CPU image against the CUDA one, measured in the same run.

What it does not measure: the Debian base image and the fonts (``apt_install``), and the size the
wheels take once unpacked (usually two to three times their compressed size). A wheel whose size
the index does not list is counted as unknown and named.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parents[1]


def _modal_app() -> ModuleType:
    """``modal_app.py`` (a script at the repository root, not part of the package), read from its file."""
    spec = importlib.util.spec_from_file_location("modal_app", REPO / "modal_app.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module

# Debian bookworm (glibc 2.36) on x86_64, CPython 3.11: the wheels such a machine accepts.
PLATFORM = [
    *[arg for tag in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64")
      for arg in ("--platform", tag)],
    *[arg for abi in ("cp311", "abi3", "none") for arg in ("--abi", abi)],
    "--python-version", "3.11", "--implementation", "cp", "--only-binary=:all:",
]


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    url: str
    size: int | None  # bytes; None when no source says


class Unresolvable(Exception):
    """pip found no distribution for a requirement on the indexes it can reach."""


def resolve(requirements: list[str], extra_pip: list[str]) -> list[dict]:
    """What pip would install for the image's platform: the ``install`` items of its report."""
    with tempfile.TemporaryDirectory(prefix="tweetgen-images-") as folder:
        report = Path(folder) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                   "--target", str(Path(folder) / "target"), "--report", str(report), *PLATFORM, *extra_pip, *requirements]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
            raise Unresolvable(errors[-1] if errors else done.stderr.strip()[-300:])
        return json.loads(report.read_text())["install"]


def wheel_size(url: str, listing_sizes: dict[str, int]) -> int | None:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path)).stat().st_size
    return listing_sizes.get(Path(unquote(parts.path)).name)


def index_sizes(project: str, index: str = "https://pypi.org/simple") -> dict[str, int]:
    """File name -> size from the index's JSON listing of ``project`` (PEP 691/700), as pip reads it."""
    request = urllib.request.Request(f"{index}/{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            files = json.load(response).get("files", [])
    except OSError:
        return {}
    return {f["filename"]: f["size"] for f in files if isinstance(f.get("size"), int)}


def wheels(items: list[dict]) -> list[Wheel]:
    found = []
    for item in items:
        meta, url = item["metadata"], item["download_info"]["url"]
        sizes = {} if url.startswith("file:") else index_sizes(meta["name"].lower())
        found.append(Wheel(meta["name"], meta["version"], url, wheel_size(url, sizes)))
    return found


LINUX = {"platform_system": "Linux", "sys_platform": "linux", "platform_machine": "x86_64", "python_version": "3.11",
         "python_full_version": "3.11.11", "implementation_name": "cpython", "platform_python_implementation": "CPython",
         "os_name": "posix", "extra": ""}


def cuda_torch_piecewise(cpu: list[Wheel], pypi: list[str], torch_line: str) -> tuple[list[Wheel], list[str]]:
    """The CUDA image wheel by wheel, when pip cannot resolve it whole from the indexes it reaches
    (NVIDIA publishes some of torch's CUDA libraries on its own index, not on PyPI): the CUDA torch
    wheel, each of its Linux requirements that resolves alone, and the CPU image's other wheels.
    Returns the wheels and the requirements that could not be resolved."""
    from packaging.requirements import Requirement

    [torch] = resolve([torch_line, "--no-deps"], pypi)
    found, missing = wheels([torch]), []
    for line in torch["metadata"].get("requires_dist", []):
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate(LINUX):
            continue
        if requirement.name.lower() in {w.name.lower() for w in cpu}:
            continue  # also in the CPU image (filelock, sympy, ...): counted with the others below
        try:
            found += wheels(resolve([str(requirement).split(";")[0], "--no-deps"], pypi))
        except Unresolvable:
            missing.append(str(requirement).split(";")[0])
    return found + [w for w in cpu if w.name.lower() != "torch"], missing


def report(title: str, found: list[Wheel], top: int) -> int:
    known = [w for w in found if w.size is not None]
    total = sum(w.size for w in known)  # type: ignore[misc]
    print(f"\n{title}: {len(found)} wheels, {total / 1e9:.2f} GB compressed" + (
        f" (+ {len(found) - len(known)} of unknown size: {', '.join(w.name for w in found if w.size is None)})"
        if len(known) < len(found) else ""))
    for wheel in sorted(known, key=lambda w: w.size or 0, reverse=True)[:top]:
        print(f"  {wheel.size / 1e6:9.1f} MB  {wheel.name} {wheel.version}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-torch-from", type=Path, help="a folder holding the CPU torch wheel (instead of PyTorch's CPU index)")
    parser.add_argument("--top", type=int, default=8, help="how many of the largest wheels to list")
    args = parser.parse_args()
    modal_app = _modal_app()  # the images' own choices: the torch pin and the CPU index
    torch_line = modal_app.torch_pin()
    requirements = ["-r", str(REPO / "requirements.txt")]
    source = ["--find-links", str(args.cpu_torch_from)] if args.cpu_torch_from else ["--extra-index-url", modal_app.CPU_TORCH_INDEX]
    # CPU image: torch from the CPU source first, as the image installs it; then the same requirements.
    cpu = wheels(resolve([torch_line, *requirements], source))
    # CUDA image: requirements.txt from PyPI alone (--isolated: no local wheels or indexes configured here).
    pypi = ["--isolated", "--index-url", "https://pypi.org/simple"]
    missing: list[str] = []
    try:
        gpu = wheels(resolve(requirements, pypi))
    except Unresolvable as error:
        print(f"pip cannot resolve the CUDA image whole here ({error}); measuring it wheel by wheel.")
        gpu, missing = cuda_torch_piecewise(cpu, pypi, torch_line)
    cpu_total = report("image (scrape, daily_inference, web): CPU torch", cpu, args.top)
    gpu_total = report("gpu_image (train): CUDA torch", gpu, args.top)
    if missing:
        print(f"  not measured (no wheel on the indexes reached here): {', '.join(missing)}")
    print(f"\nCPU image / CUDA image: {cpu_total / 1e9:.2f} GB / {gpu_total / 1e9:.2f} GB of wheels "
          f"({gpu_total / max(cpu_total, 1):.1f}x{', CUDA image at least' if missing else ''}); "
          "the Debian base and the fonts are not counted.")


if __name__ == "__main__":
    main()
