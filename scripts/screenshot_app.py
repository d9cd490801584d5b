"""Take the README's screenshot of the app: ``python scripts/screenshot_app.py [--data-dir data]``.

The README's is 1280 px wide (the default); the phone picture of docs/app.md is
``--width 390 --palette --output assets/app-phone.png``.

Serves the app on a free port of 127.0.0.1 from a local data directory (the one ``make demo``
fills), opens it in headless Chromium, waits for the three tweet images and the chart, types a
prompt, clicks Generate, waits for the fresh tweet and saves a full-page screenshot
(``assets/app-screenshot.png`` by default). Needs Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tweetgen.config import Settings
from tweetgen.schema import GENERATED_TWEETS
from tweetgen.store.factory import open_feature_store
from tweetgen.ui.browser import (
    CHROMIUM,
    browser_page,
    generate_tweet,
    running_app,
    wait_for_cards_and_chart,
)
from tweetgen.ui.predictor import Predictor

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="local store and registry (default: data)")
    parser.add_argument("--output", type=Path, default=ROOT / "assets" / "app-screenshot.png", help="PNG to write")
    parser.add_argument("--prompt", default="Mars is", help="start of the fresh tweet (default: 'Mars is')")
    parser.add_argument("--width", type=int, default=1280, help="viewport width in CSS pixels (default: 1280)")
    parser.add_argument("--palette", action="store_true", help="save with 256 colours (a third of the bytes)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the fresh tweet (default: 180)")
    args = parser.parse_args()

    if not CHROMIUM.is_file():
        sys.exit(f"Chromium is not installed at {CHROMIUM}: run scripts/install_system_packages.sh (as root).")
    settings = Settings.load().with_overrides(backend="local", data_dir=args.data_dir)
    store = open_feature_store(settings)
    if not store.exists(GENERATED_TWEETS):
        sys.exit(f"No generated tweets under {args.data_dir}: run `make demo` (or `python -m tweetgen demo --no-serve"
                 f" --data-dir {args.data_dir}`) first.")

    with tempfile.TemporaryDirectory(prefix="tweetgen-shot-") as temp_dir, \
            running_app(store, Predictor.from_settings(settings), Path(temp_dir), settings.username, settings.display_name) as url, \
            browser_page(url, width=args.width) as page:
        print(f"App on {url}; waiting for the tweets and the chart", flush=True)
        wait_for_cards_and_chart(page, timeout_ms=60_000)
        print(f"Generating from {args.prompt!r}", flush=True)
        try:
            generate_tweet(page, args.prompt, timeout_ms=int(args.timeout * 1000))
        except PlaywrightTimeoutError:
            toasts = page.locator(".toast-body").all_inner_texts()
            sys.exit(f"No fresh tweet within {args.timeout:.0f} s; the page's messages: {toasts or 'none'}")
        args.output.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.output), full_page=True)
    if args.palette:
        with Image.open(args.output) as shot:
            picture = shot.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        picture.save(args.output, optimize=True)
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
