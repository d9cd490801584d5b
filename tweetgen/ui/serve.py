"""Serve the app (``python app/app.py``, ``python -m tweetgen app``, a Space, or Modal's web endpoint).

``build_server`` is the one web application all of them run: our FastAPI app with the JSON API
(``tweetgen.ui.api``: ``/api/generate``, ``/api/runs``, ``/api/health``, ``/api/docs``) mounted at
``/api`` and the Gradio page at ``/``; an error no route answered is logged once and answered
with a sentence (``tweetgen.ui.server_errors``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tweetgen.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from tweetgen.store.port import FeatureStore
    from tweetgen.ui.predictor import Predictor


def build_server(store: FeatureStore, predictor: Predictor, username: str = "elonmusk", display_name: str | None = None) -> FastAPI:
    """The web application: the JSON API under ``/api`` and the Gradio page at ``/``."""
    import gradio as gr
    from fastapi import FastAPI

    from tweetgen.ui.api import api_app
    from tweetgen.ui.gradio_app import build_app, launch_options
    from tweetgen.ui.server_errors import AnswerUnexpectedErrors

    server = FastAPI(title="tweetgen", docs_url=None, redoc_url=None, openapi_url=None)
    server.mount("/api", api_app(store, predictor))  # before the page: every /api path is the API's
    demo = build_app(store, predictor, username=username, display_name=display_name)
    server = gr.mount_gradio_app(server, demo, path="/", **launch_options())
    server.add_middleware(AnswerUnexpectedErrors)
    return server


def server_from_settings(settings: Settings) -> FastAPI:
    """``build_server`` over the backends the settings name (the model loads on its first request)."""
    from tweetgen.store.factory import open_feature_store
    from tweetgen.ui.predictor import Predictor

    return build_server(open_feature_store(settings), Predictor.from_settings(settings), settings.username, settings.display_name)


def serve_app(settings: Settings, port: int | None = None, host: str | None = None) -> None:
    """Open the backends the settings name and serve the page until interrupted.

    It listens where ``settings.app_address(port, host)`` says: the flags, else Gradio's
    ``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT``, else 127.0.0.1:7860 (only this machine may
    connect), or every interface on a Space, whose proxy reaches the app. A Space without its
    Hopsworks settings shows which to set; on ZeroGPU, generation runs under ``@spaces.GPU``
    (``tweetgen.ui.space``).
    """
    # Gradio sends usage analytics unless told not to; this must happen before gradio is imported.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import uvicorn

    from tweetgen.store.factory import open_feature_store
    from tweetgen.ui.predictor import Predictor
    from tweetgen.ui.space import run_generation_on_zero_gpu, setup_page, setup_problem, start_zero_gpu

    host, port = settings.app_address(port, host)
    if problem := setup_problem(settings):
        print(f"Not set up: {problem}", flush=True)
        setup_page(settings, problem).launch(server_name=host, server_port=port)
        return
    predictor = Predictor.from_settings(settings)
    if settings.zero_gpu:
        run_generation_on_zero_gpu(predictor)
    server = build_server(open_feature_store(settings), predictor, settings.username, settings.display_name)
    if settings.zero_gpu:
        start_zero_gpu()
    print(f"Serving the app on http://{host}:{port}", flush=True)
    uvicorn.run(server, host=host, port=port, log_level="warning")
