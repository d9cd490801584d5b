"""A real HTTP server on 127.0.0.1 that answers the Kaggle API calls ``kagglehub.dataset_download`` makes.

kagglehub (through ``kagglesdk``) POSTs JSON to ``{endpoint}/api/v1/{service}/{method}``:
``datasets.DatasetApiService/GetDataset`` to learn the current version
(``{"currentVersionNumber": N}``), then ``datasets.DatasetApiService/DownloadDataset``, which
Kaggle answers with a redirect to a signed storage URL; the archive comes from there with its
``Content-Length`` and an ``x-goog-hash`` MD5 that kagglehub checks. Field names, paths and
headers are those of ``kagglesdk`` 0.1.38 and kagglehub 1.0.3 (``http_resolver``, ``clients``)
and of the stubs kagglehub tests itself with. ``kaggle_endpoint`` points the SDK's ``LOCALHOST``
environment (``KAGGLE_API_ENVIRONMENT``, kagglesdk's own switch for a local Kaggle) at this server,
so kagglehub's whole download path runs: version lookup, redirect, checksum, cache, unzip.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import logging
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.fakes.receivers import serving

API = "/api/v1/datasets.DatasetApiService/"
STORAGE = "/storage/kaggle-data-sets/archive.zip"


@dataclass
class KaggleServer:
    """The dataset the server hosts and what it was asked.

    Attributes:
        owner, slug, version: the dataset handle and its current version.
        archive: the zip bytes it serves.
        refuse: an HTTP status to answer the download with instead (401, 403, 404, 500), or 0.
        corrupt: serve the archive with a wrong MD5 (as a damaged transfer would arrive).
        requests: (method, path, JSON body or None, Authorization header) of every request.
    """

    owner: str
    slug: str
    version: int
    archive: bytes
    url: str = ""
    refuse: int = 0
    corrupt: bool = False
    requests: list[tuple[str, str, dict | None, str | None]] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return [path for _, path, _, _ in self.requests]


def zip_folder(folder: Path) -> bytes:
    """A zip of the files in ``folder``, at the archive's root (as Kaggle packs a dataset's files)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


def _handler(state: KaggleServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet: pytest shows what matters
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            state.requests.append(("POST", self.path, body, self.headers.get("Authorization")))
            known = (body.get("ownerSlug"), body.get("datasetSlug")) == (state.owner, state.slug)
            if self.path == API + "GetDataset":
                if not known:
                    return self._json(404, {"code": 404, "message": "Not found"})
                return self._json(200, {"ref": f"{state.owner}/{state.slug}", "currentVersionNumber": state.version,
                                        "title": "Invented tweets for tests"})
            if self.path == API + "DownloadDataset":
                if state.refuse or not known:
                    status = state.refuse or 404
                    return self._json(status, {"code": status, "message": "Permission denied" if status in (401, 403) else "Not found"})
                self.send_response(302)  # Kaggle redirects to a signed URL of its storage
                self.send_header("Location", f"{state.url}{STORAGE}?X-Goog-Signature=invented")
                self.send_header("Content-Length", "0")
                return self.end_headers()
            self._json(404, {"code": 404, "message": f"No route {self.path}"})

        def do_GET(self) -> None:  # noqa: N802
            state.requests.append(("GET", self.path.split("?")[0], None, self.headers.get("Authorization")))
            if not self.path.startswith(STORAGE):
                return self._json(404, {"code": 404, "message": "Not found"})
            digest = hashlib.md5(state.archive + (b"damaged" if state.corrupt else b"")).digest()
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(state.archive)))
            self.send_header("x-goog-hash", f"crc32c=AAAAAA==, md5={base64.b64encode(digest).decode()}")
            self.end_headers()
            self.wfile.write(state.archive)

        def _json(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextlib.contextmanager
def kaggle_server(state: KaggleServer) -> Iterator[KaggleServer]:
    """Serve ``state`` on a free port of 127.0.0.1 until the block ends; ``state.url`` is its root."""
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))) as server:
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
        yield state


class _CurrentStdout:
    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def kaggle_endpoint(monkeypatch: pytest.MonkeyPatch, url: str, cache: Path) -> None:
    """Point kagglehub at ``url`` with an empty cache at ``cache`` and no credentials of this machine.

    kagglehub's console handler keeps the ``sys.stdout`` of the moment it was imported (an earlier
    test's capture, closed since): it is given one that writes to whatever ``sys.stdout`` is.
    """
    import kagglehub  # noqa: F401 - configures its logger
    from kagglesdk import kaggle_env

    for handler in logging.getLogger("kagglehub").handlers:
        if type(handler) is logging.StreamHandler:
            monkeypatch.setattr(handler, "stream", _CurrentStdout())
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "LOCALHOST")
    monkeypatch.setitem(kaggle_env._env_to_endpoint, kaggle_env.KaggleEnv.LOCAL, url)
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(cache))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(cache / "no-credentials"))
    monkeypatch.setenv("HOME", str(cache / "home"))  # kagglesdk also looks in ~/.kaggle
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_KERNEL_RUN_TYPE", "TBE_RUNTIME_ADDR"):
        monkeypatch.delenv(name, raising=False)
