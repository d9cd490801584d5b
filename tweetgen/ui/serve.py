"""Serve the app (``python app/app.py``, ``python -m tweetgen app``, a Space, or Modal's web endpoint).

``build_server`` is the one web application all of them run: our FastAPI app with the JSON API
(``tweetgen.ui.api``: ``/api/generate``, ``/api/runs``, ``/api/health``, ``/api/docs``) mounted at
``/api`` and the Gradio page at ``/``; an error no route answered is logged once and answered
with a sentence (``tweetgen.ui.server_errors``).
"""

from __future__ import annotations

import errno
import os
import socket
from typing import TYPE_CHECKING

from tweetgen.config import Settings
from tweetgen.errors import ConfigError

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


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for the server to listen on, or one sentence (``ConfigError``)
    naming the port and how to pick another when it cannot be bound (in use, not allowed).

    It is bound, not yet listening: until the server is ready a client is refused at once, as
    before, rather than left waiting on a connection nobody serves yet."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        raise ConfigError(f"The app cannot listen on {host!r} ({error.strerror}); pass another --host or GRADIO_SERVER_NAME.") from None
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a restart need not wait out TIME_WAIT
    try:
        listener.bind(address)
    except OSError as error:
        listener.close()
        why = "is already in use (another app?)" if error.errno == errno.EADDRINUSE else f"cannot be opened ({error.strerror})"
        other = port + 1 if port < 65535 else 7861
        raise ConfigError(
            f"Port {port} on {host} {why}; pick another with --port {other} or GRADIO_SERVER_PORT={other}, "
            "or stop what holds it."
        ) from None
    return listener


def serve_app(settings: Settings, port: int | None = None, host: str | None = None) -> None:
    """Open the backends the settings name and serve the page until interrupted.

    It listens where ``settings.app_address(port, host)`` says: the flags, else Gradio's
    ``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT``, else 127.0.0.1:7860 (only this machine may
    connect), or every interface on a Space, whose proxy reaches the app. A Space without its
    Hopsworks settings shows which to set; on ZeroGPU, generation runs under ``@spaces.GPU``
    (``tweetgen.ui.space``). A port that is taken is one sentence (``ConfigError``) before anything
    heavy is imported or loaded.
    """
    host, port = settings.app_address(port, host)
    listener = listening_socket(host, port)
    # Gradio sends usage analytics unless told not to; this must happen before gradio is imported.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import uvicorn

    from tweetgen.store.factory import open_feature_store
    from tweetgen.ui.predictor import Predictor
    from tweetgen.ui.space import run_generation_on_zero_gpu, setup_page, setup_problem, start_zero_gpu

    if problem := setup_problem(settings):
        print(f"Not set up: {problem}", flush=True)
        listener.close()  # Gradio's own server listens for the setup page
        setup_page(settings, problem).launch(server_name=host, server_port=port)
        return
    predictor = Predictor.from_settings(settings)
    if settings.zero_gpu:
        run_generation_on_zero_gpu(predictor)
    server = build_server(open_feature_store(settings), predictor, settings.username, settings.display_name)
    if settings.zero_gpu:
        start_zero_gpu()
    print(f"Serving the app on http://{host}:{port}", flush=True)
    uvicorn.Server(uvicorn.Config(server, log_level="warning")).run(sockets=[listener])
