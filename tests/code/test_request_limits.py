"""The app's request limits (``tweetgen.ui.request_limits``) at their boundary and with the
variants real clients send: header names in any case, lengths in odd spellings, bodies framed
twice or streamed past their declared length, upload routes however they are written.

The same middleware in front of the whole app is tested over HTTP in
tests/reliability/test_app_requests.py; here each rule is checked on the ASGI scope itself.
"""

from __future__ import annotations

import asyncio

import pytest

from tweetgen.ui.request_limits import MAX_BODY_BYTES, BodyTooLargeError, RequestLimits, _counted, launch_limits, refuse

TOO_LARGE = (413, f"The request body is larger than {MAX_BODY_BYTES:,} bytes.")


def scope(method: str = "POST", path: str = "/gradio_api/queue/join", **headers: str) -> dict:
    return {"type": "http", "method": method, "path": path,
            "headers": [(name.replace("_", "-").encode("latin-1"), value.encode()) for name, value in headers.items()]}  # UTF-8 bytes, as a client sends them


@pytest.mark.parametrize(("length", "refused"), [(0, False), (MAX_BODY_BYTES - 1, False), (MAX_BODY_BYTES, False),
                                                 (MAX_BODY_BYTES + 1, True), (10**30, True)])
def test_a_declared_body_is_refused_from_one_byte_over_the_cap(length: int, refused: bool) -> None:
    assert refuse(scope(content_length=str(length))) == (TOO_LARGE if refused else None)


@pytest.mark.parametrize("name", ["content-length", "Content-Length", "CONTENT-LENGTH", "cOnTeNt-LeNgTh"])
def test_header_names_count_in_any_case(name: str) -> None:
    headers = [(name.encode(), str(MAX_BODY_BYTES + 1).encode())]
    assert refuse({"type": "http", "method": "POST", "path": "/x", "headers": headers}) == TOO_LARGE


@pytest.mark.parametrize("length", ["+5", "-1", " 5", "5 ", "0x10", "1e3", "5.0", "²", "٥", "５", ""])
def test_a_length_that_is_not_plain_ascii_digits_is_refused(length: str) -> None:
    assert refuse(scope(content_length=length)) == TOO_LARGE


@pytest.mark.parametrize("encoding", ["chunked", "Chunked", "gzip, chunked"])
def test_a_body_framed_twice_or_of_unknown_length_is_refused(encoding: str) -> None:
    assert refuse(scope(content_length="10", transfer_encoding=encoding)) == (
        400, "The request has both Content-Length and Transfer-Encoding; send one of them.")
    assert refuse(scope(transfer_encoding=encoding)) == (411, "Send the request body with a Content-Length.")
    assert refuse(scope(**{"Transfer-Encoding": encoding})) == (411, "Send the request body with a Content-Length.")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_every_method_with_a_body_is_capped(method: str) -> None:
    assert refuse(scope(method, content_length=str(MAX_BODY_BYTES + 1))) == TOO_LARGE


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "DELETE"])
def test_methods_without_a_body_pass_whatever_they_declare(method: str) -> None:
    assert refuse(scope(method, content_length=str(MAX_BODY_BYTES + 1))) is None
    assert refuse(scope(method)) is None


def test_a_body_method_without_a_length_or_an_encoding_passes() -> None:
    assert refuse(scope()) is None  # an empty body: nothing to cap


@pytest.mark.parametrize("path", ["/gradio_api/upload", "/gradio_api/upload/", "/upload", "/app/gradio_api/upload",
                                  "/gradio_api/process_recording", "/process_recording/"])
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_the_upload_routes_are_refused_however_they_are_written(path: str, method: str) -> None:
    assert refuse(scope(method, path)) == (403, "This app accepts no file uploads.")


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=x", "Multipart/Form-Data; boundary=x",
                                          "MULTIPART/FORM-DATA", "multipart/form-data"])
def test_a_multipart_body_is_refused_in_any_case_on_any_route(content_type: str) -> None:
    assert refuse(scope(path="/gradio_api/queue/join", content_type=content_type, content_length="10")) == (
        403, "This app accepts no file uploads.")
    assert refuse(scope(path="/gradio_api/queue/join", content_type="application/json", content_length="10")) is None


def test_a_route_that_only_ends_like_an_upload_word_passes() -> None:
    assert refuse(scope(path="/gradio_api/uploads", content_length="10")) is None
    assert refuse(scope(path="/gradio_api/myupload", content_length="10")) is None
    assert refuse(scope(path="/gradio_api/uploadX", content_length="10")) is None


def chunks(*sizes: int):
    messages = [{"type": "http.request", "body": b"x" * size, "more_body": i < len(sizes) - 1} for i, size in enumerate(sizes)]

    async def receive() -> dict:
        return messages.pop(0)

    return receive


