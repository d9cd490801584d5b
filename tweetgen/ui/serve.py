"""Serve the Gradio app (``python app/app.py``, ``python -m tweetgen app``, or a Space)."""

from __future__ import annotations

import os

from tweetgen.config import Settings


def serve_app(settings: Settings, port: int = 7860) -> None:
    """Open the backends the settings name and serve the page until interrupted.

    Locally only this machine may connect (127.0.0.1). A Space (``SPACE_ID`` set) reaches the
    app through its proxy, so there it listens on every interface.
    """
    # Gradio sends usage analytics unless told not to; this must happen before gradio is imported.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from tweetgen.store.factory import open_feature_store
    from tweetgen.ui.gradio_app import build_app, launch_options
    from tweetgen.ui.predictor import Predictor

    demo = build_app(
        open_feature_store(settings), Predictor.from_settings(settings), username=settings.username,
        display_name=settings.display_name,
    )
    host = "0.0.0.0" if settings.space_id else "127.0.0.1"
    print(f"Serving the app on http://127.0.0.1:{port}" if not settings.space_id else "Serving the app on the Space", flush=True)
    demo.launch(server_name=host, server_port=port, **launch_options())
