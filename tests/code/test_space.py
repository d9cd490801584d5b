"""The Hugging Face Space: the folder scripts/build_space.py assembles, started as a Space starts it
(its own app.py, SPACE_ID and SYSTEM=spaces set, its own copy of the package), fetched over HTTP;
Gradio's port and host conventions; and generation under ``@spaces.GPU`` on ZeroGPU."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import CREDENTIALS, REPO
from tests.fakes.app_server import free_port
from tests.fakes.tiny_model import register_tiny_champion
from tweetgen.config import Settings
from tweetgen.ui.predictor import Predictor
from tweetgen.ui.space import GPU_SECONDS, run_generation_on_zero_gpu, setup_problem

pytestmark = pytest.mark.slow
DEV_TOOLS = ("pytest", "playwright", "ruff", "nbclient", "ipykernel", "accelerate", "pyppmd", "vcrpy", "modal", "gradio==")


def build(dest: Path, hardware: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "scripts" / "build_space.py"), str(dest), "--hardware", hardware],
                          capture_output=True, text=True, timeout=120, cwd=REPO)


def front_matter(readme: str) -> dict[str, str]:
    header = readme.split("---\n")[1]
    return dict(line.split(": ", 1) for line in header.splitlines())


def requirement_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def test_the_zerogpu_folder_pins_a_supported_cuda_torch_and_spaces(tmp_path: Path) -> None:
    done = build(tmp_path / "space", "zerogpu")
    assert done.returncode == 0, done.stderr
    space = tmp_path / "space"
    meta = front_matter((space / "README.md").read_text())
    gradio_pin = re.search(r"^gradio==(\S+)$", (REPO / "requirements.txt").read_text(), re.M).group(1)
    assert (meta["sdk"], meta["sdk_version"], meta["app_file"]) == ("gradio", gradio_pin, "app.py")
    assert (meta["python_version"], meta["suggested_hardware"]) == ('"3.12"', "zero-a10g")
    lines = requirement_lines(space / "requirements.txt")
    assert lines[:2] == ["torch==2.11.0", "spaces==0.51.3"]  # a version ZeroGPU lists; PyPI's CUDA build
    assert not [line for line in lines if line.startswith("-")]
    assert "transformers==5.23.0" in lines and "hopsworks[python]==5.2.1" in lines
    assert not [line for line in lines if line.startswith(DEV_TOOLS)]
    assert (space / "tweetgen" / "ui" / "assets" / "avatar.png").is_file()
    assert (space / "packages.txt").read_text() == (REPO / "app" / "packages.txt").read_text()
    assert not list(space.rglob("__pycache__")) and not list(space.rglob("*.pyc"))


def test_the_cpu_folder_takes_torch_from_the_cpu_index(tmp_path: Path) -> None:
    assert build(tmp_path / "space", "cpu").returncode == 0
    lines = requirement_lines(tmp_path / "space" / "requirements.txt")
    assert lines[:2] == ["--extra-index-url https://download.pytorch.org/whl/cpu", "torch==2.13.0+cpu"]
    assert not [line for line in lines if line.startswith(("spaces", "nvidia", "torch=="))][1:]
    assert front_matter((tmp_path / "space" / "README.md").read_text())["suggested_hardware"] == "cpu-basic"


def test_a_rebuild_replaces_an_earlier_build_but_never_another_folder(tmp_path: Path) -> None:
    assert build(tmp_path / "space", "cpu").returncode == 0
    (tmp_path / "space" / "stale.txt").write_text("from an earlier build")
    assert build(tmp_path / "space", "zerogpu").returncode == 0
    assert not (tmp_path / "space" / "stale.txt").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    refused = build(tmp_path / "mine", "cpu")
    assert refused.returncode == 1 and "is not empty and is not an earlier Space build" in refused.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def clean_environment(**values: str) -> dict[str, str]:
    """This process's environment without credentials or PYTHONPATH (a Space has neither), plus ``values``."""
    env = {k: v for k, v in os.environ.items() if k not in (*CREDENTIALS, "PYTHONPATH", "TWEETGEN_BACKEND")}
    return {**env, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **values}


