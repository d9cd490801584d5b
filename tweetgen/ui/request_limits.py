"""What the app accepts and what it keeps: no file uploads, small request bodies, a swept cache.

The page has no file input, so Gradio's routes that take files (``/gradio_api/upload``, which
stores any file and serves it back to anyone holding its link, and ``/process_recording``) have
nothing to do here: ``RequestLimits`` answers them, and any ``multipart/form-data`` body, with
403 before Gradio reads a byte. Every other body is capped at ``MAX_BODY_BYTES`` (413): the
largest the page sends is a 100-character prompt. A body of unknown length is refused (411), since
it could not be capped before it is read, and so is one framed twice, with both ``Content-Length``
and ``Transfer-Encoding`` (400): the server reads such a body as chunked, of any length, whatever
its declared length says. The bytes that arrive are counted too, so no body passes the cap. Gradio's own ``max_file_size`` is set to the same cap,
should a file reach it another way.

Gradio writes every image the app returns into its temporary folder (``GRADIO_TEMP_DIR``) and,
by default, never removes them. ``CACHE_SWEEP`` makes it remove, every 5 minutes, the files it
wrote more than 10 minutes ago (a browser fetches an image at once).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY_BYTES = 64 * 1024
CACHE_SWEEP = (300, 600)  # (every N seconds, remove files older than M seconds): Blocks(delete_cache=...)
FILE_ROUTES = ("/upload", "/process_recording")  # under /gradio_api, or wherever the app is mounted
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class RequestLimits:
    """ASGI middleware that refuses uploads and over-large bodies (module docstring)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = refuse(scope, self.max_body_bytes) if scope["type"] == "http" else None
        if refusal is not None:
            await send_text(send, *refusal)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = StartTracker(send)
        try:
            await self.app(scope, _counted(receive, self.max_body_bytes), tracked)
        except BodyTooLargeError as error:
            if not tracked.started:
                await send_text(send, 413, str(error))


class StartTracker:
    """``send`` that remembers whether the response has started, so a middleware that catches an
    error knows whether it may still answer."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)


async def send_text(send: Send, status: int, text: str) -> None:
    """Answer with ``status`` and ``text`` as plain text."""
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyTooLargeError(Exception):
    """More bytes arrived than the cap allows (a body whose framing lied about its length)."""


def _counted(receive: Receive, max_body_bytes: int) -> Receive:
    """``receive`` that raises ``BodyTooLargeError`` once the body's bytes pass ``max_body_bytes``."""
    received = 0

    async def counted() -> MutableMapping[str, Any]:
        nonlocal received
        message = await receive()
        if message.get("type") == "http.request":
            received += len(message.get("body", b""))
            if received > max_body_bytes:
                raise BodyTooLargeError(f"The request body is larger than {max_body_bytes:,} bytes.")
        return message

    return counted


def refuse(scope: Scope, max_body_bytes: int = MAX_BODY_BYTES) -> tuple[int, str] | None:
    """The status and sentence to refuse an HTTP request with, or None to let it through."""
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}
    path = scope.get("path", "").rstrip("/")
    if path.endswith(FILE_ROUTES) or headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return 403, "This app accepts no file uploads."
    if scope.get("method") not in BODY_METHODS:
        return None
    length = headers.get("content-length")
    if length is not None and "transfer-encoding" in headers:
        return 400, "The request has both Content-Length and Transfer-Encoding; send one of them."
    if length is None:
        return (411, "Send the request body with a Content-Length.") if "transfer-encoding" in headers else None
    if not (length.isascii() and length.isdigit()) or int(length) > max_body_bytes:
        return 413, f"The request body is larger than {max_body_bytes:,} bytes."
    return None


def launch_limits() -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch`` / ``gr.mount_gradio_app``: the middleware and the
    file-size cap (a new dict each call: Gradio adds its own keys to ``app_kwargs``)."""
    from starlette.middleware import Middleware

    return {"max_file_size": MAX_BODY_BYTES, "app_kwargs": {"middleware": [Middleware(RequestLimits)]}}
