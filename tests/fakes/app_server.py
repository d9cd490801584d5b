"""Run the Gradio app on 127.0.0.1 for a test, on a store filled with invented demo-like rows."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.frames import tweets_frame
from tests.fakes.monitor_rows import RUNS, monitor_frame
from tweetgen.app_logic import Predictor
from tweetgen.schema import GENERATED_TWEETS, TWEETS
from tweetgen.store_local import LocalFeatureStore

FIRST_ID = 1_000


def demo_store(root: Path, n_runs: int = 7) -> LocalFeatureStore:
    """A local store with ``n_runs`` daily champion runs and the real tweets' counts."""
    store = LocalFeatureStore(root)
    store.insert(GENERATED_TWEETS, monitor_frame(n_runs, first_id=FIRST_ID))
    ids = range(FIRST_ID, FIRST_ID + n_runs)
    texts = [RUNS[i % len(RUNS)][0] for i in range(n_runs)]
    counts = {"likes": [12_400 + 3_100 * i for i in range(n_runs)], "retweets": [830 + 97 * i for i in range(n_runs)],
              "replies": [410 + 55 * i for i in range(n_runs)]}
    store.insert(TWEETS, tweets_frame(ids, text=texts, **counts))
    return store


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(store: LocalFeatureStore, predictor: Predictor, temp_dir: Path) -> Iterator[str]:
    """Serve the app on a free port of 127.0.0.1 until the block ends; yields its URL.

    Gradio's analytics are off and its files go to ``temp_dir``.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        patch.setenv("GRADIO_TEMP_DIR", str(temp_dir))
        from tweetgen.app_ui import build_app, launch_options

        demo = build_app(store, predictor)
        port = free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()