@pytest.mark.parametrize(("sizes", "too_large"), [
    ((MAX_BODY_BYTES,), False), ((MAX_BODY_BYTES - 1, 1), False), ((MAX_BODY_BYTES, 1), True), ((1, MAX_BODY_BYTES), True),
])
def test_the_bytes_that_arrive_are_counted_to_the_cap(sizes: tuple[int, ...], too_large: bool) -> None:
    async def read_all() -> int:
        receive, total = _counted(chunks(*sizes), MAX_BODY_BYTES), 0
        for _ in sizes:
            total += len((await receive())["body"])
        return total

    if too_large:
        with pytest.raises(BodyTooLargeError, match=f"larger than {MAX_BODY_BYTES:,} bytes"):
            asyncio.run(read_all())
    else:
        assert asyncio.run(read_all()) == sum(sizes)


def test_the_middleware_answers_413_when_a_body_outgrows_its_declared_length() -> None:
    sent: list[dict] = []

    async def app(scope, receive, send) -> None:  # reads the whole body, as Gradio's routes do
        while (await receive()).get("more_body"):
            pass

    async def send(message: dict) -> None:
        sent.append(message)

    limits = RequestLimits(app, max_body_bytes=10)
    asyncio.run(limits(scope(content_length="5"), chunks(5, 6), send))
    assert sent[0]["status"] == 413 and sent[1]["body"] == b"The request body is larger than 10 bytes."
    sent.clear()
    asyncio.run(limits(scope(content_length="10"), chunks(5, 5), send))
    assert sent == []  # exactly the cap: the app ran and chose its own answer (none here)


def test_launch_limits_puts_the_middleware_in_front_and_caps_files_alike() -> None:
    first, second = launch_limits(), launch_limits()
    assert first["max_file_size"] == MAX_BODY_BYTES
    (middleware,) = first["app_kwargs"]["middleware"]
    assert middleware.cls is RequestLimits
    first["app_kwargs"]["extra"] = True  # Gradio adds its own keys: each call gets a new dict
    assert "extra" not in second["app_kwargs"] and second["app_kwargs"]["middleware"] is not first["app_kwargs"]["middleware"]


def test_a_refusal_is_sent_as_plain_text_with_its_length() -> None:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def app(scope, receive, send) -> None:
        raise AssertionError("a refused request never reaches the app")

    asyncio.run(RequestLimits(app)(scope(content_length=str(MAX_BODY_BYTES + 1)), chunks(1), send))
    body = TOO_LARGE[1].encode()
    assert sent == [
        {"type": "http.response.start", "status": 413,
         "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]},
        {"type": "http.response.body", "body": body},
    ]


def test_non_http_scopes_pass_untouched() -> None:
    seen: list[tuple] = []
    receive = chunks(1)

    async def send(message: dict) -> None:
        pass

    async def app(scope, receive, send) -> None:
        seen.append((scope, receive, send))

    lifespan, websocket = {"type": "lifespan"}, {"type": "websocket", "path": "/gradio_api/upload", "headers": []}
    asyncio.run(RequestLimits(app)(lifespan, receive, send))
    asyncio.run(RequestLimits(app)(websocket, receive, send))
    assert seen == [(lifespan, receive, send), (websocket, receive, send)]


def test_a_scope_without_headers_or_path_is_judged_as_empty() -> None:
    assert refuse({"type": "http", "method": "POST"}) is None
    assert refuse({"type": "http", "method": "GET", "path": "/gradio_api/upload"}) == (403, "This app accepts no file uploads.")


def test_the_middleware_refuses_by_its_own_cap_before_the_app_runs() -> None:
    sent: list[dict] = []
    called: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def app(scope, receive, send) -> None:
        called.append(scope)
        await receive()

    limits = RequestLimits(app, max_body_bytes=10)
    asyncio.run(limits(scope(content_length="11"), chunks(11), send))
    assert called == [] and sent[0]["status"] == 413 and sent[1]["body"] == b"The request body is larger than 10 bytes."
    sent.clear()
    ten = scope(content_length="10")
    asyncio.run(limits(ten, chunks(10), send))
    assert called == [ten] and sent == []  # the app got the request itself


def test_a_body_that_outgrows_the_cap_after_the_answer_began_ends_without_a_second_answer() -> None:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def app(scope, receive, send) -> None:  # answers first, then reads
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive()).get("more_body"):
            pass

    asyncio.run(RequestLimits(app, max_body_bytes=10)(scope(content_length="5"), chunks(5, 6), send))
    assert [m.get("status") for m in sent] == [200]
