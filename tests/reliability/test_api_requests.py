"""Hostile and odd requests against the app as every deployment serves it (``build_server`` on
127.0.0.1): each gets one JSON sentence, a stalled body holds no generation slot, a body framed
twice is refused, and no route answers a traceback."""

from __future__ import annotations

import json
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest

from tests.fakes.app_server import demo_store, running_app
from tests.fakes.monitor_rows import monitor_frame
from tests.fakes.tiny_model import register_tiny_champion
from tweetgen.schema import GENERATED_TWEETS
from tweetgen.ui import api
from tweetgen.ui.api import MAX_RUNS, MAX_WAITING
from tweetgen.ui.predictor import Predictor
from tweetgen.ui.server_errors import UNEXPECTED

BODY_TIMEOUT_S = 4.0  # the production 10 s, shortened; ample for one tiny generation meanwhile on a busy machine


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    root = tmp_path_factory.mktemp("api-requests")
    store = demo_store(root / "store", n_runs=2)
    escaped = monitor_frame(1, first_id=5_000).assign(tweet_text="Q&amp;A at 3 &lt;3 &gt; 2 &amp;amp;")
    escaped["generated_at"] = escaped["generated_at"] + __import__("pandas").Timedelta(days=30)  # the newest run
    store.insert(GENERATED_TWEETS, escaped)
    registry, _ = register_tiny_champion(root)
    saved, api.BODY_TIMEOUT_S = api.BODY_TIMEOUT_S, BODY_TIMEOUT_S
    try:
        with running_app(store, Predictor(lambda: registry, "tweet_gpt2", max_new_tokens=8), root / "gradio") as address:
            yield address
    finally:
        api.BODY_TIMEOUT_S = saved


