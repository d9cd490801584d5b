"""The JSON API and the smoke test, over HTTP against the app served on 127.0.0.1.

The app is the one every deployment runs (``tweetgen.ui.serve.build_server``), over a store with
five monitor runs and recorded job runs, and a tiny champion model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from tests.conftest import REPO
from tests.fakes.app_server import demo_store, free_port, running_app
from tests.fakes.tiny_model import register_tiny_champion
from tweetgen.cli import main
from tweetgen.config import DEFAULT_MODEL_NAME
from tweetgen.pipelines.runs import JobRun
from tweetgen.pipelines.scheduler import utc_now
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.schema import JOB_RUNS
from tweetgen.ui.api import MAX_SEED, MAX_WAITING
from tweetgen.ui.predictor import MAX_PROMPT_CHARS, Predictor


def call(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, object]:
    """(status, parsed JSON) of one request."""
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def post(url: str, payload: object) -> tuple[int, object]:
    return call(url + "api/generate", "POST", json.dumps(payload).encode())


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    store = demo_store(root / "store", n_runs=5)
    now = utc_now()
    runs = [
        JobRun("inference", "inference-old", "modal", now - timedelta(hours=30), now - timedelta(hours=30) + timedelta(seconds=40), "ok", {"rows_written": 1}),
        JobRun("inference", "inference-new", "modal", now - timedelta(hours=2), now - timedelta(hours=2) + timedelta(seconds=3), "failed",
               error="There is no champion model."),
        JobRun("scrape", "scrape-1", "scheduler", now - timedelta(minutes=90), now - timedelta(minutes=89), "ok", {"inserted": 4}),
    ]
    for run in runs:
        store.insert(JOB_RUNS, run.frame())
    registry, _ = register_tiny_champion(root)
    with running_app(store, Predictor(lambda: registry, "tweet_gpt2", max_new_tokens=16), root / "gradio") as address:
        yield address


def test_generate_answers_with_the_documented_fields_and_is_reproducible(url) -> None:
    status, body = post(url, {"prompt": "  The rocket ", "seed": 7})
    assert status == 200 and set(body) == {"text", "model", "version", "seed", "prompt"}
    assert body["prompt"] == "The rocket" and body["seed"] == 7 and body["model"] == "tweet_gpt2" and body["version"] == 1
    assert body["text"].startswith("The rocket") and len(body["text"]) > len("The rocket")
    assert post(url, {"prompt": "The rocket", "seed": 7})[1]["text"] == body["text"]


def test_generate_without_a_prompt_or_seed_writes_a_random_tweet(url) -> None:
    status, body = call(url + "api/generate", "POST", b"")
    assert status == 200 and body["prompt"] == "" and 0 <= body["seed"] < 2**31 and body["text"]
    assert post(url, {"prompt": "The", "seed": MAX_SEED})[0] == 200  # the bound itself is fine


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{not json", 400, "not JSON"),
        (b"[1, 2]", 400, "not a JSON object"),
        (json.dumps({"prompt": "a", "temperature": 2}).encode(), 400, "Unknown field 'temperature'"),
        (json.dumps({"prompt": 5}).encode(), 400, "'prompt' is int, not a string"),
        (json.dumps({"prompt": 0}).encode(), 400, "'prompt' is int, not a string"),
        (json.dumps({"seed": "1"}).encode(), 400, "'seed' is \"1\", not a whole number"),
        (json.dumps({"seed": True}).encode(), 400, "'seed' is true, not a whole number"),
        (json.dumps({"seed": -1}).encode(), 422, f"'seed' is -1; send one from 0 to {MAX_SEED}"),
        (json.dumps({"seed": MAX_SEED + 1}).encode(), 422, "send one from 0"),
        (json.dumps({"prompt": "x" * (MAX_PROMPT_CHARS + 1)}).encode(), 422, f"101 characters long; send at most {MAX_PROMPT_CHARS}"),
        (json.dumps({"prompt": "two\nlines"}).encode(), 422, "control character U+000A at position 3"),
        (json.dumps({"prompt": "bell\u0007"}).encode(), 422, "U+0007"),
        (json.dumps({"prompt": "x" * 5000}).encode(), 413, "send at most 4,096"),
    ],
)
def test_generate_refuses_bad_input_with_one_sentence(url, body, status, says) -> None:
    got_status, got = call(url + "api/generate", "POST", body)
    assert (got_status, list(got)) == (status, ["error"])
    assert says in got["error"] and got["error"].endswith(".")


def test_runs_returns_the_newest_monitor_rows(url) -> None:
    status, body = call(url + "api/runs?last=2")
    assert status == 200 and len(body["runs"]) == 2
    newest, second = body["runs"]
    assert newest["generated_at"] > second["generated_at"] and newest["seed"] == 1004 and newest["arm"] == "champion"
    assert newest["tweet_created_at"].endswith("Z") and isinstance(newest["likes"], int)
    assert len(call(url + "api/runs")[1]["runs"]) == 5  # default 10, and the store holds 5
    for bad in ("0", "101", "abc", "-1"):
        status, body = call(url + f"api/runs?last={bad}")
        assert status == 422 and f"'last' is '{bad}'" in body["error"]


def test_health_gives_the_last_run_of_each_job_and_the_daily_warning(url) -> None:
    status, body = call(url + "api/health")
    assert status == 200 and body["status"] == "warning" and body["daily_job"] == "inference"
    assert [(j["job"], j["run_id"], j["status"]) for j in body["jobs"]] == [
        ("inference", "inference-new", "failed"), ("scrape", "scrape-1", "ok"),
    ]
    assert body["jobs"][0]["error"] == "There is no champion model." and body["jobs"][1]["counts"] == {"inserted": 4}
    assert 2 * 3600 - 60 < body["jobs"][0]["age_s"] < 2 * 3600 + 60
    assert "last succeeded 29 h ago, more than 26 hours" in body["warning"]


def test_the_page_is_still_served_at_the_root(url) -> None:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200 and "<html" in response.read().decode().lower()


def test_smoke_passes_against_the_app(url, capsys) -> None:
    assert main(["smoke", url]) == 0
    out = capsys.readouterr().out
    assert "ok     health    inference failed, scrape ok; warning: The daily job" in out
    assert "ok     generate  tweet_gpt2 v1 wrote 'The" in out and out.rstrip().endswith("passed")


def test_smoke_fails_against_a_dead_port_with_one_sentence(capsys) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    assert main(["smoke", dead, "--timeout", "5"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and lines[1] == f"smoke test of {dead}: failed"
    assert lines[0].startswith(f"FAILED health    Could not reach {dead}/api/health (") and "Connection refused" in lines[0]


def test_without_a_model_generate_answers_503_and_smoke_fails(tmp_path, capsys) -> None:
    empty = Predictor(lambda: LocalModelRegistry(tmp_path / "models"), "tweet_gpt2")
    with running_app(demo_store(tmp_path / "store", n_runs=1), empty, tmp_path / "gradio") as address:
        status, body = post(address, {"prompt": "The"})
        assert main(["smoke", address]) == 1
    assert status == 503 and "No trained model 'tweet_gpt2'" in body["error"]
    err = capsys.readouterr().err
    assert "ok     health" in err and "FAILED generate  POST /api/generate answered HTTP 503" in err


class BlockedPredictor(Predictor):
    """The champion's predictor whose generations wait until ``release`` is set (to fill the queue);
    ``wait_for(n)`` returns once ``n`` generations have reached it."""

    def __init__(self, registry, release: threading.Event) -> None:
        super().__init__(lambda: registry, "tweet_gpt2", max_new_tokens=4)
        self.release, self.arrived = release, threading.Semaphore(0)

    def generate(self, prompt: str, seed: int):
        self.arrived.release()
        self.release.wait(timeout=60)
        return super().generate(prompt, seed)

    def wait_for(self, n: int) -> None:
        assert all(self.arrived.acquire(timeout=60) for _ in range(n)), "the requests never reached the model"


def test_generate_answers_503_when_too_many_requests_wait(tmp_path) -> None:
    registry, _ = register_tiny_champion(tmp_path)
    release = threading.Event()
    predictor = BlockedPredictor(registry, release)
    app = running_app(demo_store(tmp_path / "store", n_runs=1), predictor, tmp_path / "gradio")
    with app as address, ThreadPoolExecutor(MAX_WAITING) as pool:
        waiting = [pool.submit(post, address, {"seed": i}) for i in range(MAX_WAITING - 1)]
        predictor.wait_for(MAX_WAITING - 1)  # one below the limit: the next request is taken
        waiting.append(pool.submit(post, address, {"seed": MAX_WAITING}))
        predictor.wait_for(1)
        status, body = post(address, {"seed": 99})  # at the limit: refused
        release.set()
        answered = [future.result()[0] for future in waiting]
    assert status == 503 and body["error"] == f"The model is busy with {MAX_WAITING} requests; try again in a few seconds."
    assert answered == [200] * MAX_WAITING


def test_the_app_command_serves_page_and_api_and_smoke_passes(tmp_path, capsys) -> None:
    register_tiny_champion(tmp_path, DEFAULT_MODEL_NAME)  # the registry under TWEETGEN_DATA_DIR/models, the default name
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TWEETGEN_DATA_DIR": str(tmp_path), "GRADIO_TEMP_DIR": str(tmp_path / "gradio")}
    app = subprocess.Popen([sys.executable, "-m", "tweetgen", "app", "--port", str(port)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and app.poll() is None:
            try:
                urllib.request.urlopen(url + "api/health", timeout=5).close()
                break
            except OSError:
                time.sleep(0.5)
        assert main(["smoke", url]) == 0, capsys.readouterr().err
    finally:
        app.terminate()
        output, _ = app.communicate(timeout=30)
    assert f"Serving the app on http://127.0.0.1:{port}" in output and "Traceback" not in output
    assert "smoke test of " + url.rstrip("/") + ": passed" in capsys.readouterr().out


@pytest.mark.parametrize("from_attributes", [False, True])
@pytest.mark.parametrize("value", ["text", 5, [1, 2]])
def test_a_body_that_is_no_object_is_said_so_however_pydantic_refuses_it(value, from_attributes) -> None:
    # FastAPI validates a body from its attributes (model_attributes_type); plain validation says model_type
    from pydantic import TypeAdapter, ValidationError

    from tweetgen.ui.api import EXAMPLE, GenerateRequest, _validation_sentence

    with pytest.raises(ValidationError) as refused:
        TypeAdapter(GenerateRequest | None).validate_python(value, from_attributes=from_attributes)
    (error,) = refused.value.errors()
    assert error["type"] == ("model_attributes_type" if from_attributes else "model_type")
    sentence = _validation_sentence([{**error, "loc": ("body", *error["loc"])}])
    assert sentence == (400, f"The body is not a JSON object; send an object such as {EXAMPLE}.")


def asgi_post(app, headers: list[tuple[bytes, bytes]], messages: list[dict]) -> tuple[int, bytes]:
    """(status, body) of ``POST /generate`` sent to ``app`` over ASGI itself, the request's
    messages given one by one; after the last, ``receive`` waits as a stalled client does."""
    import asyncio

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/generate", "raw_path": b"/generate", "root_path": "", "query_string": b"",
             "headers": [(b"host", b"api"), (b"content-type", b"application/json"), *headers],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    pending, sent = list(messages), []

    async def receive() -> dict:
        if pending:
            return pending.pop(0)
        await asyncio.sleep(30)
        raise AssertionError("the app waited for the body past its time limit")

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(message["status"] for message in sent if message["type"] == "http.response.start")
    return status, b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")


@pytest.fixture
def api_alone(tmp_path):
    """The API as its own application, with no request limits around it (and no model)."""
    from tweetgen.store.local import LocalFeatureStore
    from tweetgen.ui.api import api_app

    return api_app(LocalFeatureStore(tmp_path), Predictor(lambda: LocalModelRegistry(tmp_path / "models"), DEFAULT_MODEL_NAME))


def test_the_api_on_its_own_refuses_a_body_framed_twice(api_alone) -> None:
    # served by the app, the request limits refuse such a request first; mounted on its own, the API does
    body = {"type": "http.request", "body": b'{"seed": 1}', "more_body": False}
    twice = asgi_post(api_alone, [(b"content-length", b"11"), (b"transfer-encoding", b"chunked")], [body])
    assert twice == (400, b'{"error":"The request has both Content-Length and Transfer-Encoding; send one of them."}')
    once = asgi_post(api_alone, [(b"content-length", b"11")], [body])  # the premise: one framing passes (to no model: 503)
    assert once[0] == 503 and b"Content-Length" not in once[1]


def test_the_api_on_its_own_answers_a_stalled_body_408_and_a_client_gone_mid_body_400(api_alone, monkeypatch) -> None:
    from tweetgen.ui import api

    monkeypatch.setattr(api, "BODY_TIMEOUT_S", 0.25)
    part = {"type": "http.request", "body": b'{"prompt": ', "more_body": True}
    assert asgi_post(api_alone, [(b"content-length", b"50")], [part]) == (
        408, b'{"error":"The request body did not arrive within 0.25 s; send it at once."}')
    assert asgi_post(api_alone, [(b"content-length", b"50")], [part, {"type": "http.disconnect"}]) == (400, b"")


def test_a_refusal_of_another_field_names_its_place_and_pydantics_words() -> None:
    from tweetgen.ui.api import _validation_sentence

    error = {"type": "missing", "loc": ("body", "style", 0), "msg": "Field required", "input": {}}
    assert _validation_sentence([error]) == (422, "body.style.0 is not valid (Field required).")


@pytest.mark.parametrize("payload", [{"prompt": None, "seed": 3}, {"prompt": "", "seed": 3}, {"prompt": "   ", "seed": 3}, {"seed": 3}])
def test_a_null_blank_or_missing_prompt_is_no_prompt(url, payload) -> None:
    status, body = post(url, payload)
    assert status == 200 and body["prompt"] == "" and body["seed"] == 3
    assert body["text"] == post(url, {"seed": 3})[1]["text"]  # the same random tweet for the same seed


@pytest.mark.parametrize("extra", [0, 1])
def test_the_api_on_its_own_caps_a_body_without_a_length_as_it_streams(api_alone, extra) -> None:
    from tweetgen.ui.api import MAX_BODY_BYTES

    body = b'{"seed": 1}'.ljust(MAX_BODY_BYTES + extra)  # JSON allows the padding
    halves = [{"type": "http.request", "body": body[:2000], "more_body": True}, {"type": "http.request", "body": body[2000:], "more_body": False}]
    status, answer = asgi_post(api_alone, [(b"transfer-encoding", b"chunked")], halves)
    if extra:
        assert (status, answer) == (413, b'{"error":"The body is over 4,096 bytes; send at most 4,096."}')
    else:
        assert status == 503 and b"4,096" not in answer  # the bound itself is read (and reaches the missing model)
