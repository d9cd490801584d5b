"""The app on a Hugging Face Space: the setup page a Space without secrets shows, and ZeroGPU.

A Space's disk is not kept, so the app there reads the monitor group and the model from
Hopsworks. Until the Space's secrets say so, ``setup_problem`` names what is missing and the
Space shows ``setup_page`` instead of an empty app that would point at ``make demo``.

On ZeroGPU hardware (``SPACES_ZERO_GPU``) a GPU is attached only while a function decorated with
``@spaces.GPU`` runs, in a forked process. ``run_generation_on_zero_gpu`` loads the champion
before the app starts (ZeroGPU records its move to ``cuda`` and makes it when a GPU is attached)
and runs the predictor's ``generate`` under the decorator. ``spaces`` is imported here, on ZeroGPU
only: the model code never knows where it runs, and on a CPU Space or a laptop nothing changes.

The decorated function returns its outcome, a tweet or the project's error, instead of raising:
an exception raised in the worker reaches the caller as ``gr.Error("ZeroGPU worker error",
"<ClassName>")`` (spaces ``zero/wrappers.py``, ``regular_function_wrapper``), which would lose
the sentence, the page's message image for a missing model, and the API's 503 and 422. The
error is raised again in the app's process, where the page and the API handle it as anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from tweetgen.config import Settings
from tweetgen.errors import TweetgenError
from tweetgen.ui.predictor import ModelUnavailableError, Predictor

GPU_SECONDS = 60  # ZeroGPU's default grant per call; one tweet takes a fraction of it
SECRETS_HELP = """\
| name | kind | value |
|---|---|---|
| `TWEETGEN_BACKEND` | variable | `hopsworks` |
| `HOPSWORKS_API_KEY` | **secret** | an API key of your Hopsworks project (Account settings -> API keys) |
| `HOPSWORKS_PROJECT` | variable | the project's name |
| `HOPSWORKS_HOST` | variable | only if your cluster is not `eu-west.cloud.hopsworks.ai` |
"""


def setup_problem(settings: Settings) -> str | None:
    """Why the app cannot work on this Space yet, in one sentence; ``None`` off a Space or when set up."""
    if not settings.space_id:
        return None
    if settings.backend != "hopsworks":
        return ("This Space has no feature store yet: its disk is not kept between restarts, so the app reads "
                "the generated tweets and the model from Hopsworks, and TWEETGEN_BACKEND is not set to hopsworks.")
    missing = [name for name, value in (("HOPSWORKS_API_KEY", settings.hopsworks_api_key),
                                        ("HOPSWORKS_PROJECT", settings.hopsworks_project)) if not value]
    if missing:
        return f"This Space reads Hopsworks, but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set."
    return None


def setup_text(settings: Settings, problem: str) -> str:
    """The setup page in Markdown: what is missing and which Space secrets fix it, and where."""
    where = f"https://huggingface.co/spaces/{settings.space_id}/settings" if settings.space_id else "the Space's settings"
    return "\n\n".join([
        "# This Space is not set up yet",
        f"**{problem}**",
        f"Add these in the Space's **Settings -> Variables and secrets** ({where}), then restart the Space:",
        SECRETS_HELP,
        "The feature pipeline, the daily batch inference and training write to the same Hopsworks project "
        "(see the project's README: *Going to the cloud*).",
    ])


def setup_page(settings: Settings, problem: str) -> gr.Blocks:
    """A page with only the setup instructions (nothing is read, no model is loaded)."""
    with gr.Blocks(title="tweetgen: setup", analytics_enabled=False) as page:
        gr.Markdown(setup_text(settings, problem), elem_id="setup")
    return page


def run_generation_on_zero_gpu(predictor: Predictor, duration: int = GPU_SECONDS, device: str = "cuda") -> Predictor:
    """Load the champion now, onto ``device``, and run ``predictor.generate`` under ``@spaces.GPU``.

    Call it before the app launches, and before anything initialises CUDA. Without a champion yet
    the app still starts; the prompt box then says why no tweet can be written. Returns ``predictor``.
    """
    import spaces  # must come before CUDA is initialised: on ZeroGPU it patches torch

    predictor.device = device
    try:
        predictor.version()  # loads the weights in this process; ZeroGPU moves them when a GPU is attached
    except ModelUnavailableError as error:
        print(f"No model to load yet: {error}", flush=True)
    predictor.batching = False  # each call is granted a GPU of its own: the call itself must generate
    predictor.generate = raising(spaces.GPU(duration=duration)(returning(predictor.generate)))  # type: ignore[method-assign]
    return predictor


def returning(generate: Callable[..., Any]) -> Callable[..., tuple[Any, TweetgenError | None]]:
    """``generate`` that returns ``(result, None)``, or ``(None, error)`` for the project's errors,
    so that they cross the ZeroGPU worker's result queue intact (they pickle: one sentence each)."""

    def generate_outcome(*args: Any, **kwargs: Any) -> tuple[Any, TweetgenError | None]:
        try:
            return generate(*args, **kwargs), None
        except TweetgenError as error:
            return None, error

    return generate_outcome


def raising(generate_outcome: Callable[..., tuple[Any, TweetgenError | None]]) -> Callable[..., Any]:
    """The caller's side of ``returning``: the result, or the error raised again in this process."""

    def generate(*args: Any, **kwargs: Any) -> Any:
        result, error = generate_outcome(*args, **kwargs)
        if error is not None:
            raise error
        return result

    return generate


def start_zero_gpu() -> None:
    """Run ZeroGPU's start-up (it packs the model for the GPU workers and reports the decorated functions).

    ``spaces`` runs it from a hook on ``gr.Blocks.launch``; our app is a FastAPI app served by
    uvicorn with the Gradio page mounted in it, so ``launch`` is never called: run it here, once,
    after ``run_generation_on_zero_gpu`` and before serving. ``spaces`` defines it only on ZeroGPU.
    """
    from spaces import zero

    startup = getattr(zero, "startup", None)
    if startup is not None:
        startup()
