"""The JSON API served next to the page (locally, on Modal and on a Space), at ``/api``:

- ``POST /api/generate`` with ``{"prompt": "The rocket", "seed": 1}`` (both optional) answers
  ``{"text", "model", "version", "seed", "prompt"}``: the champion's tweet; the same prompt and
  seed give the same text. The prompt box's limits hold, refused instead of cut.
- ``GET /api/runs?last=N`` (1-100, default 10): the newest rows of the monitor group, newest first,
  the real tweet's text as published (``&amp;``, ``&lt;``, ``&gt;`` unescaped).
- ``GET /api/health``: the last run of each job and the daily job's warning (``JobHealth``).
- ``GET /api/openapi.json`` and ``/api/docs``: the OpenAPI description of the above.

The requests are pydantic models (``GenerateRequest``, ``RunsQuery``), parsed strictly: JSON
bodies only (``Content-Type: application/json``), no field but ``prompt`` and ``seed``, a seed
that is a JSON whole number from 0 to 2**32-1 (not ``true``, ``"1"`` or ``1.0``), a prompt of one
line (no control characters, line or paragraph separators, or bidirectional overrides), ``last``
in ASCII digits. One exception handler turns every refusal into ``{"error": "<one sentence>"}``:
400 for a body that is not the JSON object asked for (or framed with both ``Content-Length`` and
``Transfer-Encoding``), 404 and 405 for a route or method the API does not serve, 408 for a body
that does not arrive within ``BODY_TIMEOUT_S``, 413 for a body over 4 KiB, 415 for a body that is
not JSON, 422 for a value out of bounds, 503 when no model can be loaded, the store cannot be read
or more than ``MAX_WAITING`` generations wait. An unexpected error is logged once and answered
with the same kind of sentence (500), never a traceback.

A generation slot is taken only once the request's body has arrived: a client that declares a
body and stalls holds no slot, and is answered 408 when ``BODY_TIMEOUT_S`` runs out. Blocking
work (the model, the store) runs in a worker thread; store reads are cached for 30 s.
"""

from __future__ import annotations

import asyncio
import html
import json
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from tweetgen.errors import TweetgenError
from tweetgen.pipelines.runs import job_health
from tweetgen.pipelines.scheduler import utc_now
from tweetgen.store.port import FeatureStore
from tweetgen.ui.predictor import ModelUnavailableError, Predictor, PromptError, check_prompt
from tweetgen.ui.server_errors import AnswerUnexpectedErrors
from tweetgen.ui.views import MonitorCache, RunsCache

MAX_BODY_BYTES = 4096
BODY_TIMEOUT_S = 10.0  # a request body must have arrived this long after its headers
MAX_WAITING = 32  # generations queued or running before /api/generate answers 503 (a batch holds 32; below anyio's 40 threads)
MAX_SEED = 2**32 - 1
MAX_RUNS = 100
DEFAULT_RUNS = 10
EXAMPLE = '{"prompt": "The rocket", "seed": 1}'
ROUTES = {"/generate": "POST", "/runs": "GET", "/health": "GET", "/openapi.json": "GET", "/docs": "GET"}


