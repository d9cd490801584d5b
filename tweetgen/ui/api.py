"""The JSON API served next to the page (locally, on Modal and on a Space):

- ``POST /api/generate`` with ``{"prompt": "The rocket", "seed": 1}`` (both optional) answers
  ``{"text", "model", "version", "seed", "prompt"}``: the champion's tweet; the same prompt and
  seed give the same text. The prompt box's limits hold, refused instead of cut.
- ``GET /api/runs?last=N`` (1-100, default 10): the newest rows of the monitor group, newest first.
- ``GET /api/health``: the last run of each job and the daily job's warning (``JobHealth``).

Every error is ``{"error": "<one sentence>"}``: 400 for a body that is not the JSON object
asked for, 413 for a body over 4 KiB, 422 for a value out of bounds, 503 when no model can be
loaded, the store cannot be read or more than ``MAX_WAITING`` generations wait. Blocking work
(the model, the store) runs in a worker thread; store reads are cached for 30 s.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tweetgen.errors import TweetgenError
from tweetgen.pipelines.runs import job_health
from tweetgen.pipelines.scheduler import utc_now
from tweetgen.store.port import FeatureStore
from tweetgen.ui.predictor import ModelUnavailableError, Predictor, PromptError, check_prompt
from tweetgen.ui.views import MonitorCache, RunsCache

MAX_BODY_BYTES = 4096
MAX_WAITING = 64  # generations queued or running before /api/generate answers 503 (the predictor batches them)
MAX_SEED = 2**32 - 1
MAX_RUNS = 100
DEFAULT_RUNS = 10
GENERATE_FIELDS = ("prompt", "seed")


class RequestError(Exception):
    """A request the API refuses: an HTTP status and one sentence for the caller."""

    def __init__(self, status: int, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status


def api_router(store: FeatureStore, predictor: Predictor, clock: Callable[[], datetime] = utc_now) -> APIRouter:
    """The ``/api`` routes over ``store`` (monitor rows, job runs) and ``predictor`` (the champion)."""
    router = APIRouter(prefix="/api")
    monitor, job_runs = MonitorCache(store, max_age_s=30), RunsCache(store, max_age_s=30)
    waiting = [0]  # generations queued or running (handlers run on one event loop: no lock needed)

    @router.post("/generate")
    async def generate(request: Request) -> JSONResponse:
        if waiting[0] >= MAX_WAITING:
            return _error(503, f"The model is busy with {waiting[0]} requests; try again in a few seconds.", {"Retry-After": "5"})
        waiting[0] += 1
        try:
            prompt, seed = parse_generate(await _body(request))
            return JSONResponse(await run_in_threadpool(_generate, predictor, prompt, seed))
        except RequestError as error:
            return _error(error.status, str(error))
        finally:
            waiting[0] -= 1

    @router.get("/runs")
    async def runs(last: str | None = None) -> JSONResponse:
        try:
            n = parse_last(last)
            frame = await run_in_threadpool(monitor.frame)
        except RequestError as error:
            return _error(error.status, str(error))
        except TweetgenError as error:
            return _error(503, f"The monitor group could not be read: {error}")
        return JSONResponse({"runs": json.loads(frame.head(n).to_json(orient="records", date_format="iso"))})

    @router.get("/health")
    async def health() -> JSONResponse:
        try:
            frame = await run_in_threadpool(job_runs.frame)
        except TweetgenError as error:
            return JSONResponse({"status": "error", "error": f"The job runs could not be read: {error}"}, status_code=503)
        return JSONResponse(job_health(frame, clock()).as_dict())

    return router


def parse_generate(body: bytes) -> tuple[str, int]:
    """The prompt and seed of a ``/api/generate`` body (a new random seed when none is given).

    Raises:
        RequestError: 400 for a body that is not a JSON object of ``prompt`` and ``seed``;
            422 for a prompt over the box's limits or a seed outside 0..2**32-1.
    """
    try:
        payload = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise RequestError(400, 'The body is not JSON; send an object such as {"prompt": "The rocket", "seed": 1}.') from None
    if not isinstance(payload, dict):
        raise RequestError(400, 'The body is not a JSON object; send an object such as {"prompt": "The rocket", "seed": 1}.')
    unknown = sorted(set(payload) - set(GENERATE_FIELDS))
    if unknown:
        raise RequestError(400, f"Unknown field {unknown[0]!r}; send only {' and '.join(GENERATE_FIELDS)}.")
    prompt, seed = payload.get("prompt", ""), payload.get("seed")
    prompt = "" if prompt is None else prompt
    if not isinstance(prompt, str):
        raise RequestError(400, f"'prompt' is {type(prompt).__name__}, not a string; send text, or leave it out for a random tweet.")
    if seed is None:
        seed = secrets.randbelow(2**31)
    elif type(seed) is not int:
        raise RequestError(400, f"'seed' is {json.dumps(seed)}, not a whole number; send one from 0 to {MAX_SEED}.")
    elif not 0 <= seed <= MAX_SEED:
        raise RequestError(422, f"'seed' is {seed}; send one from 0 to {MAX_SEED}.")
    try:
        return check_prompt(prompt), seed
    except PromptError as error:
        raise RequestError(422, str(error)) from None


def parse_last(last: str | None) -> int:
    """``?last=N`` as a number of rows, 1 to ``MAX_RUNS`` (``DEFAULT_RUNS`` when absent)."""
    if last is None:
        return DEFAULT_RUNS
    if not last.isdigit() or not 1 <= int(last) <= MAX_RUNS:
        raise RequestError(422, f"'last' is {last!r}; ask for 1 to {MAX_RUNS} rows, e.g. /api/runs?last=5.")
    return int(last)


def _generate(predictor: Predictor, prompt: str, seed: int) -> dict[str, Any]:
    try:
        text, version = predictor.generate(prompt, seed)
    except ModelUnavailableError as error:
        raise RequestError(503, str(error)) from None
    except TweetgenError as error:  # e.g. a prompt that leaves the model no room
        raise RequestError(422, str(error)) from None
    return {"text": text, "model": version.name, "version": version.version, "seed": seed, "prompt": prompt}


async def _body(request: Request) -> bytes:
    """The request body, refused (413) past ``MAX_BODY_BYTES`` without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RequestError(413, f"The body is {int(declared):,} bytes; send at most {MAX_BODY_BYTES:,}.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise RequestError(413, f"The body is over {MAX_BODY_BYTES:,} bytes; send at most {MAX_BODY_BYTES:,}.")
    return body


def _error(status: int, sentence: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": sentence}, status_code=status, headers=headers)