@contextmanager
def serving(command: list[str], cwd: Path, env: dict[str, str], url: str, timeout_s: float = 180) -> Iterator[str]:
    """Start ``command`` and wait until ``url`` answers; yield the page; stop the process."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield _first_answer(process, url, timeout_s)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _first_answer(process: subprocess.Popen[str], url: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.terminate()
                pytest.fail(f"{' '.join(map(str, process.args))} did not serve {url}: {process.communicate()[0][-3000:]}")
            time.sleep(0.5)


def test_the_assembled_space_starts_like_a_space_and_says_which_secrets_to_set(tmp_path: Path) -> None:
    space = tmp_path / "space"
    assert build(space, "cpu").returncode == 0
    port = free_port()
    env = clean_environment(SPACE_ID="someone/tweetgen", SYSTEM="spaces", GRADIO_SERVER_PORT=str(port))
    where = subprocess.run([sys.executable, "-c", "import tweetgen; print(tweetgen.__file__)"], cwd=space, env=env,
                           capture_output=True, text=True, timeout=60)
    assert Path(where.stdout.strip()) == space / "tweetgen" / "__init__.py"  # the Space's own copy, not this checkout

    with (
        serving([sys.executable, "app.py"], space, env, f"http://127.0.0.1:{port}/") as page,
        urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=10) as response,
    ):
        config = json.loads(response.read())
    assert "<html" in page.lower()
    (text,) = [c["props"]["value"] for c in config["components"] if c["type"] == "markdown"]
    assert text.startswith("# This Space is not set up yet")
    assert "https://huggingface.co/spaces/someone/tweetgen/settings" in text
    for name in ("TWEETGEN_BACKEND", "HOPSWORKS_API_KEY", "HOPSWORKS_PROJECT"):
        assert f"`{name}`" in text
    assert "make demo" not in text


def test_setup_problem_names_what_a_space_lacks() -> None:
    space = {"SPACE_ID": "someone/tweetgen"}
    assert setup_problem(Settings.from_mapping({})) is None  # not on a Space
    assert "TWEETGEN_BACKEND is not set to hopsworks" in setup_problem(Settings.from_mapping(space))
    half = Settings.from_mapping({**space, "TWEETGEN_BACKEND": "hopsworks", "HOPSWORKS_PROJECT": "p"})
    assert setup_problem(half) == "This Space reads Hopsworks, but HOPSWORKS_API_KEY is not set."
    ready = Settings.from_mapping({**space, "TWEETGEN_BACKEND": "hopsworks", "HOPSWORKS_PROJECT": "p", "HOPSWORKS_API_KEY": "k"})
    assert setup_problem(ready) is None


def test_gradio_server_port_and_name_are_honoured_and_flags_override_them(tmp_path: Path) -> None:
    port, flag_port = free_port(), free_port()
    env = clean_environment(GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.2", TWEETGEN_DATA_DIR=str(tmp_path),
                            PYTHONPATH=str(REPO))
    with serving([sys.executable, "app/app.py"], REPO, env, f"http://127.0.0.2:{port}/") as page:
        assert "<html" in page.lower()
        with pytest.raises(urllib.error.URLError):  # bound to GRADIO_SERVER_NAME only
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
    command = [sys.executable, "-m", "tweetgen", "app", "--port", str(flag_port), "--host", "127.0.0.1"]
    with serving(command, REPO, env, f"http://127.0.0.1:{flag_port}/") as page:
        assert "<html" in page.lower()


def test_on_zerogpu_the_champion_is_loaded_first_and_generation_runs_under_spaces_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import spaces

    registry, version = register_tiny_champion(tmp_path)
    predictor = Predictor(lambda: registry, "tweet_gpt2", max_new_tokens=8)
    real_gpu, granted = spaces.GPU, []

    def recording_gpu(task=None, *, duration=None, **options):  # the real decorator, called through
        granted.append((duration, predictor.loaded))
        return real_gpu(task, duration=duration, **options)

    monkeypatch.setattr(spaces, "GPU", recording_gpu)
    run_generation_on_zero_gpu(predictor, device="cpu")  # this machine has no GPU; ZeroGPU passes "cuda"
    assert granted == [(GPU_SECONDS, True)]  # loaded before the decorator: the weights travel to the GPU
    text, used = predictor.generate("The rocket", seed=1)
    assert text.startswith("The rocket") and used == version

