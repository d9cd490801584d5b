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
from tweetgen.log_scrub import HIDDEN, MIN_SECRET_CHARS, SecretsFilter, scrub_secrets_from_logs, secret_forms
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


def test_every_form_of_a_url_without_a_query_exactly() -> None:
    url = "https://h.example.com/hooks/Zk1-TokenX/"  # a trailing slash, and a token that ends in a capital
    assert secret_forms(url) == {
        url, "/hooks/Zk1-TokenX", "/hooks/Zk1-TokenX/", "Zk1-TokenX", "%2Fhooks%2FZk1-TokenX", "%2Fhooks%2FZk1-TokenX%2F",
    }


def test_a_url_quoted_whole_or_in_its_parts_is_scrubbed_whole() -> None:
    logs = SecretsFilter(["https://h.example.com/hooks/Zk1-TokenX?t=Tok3nValue", "https://h.example.com/Ab1-Cd2-Ef3"])
    assert logs.scrub("POST /hooks/Zk1-TokenX?t=Tok3nValue failed") == "POST *** failed"  # path and query together
    assert logs.scrub("GET /Ab1-Cd2-Ef3?retry=1") == "GET ***?retry=1"  # a query the secret does not have stays


def test_user_info_holding_the_separators_is_split_where_a_url_parser_splits_it() -> None:
    forms = secret_forms("https://me:p@ss:w0rd@h.example.com/x")  # the last @ ends the user-info, the first : the name
    assert {"me:p@ss:w0rd", "p@ss:w0rd", "me%3Ap%40ss%3Aw0rd", "p%40ss%3Aw0rd"} <= forms
    assert {"me:p", "w0rd", "ss:w0rd@h.example.com"}.isdisjoint(forms)


def test_a_path_is_also_scrubbed_as_an_http_client_quotes_it() -> None:
    forms = secret_forms("https://h.example.com/hooks/a:Tok 3n/T0k3n9/Ab  Cd9")
    # requests and http.client leave ":" and "@" in a path as they are (RFC 3986) and encode the space
    assert "/hooks/a:Tok%203n/T0k3n9/Ab%20%20Cd9" in forms and "/hooks/a:Tok 3n/T0k3n9/Ab Cd9" in forms


@pytest.mark.parametrize(("piece", "token"), [
    ("abcdefg", False), ("ABCDEFG", True), ("Abcdefg", True), ("abc1def", True), ("abc-def", True), ("abcde", False),
])
def test_a_path_segment_is_a_token_unless_it_is_a_lowercase_word(piece, token) -> None:
    assert (piece in secret_forms(f"https://h.example.com/{piece}/x")) == token


@pytest.mark.parametrize("length", [MIN_SECRET_CHARS - 1, MIN_SECRET_CHARS, MIN_SECRET_CHARS + 1])
def test_the_logs_scrub_a_secret_from_min_secret_chars_on(length) -> None:
    secret = "k9Z!x7"[:length]
    scrubbed = SecretsFilter([secret]).scrub(f"key {secret} sent")
    assert scrubbed == (f"key {HIDDEN} sent" if length >= MIN_SECRET_CHARS else f"key {secret} sent")


def test_secrets_added_later_join_the_ones_before(record_factory) -> None:
    logs = SecretsFilter(["first-Secret1"])
    logs.add(["second-Secret2"])
    assert logs.scrub("first-Secret1 second-Secret2") == f"{HIDDEN} {HIDDEN}"
    scrub_secrets_from_logs(["third-Secret3"])
    assert scrub_secrets_from_logs(["fourth-Secret4"]).scrub("third-Secret3 fourth-Secret4") == f"{HIDDEN} {HIDDEN}"


def test_a_record_made_with_keywords_is_scrubbed_too(record_factory) -> None:
    scrub_secrets_from_logs(["k3y-Secret9"])
    record = logging.getLogRecordFactory()(name="x", level=logging.INFO, pathname="p.py", lineno=1, msg="key %s",
                                           args=("k3y-Secret9",), exc_info=None)
    assert record.getMessage() == f"key {HIDDEN}"


def test_the_stack_of_a_record_is_scrubbed(caplog) -> None:
    logger = logging.getLogger("tweetgen.test_stack")
    logger.addFilter(SecretsFilter(["k3y-Secret9"]))
    caplog.set_level(logging.INFO)
    try:
        logger.info("with its stack", stack_info=True)  # k3y-Secret9: this line is in the stack
    finally:
        logger.filters.clear()
    (record,) = [r for r in caplog.records if r.name == "tweetgen.test_stack"]  # a filter on a logger never drops one
    assert "Stack (most recent call last)" in record.stack_info and "# ***: this line is in the stack" in record.stack_info
    assert "k3y-Secret9" not in record.stack_info


def test_a_record_whose_arguments_do_not_fit_is_kept_as_it_is() -> None:
    record = logging.LogRecord("x", logging.INFO, "p.py", 1, "two %s %s", ("one",), None)
    assert SecretsFilter(["k3y-Secret9"]).filter(record) is True and record.args == ("one",)
