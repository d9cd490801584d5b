"""Shared test settings: every test runs offline, with its own data directory and working dir.

Credentials are removed from the environment so no test reaches a service by accident; the
opt-in live tests under tests/integration keep them when TWEETGEN_LIVE_TESTS=1 is set.
"""

import os
from pathlib import Path

import pytest
import torch  # every test session sets its threads (below); imported here, a mutation run's fork server shares it

from tweetgen.config import NOTIFY_VARIABLES

CREDENTIALS = ("HOPSWORKS_API_KEY", "HOPSWORKS_PROJECT", "HOPSWORKS_HOST", "X_BEARER_TOKEN", "MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tiny test models gain nothing from a second thread, and spinning threads stall when other
    processes hold the cores: one thread keeps the suite fast on a busy machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.delenv("TWEETGEN_BACKEND", raising=False)
    for name in NOTIFY_VARIABLES:  # no test sends mail or calls a webhook unless it sets them itself
        monkeypatch.delenv(name, raising=False)
    if os.environ.get("TWEETGEN_LIVE_TESTS") != "1":
        for name in CREDENTIALS:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TWEETGEN_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    # huggingface_hub reads HF_HUB_OFFLINE once, when imported (possibly before this fixture):
    # set its constant too, so no test ever tries to reach the Hub.
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
