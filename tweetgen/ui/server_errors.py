"""The last line of the web server: an error no route answered is logged once and answered with a sentence.

Without it an unexpected exception reaches uvicorn, which logs a traceback per request and
answers a bare 500. ``AnswerUnexpectedErrors`` wraps the whole application (page and API): it
logs the exception once, with its traceback, on the ``tweetgen.ui`` logger, and answers
``{"error": "<one sentence>"}`` with status 500, or, when the response had already started
(Gradio answers its own errors first), only logs. A client that goes away mid-request is not an
error: nothing is logged.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import ClientDisconnect

from tweetgen.ui.request_limits import Receive, Scope, Send, StartTracker

log = logging.getLogger("tweetgen.ui")

UNEXPECTED = "Something went wrong on the server while answering {method} {path}; it is logged. Try again, or report the time it happened."


class AnswerUnexpectedErrors:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = StartTracker(send)
        try:
            await self.app(scope, receive, tracked)
        except ClientDisconnect:
            return
        except Exception:
            method, path = scope.get("method", "?"), scope.get("path", "?")
            log.exception("Unexpected error answering %s %s", method, path)
            if tracked.started:
                return
            body = json.dumps({"error": UNEXPECTED.format(method=method, path=path)}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": body})
