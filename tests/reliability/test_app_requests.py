"""The app over HTTP on 127.0.0.1: no uploads, no large bodies, no file outside its cache, a swept cache."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.app_server import demo_store, free_port
from tests.fakes.tiny_model import register_tiny_champion
from tweetgen.ui.predictor import Predictor
from tweetgen.ui.request_limits import CACHE_SWEEP, MAX_BODY_BYTES

SWEEP = (1, 2)  # every second, files older than two seconds: the production sweep, sped up


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """(url, root, gradio temp dir) of the app launched as `serve_app` launches it, with a fast sweep."""
    root = tmp_path_factory.mktemp("app")
    store = demo_store(root / "store", n_runs=2)
    registry, _ = register_tiny_champion(root)
    temp_dir = root / "gradio"
    saved = {name: os.environ.get(name) for name in ("GRADIO_TEMP_DIR", "GRADIO_ANALYTICS_ENABLED")}
    os.environ.update(GRADIO_TEMP_DIR=str(temp_dir), GRADIO_ANALYTICS_ENABLED="False")
    from tweetgen.ui.gradio_app import build_app, launch_options

    demo = build_app(store, Predictor(lambda: registry, "tweet_gpt2", max_new_tokens=8), cache_sweep=SWEEP)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
    try:
        yield f"http://127.0.0.1:{port}/", root, temp_dir
    finally:
        demo.close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_uploads_are_refused_before_anything_is_stored(app) -> None:
    url, _, temp_dir = app
    before = set(files_in(temp_dir))
    for route in ("gradio_api/upload", "gradio_api/upload/", "gradio_api/process_recording"):
        response = httpx.post(url + route, files={"files": ("notes.html", b"<script>alert(1)</script>")})
        assert (response.status_code, response.text) == (403, "This app accepts no file uploads.")
    multipart = httpx.post(url + "gradio_api/queue/join", files={"data": ("x.bin", b"\x00" * 10)})
    assert multipart.status_code == 403
    assert set(files_in(temp_dir)) == before


def test_bodies_are_capped(app) -> None:
    url, _, _ = app
    big = httpx.post(url + "gradio_api/queue/join", content=b"{" + b" " * MAX_BODY_BYTES + b"}",
                     headers={"content-type": "application/json"})
    assert (big.status_code, big.text) == (413, f"The request body is larger than {MAX_BODY_BYTES:,} bytes.")

    def chunks():
        yield b'{"data": []}'

    unknown = httpx.post(url + "gradio_api/queue/join", content=chunks(), headers={"content-type": "application/json"})
    assert unknown.status_code == 411


def test_no_file_outside_gradios_cache_is_served(app) -> None:
    url, root, _ = app
    for path in (root / "store" / "tweets_1" / "_tweetgen_group.json", root / "models" / "tweet_gpt2" / "champion.json"):
        assert path.is_file()
        response = httpx.get(f"{url}gradio_api/file={path}")
        assert response.status_code in (403, 404) and path.read_text()[:20] not in response.text


def test_generated_images_are_swept_from_the_cache(app) -> None:
    from gradio_client import Client

    url, root, temp_dir = app
    client = Client(url, verbose=False, download_files=str(root / "downloads"))
    for prompt in ("The rocket", "Mars", "Cars"):
        client.predict(prompt, api_name="/generate")
    images = [p for p in files_in(temp_dir) if p.suffix == ".png"]
    assert images, "the app stored no image: the sweep below would prove nothing"
    deadline = time.monotonic() + 15
    while any(p.exists() for p in images) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not any(p.exists() for p in images)


def test_the_production_sweep_is_short_and_the_limits_reach_launch() -> None:
    from tweetgen.ui.gradio_app import launch_options

    every_s, older_than_s = CACHE_SWEEP
    assert every_s <= 600 and older_than_s <= 3600
    options = launch_options()
    assert options["max_file_size"] == MAX_BODY_BYTES
    assert [m.cls.__name__ for m in options["app_kwargs"]["middleware"]] == ["RequestLimits"]
