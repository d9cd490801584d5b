"""Secrets never reach a log at any level, whichever library writes it: tweepy at DEBUG, against a
real server on 127.0.0.1 that echoes the request's Authorization header back in its body."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tweetgen.config import Settings
from tweetgen.log_scrub import HIDDEN, SecretsFilter
from tweetgen.sources.x_api import make_client

TOKEN = "A" * 21 + "tweetgenTEST0%2Bfake%2Bbearer%3D" + "x1Y2z3" * 10  # the shape of an X app token, invented
API_KEY = "hw-key.0123456789abcdefXYZ"


class Echo(BaseHTTPRequestHandler):
    """Answers every GET as X would answer an empty page, echoing the request's headers back."""

    def do_GET(self) -> None:  # noqa: N802 - the http.server convention
        body = json.dumps({"meta": {"result_count": 0}, "echo": {"authorization": self.headers.get("Authorization")}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class ToEchoServer(requests.adapters.HTTPAdapter):
    """Sends what is meant for api.twitter.com to the echo server instead (the network boundary)."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request, **kwargs):
        request.url = request.url.replace("https://api.twitter.com", self.base, 1)
        return super().send(request, **kwargs)


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def record_factory() -> Iterator[None]:
    """Put the process's log record factory back after the test (the scrubber wraps it)."""
    from tweetgen import log_scrub

    saved, installed = logging.getLogRecordFactory(), log_scrub._installed
    yield
    logging.setLogRecordFactory(saved)
    log_scrub._installed = installed


def tweepy_page(base: str) -> dict:
    client = make_client(TOKEN)
    client.session.mount("https://api.twitter.com", ToEchoServer(base))
    return client.get_users_tweets(44196397).meta


def test_the_premise_tweepy_logs_the_echoed_token_at_debug(echo_server, caplog, record_factory) -> None:
    logging.setLogRecordFactory(logging.LogRecord)  # as before any settings were loaded in this process
    caplog.set_level(logging.DEBUG)
    assert tweepy_page(echo_server) == {"result_count": 0}
    assert TOKEN in caplog.text  # without the filter the token is in tweepy's log of the response


def test_settings_load_scrubs_the_token_from_every_record(echo_server, caplog, record_factory, monkeypatch) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    monkeypatch.setenv("HOPSWORKS_API_KEY", API_KEY)
    Settings.load(dotenv=None)  # what every command, the app and the Modal functions do first
    caplog.set_level(logging.DEBUG)
    assert tweepy_page(echo_server) == {"result_count": 0}
    logging.getLogger("hopsworks.client").info("login with %s failed", API_KEY)
    try:
        raise RuntimeError(f"refused: Authorization: Bearer {TOKEN}")
    except RuntimeError:
        logging.getLogger("somewhere.else").exception("call failed")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "Received API response" in text and '"authorization": "Bearer ***"' in text  # the echo, scrubbed
    assert TOKEN not in text and API_KEY not in text and TOKEN[:20] not in text
    assert "login with *** failed" in caplog.text and f"Authorization: Bearer {HIDDEN}" in text


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("{'Authorization': 'Bearer abc.def-123'}", "{'Authorization': 'Bearer ***'}"),
        ("Authorization: ApiKey QWERTY123", "Authorization: ApiKey ***"),
        ("headers={'authorization': 'token9'}", "headers={'authorization': '***'}"),
        ("sent Bearer abcdefgh12345678 to X", "sent Bearer *** to X"),
        ("the bearer of good news", "the bearer of good news"),  # no credential: left alone
        ("hook https://hooks.example/T000/B000/XXXX answered 404", "hook *** answered 404"),
    ],
)
def test_credentials_are_scrubbed_even_when_the_settings_do_not_know_them(text, scrubbed) -> None:
    assert SecretsFilter(["https://hooks.example/T000/B000/XXXX"]).scrub(text) == scrubbed
