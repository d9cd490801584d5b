"""Serve the Gradio app (``python app/app.py``, ``python -m tweetgen app``, or a Space)."""

from __future__ import annotations

import os

from tweetgen.config import Settings


def serve_app(settings: Settings, port: int | None = None, host: str | None = None) -> None:
    """Open the backends the settings name and serve the page until interrupted.

    ``port`` and ``host`` come from flags; without them Gradio's own ``GRADIO_SERVER_PORT`` and
    ``GRADIO_SERVER_NAME`` apply (default 7860 on 127.0.0.1, so only this machine may connect). A
    Space reaches the app through its proxy, so there it listens on every interface. A Space
    without its Hopsworks secrets shows which to set; on ZeroGPU, generation runs under
    ``@spaces.GPU`` (``tweetgen.ui.space``).
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
    demo.launch(server_name=host or ("0.0.0.0" if settings.space_id else None), server_port=port, **launch_options())
