"""The app on a free port of 127.0.0.1, driven in a headless Chromium (Playwright).

Shared by the browser test (``tests/code/test_app_browser.py``) and ``scripts/screenshot_app.py``,
which makes the README's screenshot. Gradio and Playwright are imported only when used; the
browser is the system Chromium (``scripts/install_system_packages.sh`` installs it), since
Playwright's own browser download needs the network.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tweetgen.store.port import FeatureStore
from tweetgen.ui.predictor import Predictor

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
CARDS = ("#card-real", "#card-prompted", "#card-random")  # the elem_ids of tweetgen.ui.gradio_app
CHARTS = ("#chart-bits", "#chart-sentiment", "#chart-copies")  # tweetgen.ui.gradio_app.CHART_IDS
FRESH = "#card-fresh"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    """Set environment variables for the block, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def running_app(
    store: FeatureStore, predictor: Predictor, temp_dir: Path, username: str = "elonmusk", display_name: str | None = None
) -> Iterator[str]:
    """Serve the app (``tweetgen.ui.serve.build_server``: page and JSON API) on a free port of
    127.0.0.1 until the block ends; yields its URL.

    Gradio's analytics are off and its files go to ``temp_dir`` (Gradio reads both when the page
    is built, so they are set before).
    """
    import uvicorn

    with _environ(GRADIO_ANALYTICS_ENABLED="False", GRADIO_TEMP_DIR=str(temp_dir)):
        from tweetgen.ui.serve import build_server

        port = free_port()
        config = uvicorn.Config(build_server(store, predictor, username, display_name), host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="tweetgen-app", daemon=True)
        thread.start()
        try:
            _wait_until(lambda: server.started or not thread.is_alive(), timeout_s=60)
            if not server.started:
                raise RuntimeError(f"The app did not start on 127.0.0.1:{port}.")
            yield f"http://127.0.0.1:{port}/"
        finally:
            server.should_exit = True
            thread.join(timeout=15)


def _wait_until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


@contextlib.contextmanager
def browser_page(url: str, width: int = 1400, height: int = 900) -> Iterator[Page]:
    """A headless Chromium tab with ``url`` open (DOM loaded; the app's data may still be coming)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
            page.goto(url, wait_until="domcontentloaded", timeout=20_000)
            yield page
        finally:
            browser.close()


def natural_widths(page: Page, selector: str) -> list[int]:
    """The natural widths of the images under ``selector`` (0 for one not loaded)."""
    return page.eval_on_selector_all(selector, "images => images.map(image => image.naturalWidth)")


def wait_for_image(page: Page, selector: str, timeout_ms: int, other_than: str | None = None) -> None:
    """Wait until the first image under ``selector`` is shown and decoded (and, with ``other_than``,
    is not the image of that address). The image is scrolled into view: Gradio's images load lazily."""
    page.locator(selector).first.scroll_into_view_if_needed(timeout=timeout_ms)
    page.locator(f"{selector} img").first.wait_for(state="visible", timeout=timeout_ms)
    page.wait_for_function("([selector, old]) => { const image = document.querySelector(selector + ' img');"
                           " return image !== null && image.complete && image.naturalWidth > 0 && image.getAttribute('src') !== old; }",
                           arg=[selector, other_than], timeout=timeout_ms)


def wait_for_cards_and_chart(page: Page, timeout_ms: int = 15_000) -> None:
    """Wait until the three tweet images of the newest run and the three charts are loaded."""
    for selector in (*CARDS, *CHARTS):
        wait_for_image(page, selector, timeout_ms)


def generate_tweet(page: Page, prompt: str, timeout_ms: int = 20_000) -> None:
    """Type ``prompt``, click Generate, and wait until the fresh tweet image replaces what the box showed
    (the hint that ``tweetgen.ui.gradio_app`` puts there on load, or the previous tweet)."""
    before = page.locator(f"{FRESH} img")
    shown = before.first.get_attribute("src") if before.count() else None
    page.locator("#prompt textarea, #prompt input").first.fill(prompt)
    page.locator("#generate").click()
    wait_for_image(page, FRESH, timeout_ms, other_than=shown)
    page.wait_for_timeout(300)  # let the layout settle before a picture
