"""Serve the app (``python app/app.py``, ``python -m tweetgen app``, a Space, or Modal's web endpoint).

``build_server`` is the one web application all of them run: our FastAPI app with the JSON API
(``tweetgen.ui.api``: ``/api/generate``, ``/api/runs``, ``/api/health``) and the Gradio page
mounted at ``/``.
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

    from tweetgen.ui.api import api_router
    from tweetgen.ui.gradio_app import build_app, launch_options

    server = FastAPI(title="tweetgen", docs_url=None, redoc_url=None, openapi_url=None)
    server.include_router(api_router(store, predictor))
    demo = build_app(store, predictor, username=username, display_name=display_name)
    return gr.mount_gradio_app(server, demo, path="/", **launch_options())


def server_from_settings(settings: Settings) -> FastAPI:
    """``build_server`` over the backends the settings name (the model loads on its first request)."""
    from tweetgen.store.factory import open_feature_store
    from tweetgen.ui.predictor import Predictor

    return build_server(open_feature_store(settings), Predictor.from_settings(settings), settings.username, settings.display_name)


def serve_app(settings: Settings, port: int = 7860) -> None:
    """Open the backends the settings name and serve the app until interrupted.

    Locally only this machine may connect (127.0.0.1). A Space (``SPACE_ID`` set) reaches the
    app through its proxy, so there it listens on every interface.
    """
    # Gradio sends usage analytics unless told not to; this must happen before gradio is imported.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import uvicorn

    server = server_from_settings(settings)
    host = "0.0.0.0" if settings.space_id else "127.0.0.1"
    print(f"Serving the app on http://127.0.0.1:{port}" if not settings.space_id else "Serving the app on the Space", flush=True)
    uvicorn.run(server, host=host, port=port, log_level="warning")
