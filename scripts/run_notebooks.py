"""Run every notebook on the embedded default and save it with its outputs: ``make notebooks``.

Each notebook runs top to bottom in a fresh kernel of this interpreter, from its own folder as
Jupyter would, on the local backend and offline (credentials are removed from the environment).
Its outputs are kept, so a reader on GitHub sees the tables and plots; the repository's path is
replaced by ``.`` and a notebook whose outputs still hold a machine path or a secret is refused.

    python scripts/run_notebooks.py                        # all of them
    python scripts/run_notebooks.py notebooks/02_*.ipynb   # some
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [ROOT / "train_model.ipynb", *sorted((ROOT / "notebooks").glob("*.ipynb"))]
SECRETS = ("HOPSWORKS_API_KEY", "X_BEARER_TOKEN", "MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "TWEETGEN_SMTP_PASSWORD")
MACHINE_PATH = re.compile(r"/(?:root|home|tmp|Users|work)/")
CELL_TIMEOUT_S = 900


class ThisPythonKernelManager(KernelManager):
    """Starts the ``python3`` kernel with this interpreter, whatever kernelspecs are installed."""

    @property
    def kernel_spec(self) -> KernelSpec:
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        return KernelSpec(argv=argv, display_name="Python 3", language="python", name="python3")


def offline_environment() -> dict[str, str]:
    """This process's environment on the local backend, without credentials, never reaching the Hub."""
    secrets = {name: os.environ.pop(name) for name in SECRETS if os.environ.get(name)}
    os.environ.update(TWEETGEN_BACKEND="local", TWEETGEN_LIVE_SOURCE="replay", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    os.environ.pop("TWEETGEN_DATA_DIR", None)  # each notebook uses its own folder under data/notebooks/
    return secrets


def run(path: Path, secrets: dict[str, str]) -> None:
    """Execute ``path`` in place and write it back with scrubbed outputs."""
    nb = nbformat.read(path, as_version=4)
    started = time.monotonic()
    NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", kernel_manager_class=ThisPythonKernelManager,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timestamps would change every run
        if "outputs" in cell:
            cell.outputs = merge_streams(cell.outputs)
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                output.data.pop("image/jpeg", None)  # a PIL image brings both; one picture is enough
            scrub(output, path, secrets)
    nbformat.write(nb, path)
    print(f"{path.relative_to(ROOT)}: {time.monotonic() - started:.0f} s", flush=True)


def merge_streams(outputs: list[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    """Join consecutive outputs of one stream and keep what a carriage return leaves on each line,
    as Jupyter shows it: a progress bar ends as its last state, not as one line per update."""
    merged: list[nbformat.NotebookNode] = []
    for output in outputs:
        if output.output_type == "stream" and merged and merged[-1].output_type == "stream" and merged[-1].name == output.name:
            merged[-1].text += output.text
        else:
            merged.append(output)
    for output in merged:
        if output.output_type == "stream":
            output.text = "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in output.text.split("\n"))
    return merged


def scrub(output: nbformat.NotebookNode, path: Path, secrets: dict[str, str]) -> None:
    """Replace the repository's path by ``.`` in text outputs; refuse machine paths and secrets."""
    fields = [("text", output)] if "text" in output else []
    fields += [(kind, output.data) for kind in output.get("data", {}) if kind.startswith("text/")]
    for key, holder in fields:
        text = holder[key] if isinstance(holder[key], str) else "".join(holder[key])
        text = text.replace(str(ROOT), ".")
        if any(value in text for value in secrets.values()):
            raise SystemExit(f"{path.name}: an output holds a secret; fix the cell that prints it.")
        if MACHINE_PATH.search(text):
            raise SystemExit(f"{path.name}: an output holds a machine path: {MACHINE_PATH.search(text).group(0)}...")
        holder[key] = text


def main(paths: list[str]) -> None:
    secrets = offline_environment()
    for path in [Path(p).resolve() for p in paths] or NOTEBOOKS:
        run(path, secrets)


if __name__ == "__main__":
    main(sys.argv[1:])
