"""Generation under ZeroGPU's real worker: ``spaces``' own ``regular_function_wrapper`` forks the
worker, sends it the call, and reads its outcome back from the result queue, as on a ZeroGPU Space.

Two parts of ``spaces`` cannot run here and are replaced: the device API's scheduler (``client
.schedule`` / ``release``: an HTTP service of Hugging Face's) and the worker's GPU start-up
(``wrappers.worker_init``: it attaches a CUDA device). Everything between them is ``spaces``' code:
the fork, the queues, ``exception_result`` and the ``gr.Error("ZeroGPU worker error", ...)`` an
exception in the worker becomes.
"""

from __future__ import annotations

import multiprocessing
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest
from fastapi.testclient import TestClient

from tests.fakes.tiny_model import register_tiny_champion
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.store.local import LocalFeatureStore
from tweetgen.ui.predictor import ModelUnavailableError, Predictor
from tweetgen.ui.serve import build_server
from tweetgen.ui.space import run_generation_on_zero_gpu
from tweetgen.ui.views import generate_from_prompt, message_image


@pytest.fixture
def zero_gpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict]]:
    """``spaces.GPU`` as on ZeroGPU, with the scheduler and the GPU start-up replaced; yields the
    releases the wrapper reported (``fail=True`` when the worker's task failed)."""
    import spaces
    from spaces.config import Config

    # spaces.zero.torch is the CUDA side (it patches torch's CUDA calls); CPU torch has none of them.
    cuda_side = types.ModuleType("spaces.zero.torch")
    cuda_side.__dict__.update(unpatch=lambda: None, init=lambda uuid: None, size=lambda: 0, move=lambda callback=None: None,
                              enter_mode=lambda: None, is_in_bad_fork=lambda: False)
    monkeypatch.setitem(sys.modules, "spaces.zero.torch", cuda_side)
    from spaces.zero import client, wrappers
    from spaces.zero.api import ScheduleResponse

    released: list[dict] = []
    monkeypatch.setattr(Config, "zero_gpu", True)
    monkeypatch.setattr(client, "schedule", lambda task_id, request=None, duration=None, gpu_size=None: ScheduleResponse(
        idle=True, nvidiaIndex=0, nvidiaUUID="GPU-twin", allowToken="twin-token"))
    monkeypatch.setattr(client, "release", lambda token, fail=False, allow_404=False: released.append({"fail": fail}))
    monkeypatch.setattr(client, "get_duration_seconds", lambda duration, size: 60)
    monkeypatch.setattr(client, "duration_warning", lambda: None)
    monkeypatch.setattr(wrappers, "worker_init", lambda **kwargs: None)
    assert spaces.GPU(duration=5)(len) is not len  # the premise: the decorator wraps, as on ZeroGPU
    yield released
    for child in multiprocessing.active_children():  # the forked workers wait for the next call
        child.kill()
        child.join(5)



def test_the_premise_an_exception_in_the_worker_reaches_the_caller_as_a_bare_gr_error(zero_gpu) -> None:
    import spaces

    def no_model(prompt: str, seed: int) -> str:
        raise ModelUnavailableError("No trained model 'tweet_gpt2' yet.")

    with pytest.raises(gr.Error) as caught:
        spaces.GPU(duration=5)(no_model)("The", 1)
    assert caught.value.title == "ZeroGPU worker error" and caught.value.message == "ModelUnavailableError"
    assert zero_gpu == [{"fail": True}]


def test_without_a_model_the_page_shows_its_message_image_and_the_api_answers_503(zero_gpu, tmp_path: Path) -> None:
    predictor = Predictor(lambda: LocalModelRegistry(tmp_path / "models"), "tweet_gpt2")
    run_generation_on_zero_gpu(predictor, device="cpu")

    with pytest.raises(ModelUnavailableError, match="No trained model 'tweet_gpt2'") as caught:
        predictor.generate("The rocket", seed=1)  # the sentence, raised again in this process
    image = generate_from_prompt("The rocket", predictor)
    assert image.tobytes() == message_image(str(caught.value), "light").tobytes()  # the page's message card
    server = build_server(LocalFeatureStore(tmp_path / "store"), predictor)
    with TestClient(server) as http:
        answer = http.post("/api/generate", json={"prompt": "The rocket", "seed": 1})
    assert answer.status_code == 503 and "No trained model 'tweet_gpt2'" in answer.json()["error"]
    assert zero_gpu and not any(release["fail"] for release in zero_gpu)  # the worker's task itself succeeded


def test_with_a_model_the_worker_writes_the_tweet(zero_gpu, tmp_path: Path) -> None:
    registry, version = register_tiny_champion(tmp_path)
    predictor = Predictor(lambda: registry, "tweet_gpt2", max_new_tokens=8)
    run_generation_on_zero_gpu(predictor, device="cpu")
    text, used = predictor.generate("The rocket", seed=1)
    assert text.startswith("The rocket") and used == version
    assert zero_gpu == [{"fail": False}]
