"""A smoke test of a deployed app: its health and generate endpoints answer as documented.

``python -m tweetgen smoke URL`` runs it right after a deploy (``modal deploy``, a Space push):
``GET /api/health`` must answer 200 with the job health, and ``POST /api/generate`` must answer
200 with a tweet. A daily-job warning in the health is shown, not failed on: a fresh deployment
has no runs yet. An app that cannot be reached is one sentence, and the rest is not tried.

Given the newest run of a store (``smoke URL --backend ... --data-dir ...``), it also checks that
the app reads that store: ``GET /api/runs?last=1`` must answer that run.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

SMOKE_PROMPT = "The"
SMOKE_SEED = 1


@dataclass(frozen=True)
class Check:
    """One endpoint checked: its name, whether it passed, and what was seen."""

    name: str
    ok: bool
    detail: str


@dataclass
class SmokeReport:
    url: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def lines(self) -> list[str]:
        lines = [f"{'ok' if c.ok else 'FAILED':<7}{c.name:<10}{c.detail}" for c in self.checks]
        return [*lines, f"smoke test of {self.url}: {'passed' if self.ok else 'failed'}"]


@dataclass(frozen=True)
class StoreRun:
    """The newest run of the daily job in a store: its time and its rows' (tweet id, model version)."""

    where: str
    generated_at: datetime | None  # None: the store holds no runs
    rows: frozenset[tuple[int, int]] = frozenset()


class Unreachable(Exception):
    """The app did not answer at all (refused, timed out, no such host)."""


def smoke_test(url: str, timeout_s: float = 120.0, store_run: StoreRun | None = None) -> SmokeReport:
    """Check ``url``'s ``/api/health`` and ``/api/generate`` (and with ``store_run``, that its
    ``/api/runs`` answers that run); never raises for what the app answers."""
    base = url.rstrip("/")
    report = SmokeReport(base)
    checks = [("health", _check_health), ("generate", _check_generate)]
    if store_run is not None:
        checks.append(("store", lambda base, timeout_s: _check_store(base, timeout_s, store_run)))
    for name, check in checks:
        try:
            report.checks.append(check(base, timeout_s))
        except Unreachable as error:
            report.checks.append(Check(name, False, str(error)))
            break
    return report


def _check_health(base: str, timeout_s: float) -> Check:
    status, body = _call("GET", f"{base}/api/health", None, timeout_s)
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("jobs"), list):
        return Check("health", False, f"GET /api/health answered HTTP {status}: {_short(body)}")
    jobs = ", ".join(f"{j.get('job')} {j.get('status')}" for j in body["jobs"]) or "no runs recorded"
    warning = f"; warning: {body['warning']}" if body.get("warning") else ""
    return Check("health", True, f"{jobs}{warning}")


def _check_generate(base: str, timeout_s: float) -> Check:
    started = time.perf_counter()
    status, body = _call("POST", f"{base}/api/generate", {"prompt": SMOKE_PROMPT, "seed": SMOKE_SEED}, timeout_s)
    seconds = time.perf_counter() - started
    fields_ok = isinstance(body, dict) and isinstance(body.get("text"), str) and body.get("seed") == SMOKE_SEED
    if status != 200 or not fields_ok or not body["text"].strip():
        return Check("generate", False, f"POST /api/generate answered HTTP {status}: {_short(body)}")
    return Check("generate", True, f"{body.get('model')} v{body.get('version')} wrote {body['text']!r} in {seconds:.1f} s")


def _check_store(base: str, timeout_s: float, expected: StoreRun) -> Check:
    status, body = _call("GET", f"{base}/api/runs?last=1", None, timeout_s)
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("runs"), list):
        return Check("store", False, f"GET /api/runs answered HTTP {status}: {_short(body)}")
    newest = body["runs"][0] if body["runs"] else None
    if newest is None or expected.generated_at is None:
        same = newest is None and expected.generated_at is None
        detail = f"neither the app nor {expected.where} holds a run yet" if same else (
            f"the app shows {'no run' if newest is None else 'a run'} and {expected.where} "
            f"{'holds no run' if expected.generated_at is None else 'holds runs'}")
        return Check("store", same, detail if same else f"{detail}: {_other_store}")
    at = datetime.fromisoformat(str(newest.get("generated_at")))
    row = (newest.get("tweet_id"), newest.get("model_version"))
    if abs(at - expected.generated_at) >= timedelta(milliseconds=1) or row not in expected.rows:  # JSON times carry ms
        return Check("store", False, f"the app's newest run is tweet {row[0]}, model version {row[1]} at {at:%Y-%m-%d %H:%M:%S} UTC; "
                                     f"{expected.where}'s is at {expected.generated_at:%Y-%m-%d %H:%M:%S} UTC: {_other_store}")
    return Check("store", True, f"the app's newest run (tweet {row[0]}, model version {row[1]}, "
                                f"{at:%Y-%m-%d %H:%M} UTC) is the newest in {expected.where}")


_other_store = ("the app reads another store (check the deployment's TWEETGEN_BACKEND and HOPSWORKS_PROJECT), "
                "or a run written in the last 30 s is not in its cache yet")


def _call(method: str, url: str, payload: dict | None, timeout_s: float) -> tuple[int, Any]:
    """(HTTP status, JSON body or text) of one request; raises ``Unreachable`` when nothing answered."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", "User-Agent": "tweetgen-smoke"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - the user's own URL
            return response.status, _parse(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _parse(error.read())
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise Unreachable(f"Could not reach {url} ({reason}); check the URL and that the app is deployed and running.") from None


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _short(body: Any, limit: int = 200) -> str:
    text = json.dumps(body) if not isinstance(body, str) else " ".join(body.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