class RequestError(Exception):
    """A request the API refuses: an HTTP status and one sentence for the caller."""

    def __init__(self, status: int, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status


def _one_line_prompt(prompt: str | None) -> str:
    try:
        return check_prompt(prompt or "")
    except PromptError as error:
        raise PydanticCustomError("prompt", str(error)) from None


def _ascii_digits_in_range(last: str) -> int:
    if not 1 <= int(last) <= MAX_RUNS:
        raise PydanticCustomError("last_range", "out of range")
    return int(last)


class GenerateRequest(BaseModel):
    """The body of ``POST /api/generate``: both fields may be left out (a random tweet, a random seed)."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [json.loads(EXAMPLE)]})

    prompt: Annotated[str | None, AfterValidator(_one_line_prompt)] = Field(
        "", description="The tweet's first words: one line, at most 100 characters once trimmed."
    )
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] | None = Field(
        None, description="The same prompt and seed give the same text; none: a random seed."
    )


class RunsQuery(BaseModel):
    """The query of ``GET /api/runs``."""

    model_config = ConfigDict(extra="forbid")

    last: Annotated[str, Field(pattern=r"^[0-9]{1,9}$"), AfterValidator(_ascii_digits_in_range)] = Field(
        str(DEFAULT_RUNS), description=f"How many of the newest monitor rows, 1 to {MAX_RUNS}, in ASCII digits."
    )


class _BodyFirst(APIRoute):
    """A route that reads the whole body, within ``BODY_TIMEOUT_S``, before anything else runs.

    So a handler (and the generation slot it takes) starts only once the body is here; a body
    framed twice (``Content-Length`` and ``Transfer-Encoding``) is refused, and a client that goes
    away mid-body ends the request quietly.
    """

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def read_body_first(request: Request) -> Response:
            if "content-length" in request.headers and "transfer-encoding" in request.headers:
                raise RequestError(400, "The request has both Content-Length and Transfer-Encoding; send one of them.")
            try:
                async with asyncio.timeout(BODY_TIMEOUT_S):
                    request._body = await _capped_body(request)  # FastAPI reads it from there
            except TimeoutError:
                raise RequestError(408, f"The request body did not arrive within {BODY_TIMEOUT_S:g} s; send it at once.") from None
            except ClientDisconnect:
                return Response(status_code=400)  # nobody is left to read an answer
            return await handler(request)

        return read_body_first


def api_app(store: FeatureStore, predictor: Predictor, clock: Callable[[], datetime] = utc_now) -> FastAPI:
    """The API as its own application, to mount at ``/api``: its routes, its errors, its OpenAPI page."""
    app = FastAPI(
        title="tweetgen API", summary="Tweets in one account's style, and what the daily job measured.",
        docs_url="/docs", redoc_url=None, openapi_url="/openapi.json",
    )
    app.include_router(api_router(store, predictor, clock))
    for kind in (RequestError, RequestValidationError, HTTPException):
        app.add_exception_handler(kind, error_response)
    app.add_middleware(AnswerUnexpectedErrors)  # inside the sub-app's own bare 500 answer

    @app.api_route("/{unknown:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], include_in_schema=False)
    async def unknown_route(unknown: str) -> JSONResponse:  # a sub-app's own 404 would answer only GET and HEAD
        raise HTTPException(404)

    return app


def api_router(store: FeatureStore, predictor: Predictor, clock: Callable[[], datetime] = utc_now) -> APIRouter:
    """The API's routes over ``store`` (monitor rows, job runs) and ``predictor`` (the champion)."""
    router = APIRouter(route_class=_BodyFirst)
    monitor, job_runs = MonitorCache(store, max_age_s=30), RunsCache(store, max_age_s=30)
    waiting = [0]  # generations queued or running (handlers run on one event loop: no lock needed)

    @router.post("/generate")
    async def generate(body: GenerateRequest | None = None) -> JSONResponse:
        """One tweet from the champion model, starting with ``prompt``."""
        body = body or GenerateRequest()
        if waiting[0] >= MAX_WAITING:
            return _error(503, f"The model is busy with {waiting[0]} requests; try again in a few seconds.", {"Retry-After": "5"})
        waiting[0] += 1
        try:
            seed = secrets.randbelow(2**31) if body.seed is None else body.seed
            return JSONResponse(await run_in_threadpool(_generate, predictor, body.prompt or "", seed))
        finally:
            waiting[0] -= 1

    @router.get("/runs")
    async def runs(query: Annotated[RunsQuery, Query()]) -> JSONResponse:
        """The newest rows of the monitor group, newest first."""
        try:
            frame = await run_in_threadpool(monitor.frame)
        except TweetgenError as error:
            return _error(503, f"The monitor group could not be read: {error}")
        rows = json.loads(frame.head(int(query.last)).to_json(orient="records", date_format="iso"))
        for row in rows:
            if isinstance(row.get("tweet_text"), str):
                row["tweet_text"] = html.unescape(row["tweet_text"])  # as published: X escapes &, < and >
        return JSONResponse({"runs": rows})

    @router.get("/health")
    async def health() -> JSONResponse:
        """The last run of each job and the daily job's warning."""
        try:
            frame = await run_in_threadpool(job_runs.frame)
        except TweetgenError as error:
            return JSONResponse({"status": "error", "error": f"The job runs could not be read: {error}"}, status_code=503)
        return JSONResponse(job_health(frame, clock()).as_dict())

    return router


async def error_response(request: Request, error: Exception) -> JSONResponse:
    """The one exception handler: every refusal as ``{"error": "<one sentence>"}``."""
    if isinstance(error, RequestError):
        return _error(error.status, str(error))
    if isinstance(error, RequestValidationError):
        return _error(*_validation_sentence(error.errors()))
    assert isinstance(error, HTTPException)
    status, sentence = _http_sentence(request, error)
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    return _error(status, sentence, {"Allow": ROUTES[path]} if status == 405 and path in ROUTES else None)


def _validation_sentence(errors: Any) -> tuple[int, str]:
    """The status and sentence for the first thing pydantic (or FastAPI's body parsing) refused."""
    error = list(errors)[0]
    kind, where, value = error["type"], error["loc"], error.get("input")
    field = where[-1] if len(where) > 1 else None
    if kind == "json_invalid":
        return 400, f"The body is not JSON; send an object such as {EXAMPLE}."
    if isinstance(value, bytes):  # FastAPI parses JSON only when the Content-Type says JSON
        return 415, f"The body is not sent as JSON; send it with Content-Type: application/json, e.g. {EXAMPLE}."
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return 400, f"The body is not a JSON object; send an object such as {EXAMPLE}."
    if kind == "extra_forbidden":
        allowed = " and ".join(GenerateRequest.model_fields) if where[0] == "body" else "last"
        return 400, f"Unknown field {field!r}; send only {allowed}."
    if field == "prompt" and kind == "string_type":
        return 400, f"'prompt' is {type(value).__name__}, not a string; send text, or leave it out for a random tweet."
    if field == "prompt":
        return 422, error["msg"]
    if field == "seed" and kind == "int_type":
        return 400, f"'seed' is {json.dumps(value)}, not a whole number; send one from 0 to {MAX_SEED}."
    if field == "seed":
        return 422, f"'seed' is {value}; send one from 0 to {MAX_SEED}."
    if field == "last":
        return 422, f"'last' is {value!r}; ask for 1 to {MAX_RUNS} rows, e.g. /api/runs?last=5."
    return 422, f"{'.'.join(map(str, where))} is not valid ({error['msg']})."


def _http_sentence(request: Request, error: HTTPException) -> tuple[int, str]:
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    if error.status_code == 404 and path in ROUTES:
        return 405, f"{request.method} is not served at /api{path}; use {ROUTES[path]} /api{path}."
    if error.status_code == 404:
        served = ", ".join(f"{method} /api{route}" for route, method in ROUTES.items())
        return 404, f"There is no /api{path}; the API serves {served}."
    if error.status_code == 405:
        return 405, f"{request.method} is not served at /api{path}; use {ROUTES.get(path, 'GET')} /api{path}."
    return error.status_code, f"The request was refused ({error.detail})."


async def _capped_body(request: Request) -> bytes:
    """The request body, refused (413) past ``MAX_BODY_BYTES`` without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RequestError(413, f"The body is {int(declared):,} bytes; send at most {MAX_BODY_BYTES:,}.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise RequestError(413, f"The body is over {MAX_BODY_BYTES:,} bytes; send at most {MAX_BODY_BYTES:,}.")
    return body


def _generate(predictor: Predictor, prompt: str, seed: int) -> dict[str, Any]:
    try:
        text, version = predictor.generate(prompt, seed)
    except ModelUnavailableError as error:
        raise RequestError(503, str(error)) from None
    except TweetgenError as error:  # e.g. a prompt that leaves the model no room
        raise RequestError(422, str(error)) from None
    return {"text": text, "model": version.name, "version": version.version, "seed": seed, "prompt": prompt}


def _error(status: int, sentence: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": sentence}, status_code=status, headers=headers)
