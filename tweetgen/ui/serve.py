"""Serve the Gradio app (``python app/app.py``, ``python -m tweetgen app``, or a Space)."""

from __future__ import annotations

import os

from tweetgen.config import Settings


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
    from tweetgen.store.factory import open_feature_store
    from tweetgen.ui.gradio_app import build_app, launch_options
    from tweetgen.ui.predictor import Predictor
    from tweetgen.ui.space import run_generation_on_zero_gpu, setup_page, setup_problem

    if problem := setup_problem(settings):
        print(f"Not set up: {problem}", flush=True)
        demo = setup_page(settings, problem)
    else:
        predictor = Predictor.from_settings(settings)
        if settings.zero_gpu:
            run_generation_on_zero_gpu(predictor)
        demo = build_app(
            open_feature_store(settings), predictor, username=settings.username, display_name=settings.display_name,
        )
    host, port = settings.app_address(port, host)
    print(f"Serving the app on http://{host}:{port}", flush=True)
    demo.launch(server_name=host, server_port=port, **launch_options())