def one_sentence(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    assert list(body) == ["error"] and body["error"].endswith(".") and "Traceback" not in body["error"]
    return body["error"]


def raw(url: str, request: bytes, read_timeout: float = 10.0) -> bytes:
    """Send ``request`` as written on one connection; what the server answers before closing."""
    host = urlsplit(url)
    with socket.create_connection((host.hostname, host.port), timeout=read_timeout) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and _complete(answer):
                break
        return answer


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


@pytest.mark.parametrize("last", ["²", "٣", "+5", " 5", "5.0", "1e1", "0", str(MAX_RUNS + 1)])
def test_last_takes_ascii_digits_in_range_only(url, last) -> None:
    response = httpx.get(url + "api/runs", params={"last": last})
    assert response.status_code == 422
    assert one_sentence(response) == f"'last' is {last!r}; ask for 1 to {MAX_RUNS} rows, e.g. /api/runs?last=5."
    assert httpx.get(url + "api/runs", params={"last": str(MAX_RUNS)}).status_code == 200  # the bound itself


def test_runs_give_the_real_tweet_as_published(url) -> None:
    newest = httpx.get(url + "api/runs", params={"last": "1"}).json()["runs"][0]
    assert newest["tweet_text"] == "Q&A at 3 <3 > 2 &amp;"  # unescaped once, as X escaped it once


@pytest.mark.parametrize(
    ("method", "path", "status", "says"),
    [
        ("GET", "api/generate", 405, "GET is not served at /api/generate; use POST /api/generate."),
        ("PUT", "api/runs", 405, "PUT is not served at /api/runs; use GET /api/runs."),
        ("DELETE", "api/health", 405, "DELETE is not served at /api/health; use GET /api/health."),
        ("GET", "api/nothing", 404, "There is no /api/nothing; the API serves POST /api/generate, GET /api/runs"),
        ("POST", "api/", 404, "There is no /api/; the API serves"),
    ],
)
def test_every_unknown_route_or_method_answers_its_sentence(url, method, path, status, says) -> None:
    response = httpx.request(method, url + path)
    assert response.status_code == status and one_sentence(response).startswith(says)
    if status == 405:
        assert response.headers["allow"] == says.rsplit("use ", 1)[1].split()[0]


@pytest.mark.parametrize(
    ("content_type", "status"),
    [("text/plain", 415), ("application/x-www-form-urlencoded", 415), (None, 415),
     ("application/json; charset=utf-8", 200), ("application/merge-patch+json", 200)],
)
def test_only_json_bodies_are_read(url, content_type, status) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = httpx.post(url + "api/generate", content=b'{"prompt": "The", "seed": 1}', headers=headers, timeout=60)
    assert response.status_code == status, response.text
    if status == 415:
        assert one_sentence(response).startswith("The body is not sent as JSON; send it with Content-Type: application/json")


@pytest.mark.parametrize(("char", "what"), [
    ("\u2028", "line break U+2028"), ("\u2029", "line break U+2029"),
    ("\u202e", "bidirectional control U+202E"), ("\u2066", "bidirectional control U+2066"),
])
def test_a_prompt_is_one_line_without_bidirectional_overrides(url, char, what) -> None:
    response = httpx.post(url + "api/generate", json={"prompt": f"The{char}rocket"})
    assert response.status_code == 422
    assert one_sentence(response) == f"The prompt holds the {what} at position 3; send one line of text."


def test_the_api_has_an_openapi_page(url) -> None:
    described = httpx.get(url + "api/openapi.json").json()
    assert set(described["paths"]) == {"/generate", "/runs", "/health"}
    schema = described["components"]["schemas"]["GenerateRequest"]
    assert schema["additionalProperties"] is False and set(schema["properties"]) == {"prompt", "seed"}
    docs = httpx.get(url + "api/docs")
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text


def test_stalled_bodies_hold_no_generation_slot_and_time_out(url, caplog) -> None:
    host = urlsplit(url)
    stalled = []
    for _ in range(MAX_WAITING + 2):  # more than the slots
        connection = socket.create_connection((host.hostname, host.port), timeout=30)
        connection.sendall(b"POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 50\r\n\r\n{\"prompt\": ")
        stalled.append(connection)
    try:
        time.sleep(0.3)
        served = httpx.post(url + "api/generate", json={"prompt": "The", "seed": 2}, timeout=60)
        assert served.status_code == 200 and served.json()["text"].startswith("The")
        for connection in stalled:  # answered while the others still stall: none has its answer yet
            connection.setblocking(False)
            with pytest.raises(BlockingIOError):
                connection.recv(1)
            connection.setblocking(True)
        for connection in stalled:
            answer = b""
            while b"}" not in answer and (chunk := connection.recv(4096)):
                answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408"), answer
            assert json.loads(body) == {"error": f"The request body did not arrive within {BODY_TIMEOUT_S:g} s; send it at once."}
    finally:
        for connection in stalled:
            connection.close()
    for _ in range(3):  # clients that go away mid-body
        with socket.create_connection((host.hostname, host.port), timeout=30) as connection:
            connection.sendall(b"POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               b"Content-Length: 50\r\n\r\n{")
            time.sleep(0.1)
    time.sleep(0.3)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []  # no traceback for the stalls or the hang-ups


@pytest.mark.parametrize("path", ["api/generate", "gradio_api/queue/join"])
def test_a_body_framed_twice_is_refused(url, path) -> None:
    body = json.dumps({"data": ["x" * 70_000]}).encode()
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    answer = raw(url, f"POST /{path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n".encode() + chunked)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"both Content-Length and Transfer-Encoding; send one of them." in answer


class BrokenStore:
    """A store whose reads fail in a way no code expects (not a TweetgenError)."""

    where = "nowhere"

    def __getattr__(self, name):
        raise RuntimeError("disk on fire")


def test_an_unexpected_error_is_logged_once_and_answered_with_a_sentence(tmp_path, caplog) -> None:
    registry, _ = register_tiny_champion(tmp_path)
    caplog.set_level(logging.ERROR)
    with running_app(BrokenStore(), Predictor(lambda: registry, "tweet_gpt2", max_new_tokens=4), tmp_path / "gradio") as address:
        with ThreadPoolExecutor(1) as pool:
            response = pool.submit(httpx.get, address + "api/runs").result()
        time.sleep(0.2)
    assert response.status_code == 500
    assert one_sentence(response) == UNEXPECTED.format(method="GET", path="/api/runs")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].getMessage() == "Unexpected error answering GET /api/runs"
    assert errors[0].exc_info and "disk on fire" in str(errors[0].exc_info[1])


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_a_body_is_read_up_to_max_body_bytes_and_refused_one_byte_over(url, extra) -> None:
    body = b'{"prompt": "The", "seed": 0}'
    body += b" " * (api.MAX_BODY_BYTES + extra - len(body))  # JSON allows the padding
    response = httpx.post(url + "api/generate", content=body, headers={"Content-Type": "application/json"}, timeout=60)
    if extra <= 0:
        assert response.status_code == 200 and response.json()["seed"] == 0  # the lowest seed is a seed
    else:
        assert response.status_code == 413
        assert one_sentence(response) == f"The body is {api.MAX_BODY_BYTES + 1:,} bytes; send at most {api.MAX_BODY_BYTES:,}."


@pytest.mark.parametrize(("last", "rows"), [("1", 1), ("2", 2), ("0002", 2), (str(MAX_RUNS), 3), ("0" * 6 + str(MAX_RUNS), 3)])
def test_last_counts_rows_from_one_up_to_max_runs_with_leading_zeros(url, last, rows) -> None:
    response = httpx.get(url + "api/runs", params={"last": last})
    assert response.status_code == 200 and len(response.json()["runs"]) == rows  # the store holds 3 runs


def test_the_page_prompt_box_drops_what_the_api_refuses() -> None:
    from tweetgen.ui.predictor import clean_prompt

    assert clean_prompt(" The\u202e rocket\u2028 is\u2066 \x1b[31mred\u2029 ") == "The rocket is [31mred"
    assert clean_prompt("Ünïcode, emoji 🚀 and عربي stay") == "Ünïcode, emoji 🚀 and عربي stay"


@pytest.mark.parametrize(("method", "path", "says", "allow"), [
    ("TRACE", "api/runs", "TRACE is not served at /api/runs; use GET /api/runs.", "GET"),
    ("TRACE", "api/generate", "TRACE is not served at /api/generate; use POST /api/generate.", "POST"),
    ("FOO", "api/health", "FOO is not served at /api/health; use GET /api/health.", "GET"),
    ("TRACE", "api/nothing", "TRACE is not served at /api/nothing; use GET /api/nothing.", None),
])
def test_a_method_no_route_takes_answers_405_with_the_method_it_takes(url, method, path, says, allow) -> None:
    # the API's catch-all route takes the usual methods (and answers 404 for an unknown path); one it
    # does not take reaches the API as a 405 from the router
    response = httpx.request(method, url + path)
    assert response.status_code == 405 and one_sentence(response) == says
    assert response.headers.get("allow") == allow


EXAMPLE = '{"prompt": "The rocket", "seed": 1}'


@pytest.mark.parametrize(("body", "status", "says"), [
    (b"{not json", 400, f"The body is not JSON; send an object such as {EXAMPLE}."),
    (b'"text"', 400, f"The body is not a JSON object; send an object such as {EXAMPLE}."),
    (b"[1, 2]", 400, f"The body is not a JSON object; send an object such as {EXAMPLE}."),
    (b'{"prompt": "a", "temperature": 2}', 400, "Unknown field 'temperature'; send only prompt and seed."),
    (b'{"prompt": 5}', 400, "'prompt' is int, not a string; send text, or leave it out for a random tweet."),
    (b'{"seed": 1.5}', 400, f"'seed' is 1.5, not a whole number; send one from 0 to {api.MAX_SEED}."),
    (b'{"seed": -1}', 422, f"'seed' is -1; send one from 0 to {api.MAX_SEED}."),
])
def test_each_refused_body_gets_its_exact_sentence(url, body, status, says) -> None:
    response = httpx.post(url + "api/generate", content=body, headers={"Content-Type": "application/json"}, timeout=60)
    assert response.status_code == status and one_sentence(response) == says
    assert api.EXAMPLE == EXAMPLE


def test_an_unknown_query_field_names_the_one_field_runs_takes(url) -> None:
    response = httpx.get(url + "api/runs", params={"last": "1", "lats": "2"})
    assert response.status_code == 400 and one_sentence(response) == "Unknown field 'lats'; send only last."
