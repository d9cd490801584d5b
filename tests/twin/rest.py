"""The twin's HTTPS server: a router over path segments, Hopsworks' error body, request log.

The SDK sends every REST call through ``hopsworks_common/client/base.py`` ``Client._send_request``
to ``https://host:port/hopsworks-api/api/<segments>`` and raises ``RestAPIError`` for any status
outside 2xx, reading ``errorCode``, ``errorMsg`` and ``usrMsg`` from the JSON body (the shape of
the error bodies in hopsworks-api's ``python/tests/core/test_*_api.py``).
"""

from __future__ import annotations

import json
import re
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.twin.tls import Pems

API_PREFIX = ["hopsworks-api", "api"]


class HopsworksError(Exception):
    """A refusal, sent as Hopsworks sends it: an HTTP status and an error JSON body."""

    def __init__(self, status: int, error_code: int, message: str, user_message: str = "") -> None:
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message
        self.user_message = user_message or message

    def body(self) -> dict[str, Any]:
        return {"errorCode": self.error_code, "errorMsg": self.message, "usrMsg": self.user_message}


@dataclass
class Request:
    method: str
    segments: list[str]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def path(self) -> str:
        return "/".join(self.segments)


@dataclass
class Raw:
    """A non-JSON reply (file downloads)."""

    body: bytes
    content_type: str = "application/octet-stream"


Handler = Callable[[Request], Any]


class Router:
    """Routes like ``GET project/{pid}/featurestores/{fs}``: literal segments and ``{name}`` holes."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, list[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, pattern.split("/"), handler))

    def find(self, method: str, segments: list[str]) -> tuple[Handler, dict[str, str]] | None:
        for route_method, pattern, handler in self._routes:
            if route_method != method or len(pattern) != len(segments):
                continue
            params: dict[str, str] = {}
            for want, got in zip(pattern, segments, strict=True):
                if want.startswith("{"):
                    params[want.strip("{}")] = got
                elif want != got:
                    break
            else:
                return handler, params
        return None


@dataclass
class Injected:
    """A planned fault: the next ``count`` requests matching ``method`` and ``pattern`` get ``status``,
    after ``delay`` seconds (a stalled backend when the status is 0: it answers nothing in time)."""

    method: str
    pattern: re.Pattern[str]
    status: int
    count: int
    delay: float = 0.0
    message: str = ""


class _QuietServer(ThreadingHTTPServer):
    """Says nothing when a client hangs up first (a client-side timeout on a stalled request)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError):
            super().handle_error(request, client_address)


class TwinHttpServer:
    """``ThreadingHTTPServer`` on 127.0.0.1 with TLS, answering through a ``Router``.

    ``log`` holds ``"METHOD path"`` of every request; ``unhandled`` the ones no route knew (a test
    fixture fails on them, so a new SDK call shows up at once).
    """

    def __init__(self, router: Router, pems: Pems, api_key: str) -> None:
        self.router, self.api_key = router, api_key
        self.log: list[str] = []
        self.unhandled: list[str] = []
        self._injected: list[Injected] = []
        self._lock = threading.Lock()
        self.before_answer: Callable[[], None] = lambda: None  # the cluster's own progress (jobs), before each answer
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as folder:
            cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
            cert.write_text(pems.server_cert + pems.ca)
            key.write_text(pems.server_key)
            context.load_cert_chain(cert, key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, method: str, path_regex: str, status: int = 500, count: int = 1, message: str = "") -> None:
        """Answer the next ``count`` matching requests with ``status`` (a transient backend error),
        ``message`` as the error body's user message."""
        with self._lock:
            self._injected.append(Injected(method, re.compile(path_regex), status, count, message=message))

    def stall(self, method: str, path_regex: str, seconds: float, count: int = 1) -> None:
        """Hold the next ``count`` matching requests for ``seconds`` before answering them normally."""
        with self._lock:
            self._injected.append(Injected(method, re.compile(path_regex), 0, count, seconds))

    def clear_faults(self) -> None:
        """Forget the planned faults and stalls not used yet (a burst that is over)."""
        with self._lock:
            self._injected.clear()

    def _take_injected(self, method: str, path: str) -> Injected | None:
        with self._lock:
            for planned in self._injected:
                if planned.method == method and planned.count > 0 and planned.pattern.search(path):
                    planned.count -= 1
                    return planned
        return None

    def answer(self, request: Request) -> tuple[int, bytes, str]:
        self.log.append(f"{request.method} {request.path}")
        self.before_answer()
        planned = self._take_injected(request.method, request.path)
        if planned is not None:
            time.sleep(planned.delay)
            if planned.status:
                error = HopsworksError(
                    planned.status, 100000 + planned.status, f"Injected error {planned.status}", planned.message
                )
                return planned.status, json.dumps(error.body()).encode(), "application/json"
        if request.headers.get("authorization") != f"ApiKey {self.api_key}":
            error = HopsworksError(401, 200003, "Authorization header not set or invalid.")
            return 401, json.dumps(error.body()).encode(), "application/json"
        found = self.router.find(request.method, request.segments)
        if found is None:
            self.unhandled.append(f"{request.method} {request.path}?{request.query}")
            error = HopsworksError(404, 100001, f"The twin has no route for {request.method} {request.path}")
            return 404, json.dumps(error.body()).encode(), "application/json"
        handler, request.params = found
        try:
            result = handler(request)
        except HopsworksError as error:
            return error.status, json.dumps(error.body()).encode(), "application/json"
        if isinstance(result, Raw):
            return 200, result.body, result.content_type
        if result is None:
            return 204, b"", "application/json"
        return 200, json.dumps(result).encode(), "application/json"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        twin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each response waits ~40 ms for a delayed ACK

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def _serve(self) -> None:
                url = urlsplit(self.path)
                segments = [unquote(s) for s in url.path.strip("/").split("/")]
                if segments[:2] == API_PREFIX:
                    segments = segments[2:]
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload, content_type = twin.answer(Request(self.command, segments, query, headers, body))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        return Handler
