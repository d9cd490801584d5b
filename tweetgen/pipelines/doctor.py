"""Checks of a cloud setup, run by ``python -m tweetgen doctor`` before a deploy.

Each check gives one line: ``ok`` and what it found, ``FAIL`` and what to fix, or ``skip`` and
why. In order: the settings (secrets are never shown) and the write plan's timeouts, the Hopsworks
login, the feature groups of the contracts, the project's Kafka broker (every write goes through
it), a scratch feature group written through Kafka, materialized by its job, read back through the
Query Service and deleted, whether ``HOPSWORKS_JOB_TIMEOUT`` leaves room for the job as long as
that one took, the model registry, and a file through the dataset API.
The X API token (one paid user lookup) and Modal (its token and the secrets the app needs) are
checked only when asked. Offline the login fails at once, or within ``HOPSWORKS_TIMEOUT`` on a
route that never answers, and the checks that need it are skipped.

The scratch group takes as long as one materialization job: on Hopsworks Serverless a Spark job
of a minute or two, bounded by ``HOPSWORKS_JOB_TIMEOUT``.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from tweetgen.clients import write_plan
from tweetgen.config import Settings
from tweetgen.errors import ConfigError, StoreError, TweetgenError
from tweetgen.schema import GROUPS, UTC_TIMESTAMP, GroupSpec

OK, FAIL, SKIP = "ok", "FAIL", "skip"
X_LOOKUP_COST = "one paid user lookup, about $0.010"
#: The Modal secrets ``modal_app.py`` mounts, and how to create each (tests keep the two in step).
MODAL_SECRETS = {
    "hopsworks": "modal secret create hopsworks HOPSWORKS_API_KEY=... HOPSWORKS_PROJECT=... HOPSWORKS_HOST=...",
    "x-api": "modal secret create x-api X_BEARER_TOKEN=...",
}


@dataclass(frozen=True)
class CheckResult:
    """One line of the report: a check's name, ``ok``/``FAIL``/``skip``, and what it found or what to fix."""

    name: str
    status: str
    detail: str
    seconds: float = 0.0

    def line(self) -> str:
        took = f" ({self.seconds:.1f} s)" if self.seconds >= 0.1 else ""
        return f"{self.status:<4}  {self.name}{took}: {self.detail}"


@dataclass
class DoctorReport:
    results: list[CheckResult] = field(default_factory=list)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == FAIL]

    def summary(self) -> str:
        if not self.failed:
            return f"All {len(self.results)} checks passed or were skipped as shown: ready to deploy."
        return f"{len(self.failed)} of {len(self.results)} checks failed: fix them and run `python -m tweetgen doctor` again."


def scratch_group(token: str) -> GroupSpec:
    """The scratch feature group the doctor writes, reads and deletes (``token``: a few hex digits)."""
    return GroupSpec(
        name=f"tweetgen_doctor_{token}",
        version=1,
        primary_key=("check_id",),
        event_time="checked_at",
        schema=pa.schema([("check_id", pa.int64()), ("checked_at", UTC_TIMESTAMP), ("note", pa.string())]),
        description="Scratch group written by `python -m tweetgen doctor` and deleted when it ends; safe to delete.",
        filled_by="python -m tweetgen doctor",
    )


def scratch_rows() -> pd.DataFrame:
    """Three rows with an emoji, accents and a newline: what tweets hold."""
    return pd.DataFrame(
        {
            "check_id": pd.Series([1, 2, 3], dtype="int64"),
            "checked_at": pd.Series(pd.to_datetime(["2026-01-01 06:00", "2026-01-02 06:00", "2026-01-03 06:00"], utc=True)).astype(
                "datetime64[us, UTC]"
            ),
            "note": ["rocket 🚀", "café déjà vu", "two\nlines"],
        }
    )


class Doctor:
    """Runs the checks in order, handing each line to ``echo`` as soon as it is known."""

    def __init__(self, settings: Settings, echo: Callable[[str], Any] = print) -> None:
        self.settings = settings
        self.echo = echo
        self.report = DoctorReport()
        self.token = secrets.token_hex(4)

    def record(self, name: str, status: str, detail: str, seconds: float = 0.0) -> CheckResult:
        result = CheckResult(name, status, detail, seconds)
        self.report.results.append(result)
        self.echo(result.line())
        return result

    def check(self, name: str, run: Callable[[], str]) -> bool:
        """Run one check: ``ok`` with the line it returns, ``FAIL`` with the sentence of a ``TweetgenError``."""
        started = time.monotonic()
        try:
            detail = run()
        except TweetgenError as error:
            self.record(name, FAIL, str(error), time.monotonic() - started)
            return False
        self.record(name, OK, detail, time.monotonic() - started)
        return True

    def skip(self, names: Sequence[str], why: str) -> None:
        for name in names:
            self.record(name, SKIP, why)


def run_doctor(
    settings: Settings,
    check_x: bool = False,
    check_modal: bool = False,
    echo: Callable[[str], Any] = print,
    modal_command: Sequence[str] = (sys.executable, "-m", "modal"),
) -> DoctorReport:
    """Check the cloud setup ``settings`` describe; print each line through ``echo``.

    Args:
        check_x: also check the X API token (one paid user lookup, about $0.010).
        check_modal: also check the Modal token and the secrets ``modal_app.py`` needs.
        modal_command: how to run the Modal CLI.
    """
    doctor = Doctor(settings, echo)
    check_settings(doctor, check_x)
    if settings.backend == "local":
        doctor.check("local store", lambda: check_local_store(settings))
    check_hopsworks(doctor)
    if check_x:
        doctor.check("X API", lambda: check_x_token(settings))
    else:
        doctor.skip(["X API"], f"not checked: pass --x to check the token ({X_LOOKUP_COST})")
    if check_modal:
        doctor.check("Modal", lambda: check_modal_setup(modal_command, settings.hopsworks_timeout_s))
    else:
        doctor.skip(["Modal"], "not checked: pass --modal to check the Modal token and secrets")
    return doctor.report


def check_local_store(settings: Settings) -> str:
    """The data directory (``--data-dir``) is a writable folder and every Delta log in it is whole."""
    from tweetgen.pipelines.preflight import check_data_dir
    from tweetgen.pipelines.preflight import check_local_store as check_logs

    check_data_dir(settings.data_dir, writes=True)
    check_logs(settings)
    present = [f"{spec.name} v{spec.version}" for spec in GROUPS.values()
               if (settings.feature_store_dir / f"{spec.name}_{spec.version}" / "_delta_log").is_dir()]
    return f"{settings.data_dir}: a writable folder; feature groups: {', '.join(present) or 'none written yet'}"


# ---- settings ------------------------------------------------------------------------------


def check_settings(doctor: Doctor, check_x: bool) -> None:
    """What is set, without a network call; a secret is only said to be set, never shown."""
    s = doctor.settings
    backend = "hopsworks" if s.backend == "hopsworks" else (
        f"{s.backend} (this machine's pipelines use the local store; the checks below are of the cloud setup)"
    )
    doctor.record("TWEETGEN_BACKEND", OK, backend)
    for name, value, how in (
        ("HOPSWORKS_API_KEY", s.hopsworks_api_key, "create one in the Hopsworks UI (Account settings > API keys) and set it"),
        ("HOPSWORKS_PROJECT", s.hopsworks_project, "set it to the name of your Hopsworks project"),
    ):
        if (value or "").strip():
            shown = "set (not shown)" if name.endswith("KEY") else value.strip()
            doctor.record(name, OK, shown)
        else:
            doctor.record(name, FAIL, f"not set: {how}, in the environment or in .env")
    doctor.record("HOPSWORKS_HOST", OK, s.hopsworks_host)
    doctor.record(
        "timeouts", OK, f"HOPSWORKS_TIMEOUT {s.hopsworks_timeout_s:g} s per call, HOPSWORKS_JOB_TIMEOUT {s.hopsworks_job_timeout_s:g} s per job"
    )
    doctor.record("write plan", OK, write_plan.describe(s))
    doctor.check("TWEETGEN_MODEL_NAME", lambda: _model_name(s.model_name))
    needed = check_x or s.live_source == "x"
    if (s.x_bearer_token or "").strip():
        doctor.record("X_BEARER_TOKEN", OK, "set (not shown)")
    elif needed:
        doctor.record("X_BEARER_TOKEN", FAIL, "not set: set it to the bearer token of your X developer app")
    else:
        doctor.record("X_BEARER_TOKEN", SKIP, "not set; needed only with TWEETGEN_LIVE_SOURCE=x")


def _model_name(name: str) -> str:
    from tweetgen.registry.port import check_model_name

    return check_model_name(name)


# ---- Hopsworks -----------------------------------------------------------------------------

HOPSWORKS_CHECKS = ("Hopsworks login", "feature groups", "Kafka", "scratch group write", "job timing", "scratch group read",
                    "scratch group delete", "model registry", "dataset API")
JOB_TIMEOUT_MARGIN = 1.5  # HOPSWORKS_JOB_TIMEOUT should be at least this many times a measured materialization


def check_hopsworks(doctor: Doctor) -> None:
    """Login, the contracts' groups, a scratch group round trip, the registry and the dataset API."""
    from tweetgen.clients.hopsworks import connect_hopsworks

    s = doctor.settings
    if not ((s.hopsworks_api_key or "").strip() and (s.hopsworks_project or "").strip()):
        doctor.skip(HOPSWORKS_CHECKS, "needs HOPSWORKS_API_KEY and HOPSWORKS_PROJECT")
        return
    project: list[Any] = []

    def login() -> str:
        project.append(connect_hopsworks(s))
        return f"project '{project[0].name}' at {s.hopsworks_host}"

    if not doctor.check("Hopsworks login", login):
        doctor.skip(HOPSWORKS_CHECKS[1:], "needs a Hopsworks login")
        return
    check_feature_store(doctor, project[0])
    check_model_registry(doctor, project[0])


def check_feature_store(doctor: Doctor, project: Any) -> None:
    from tweetgen.store.hopsworks import HopsworksFeatureStore

    s = doctor.settings
    store = HopsworksFeatureStore(project, s.hopsworks_api_key, s.hopsworks_timeout_s, s.hopsworks_job_timeout_s)

    def groups() -> str:
        found = [f"{spec.name} v{spec.version} {'ready' if store.check_group(spec) else 'not written yet'}" for spec in GROUPS.values()]
        return "; ".join(found)

    doctor.check("feature groups", groups)
    if not doctor.check("Kafka", store.check_kafka):
        doctor.skip(["scratch group write", "job timing", "scratch group read", "scratch group delete"], "needs Kafka")
        return
    spec, written = scratch_group(doctor.token), scratch_rows()

    def write() -> str:
        result = store.insert(spec, written)
        return f"{result.inserted} rows into {spec.name}, through Kafka and its materialization job"

    def read() -> str:
        back = store.read(spec).sort_values("check_id").reset_index(drop=True)
        if not back.equals(written):
            raise StoreError(f"{spec.name} read back other rows than were written ({len(back)} rows); check the group in the Hopsworks UI.")
        return f"{len(back)} rows read back through the Query Service, as written"

    def delete() -> str:
        return f"{spec.name} deleted" if store.drop(spec) else f"{spec.name} was never created"

    if doctor.check("scratch group write", write):
        doctor.check("job timing", lambda: check_job_timing(doctor.report.results[-1].seconds, s))
        doctor.check("scratch group read", read)
    else:
        doctor.skip(["job timing", "scratch group read"], "nothing was written")
    doctor.check("scratch group delete", delete)


def check_job_timing(write_s: float, settings: Settings) -> str:
    """Whether ``HOPSWORKS_JOB_TIMEOUT`` leaves room for a materialization as long as the scratch
    write's (which created the group, sent the rows and waited for its job): at least
    ``JOB_TIMEOUT_MARGIN`` times it, or a write on a slower day fails for want of patience."""
    needed = JOB_TIMEOUT_MARGIN * write_s
    have = settings.hopsworks_job_timeout_s
    if have < needed:
        raise ConfigError(
            f"The scratch write and its materialization job took {write_s:.0f} s, and HOPSWORKS_JOB_TIMEOUT is "
            f"{have:g} s: set it to at least {needed:.0f} s ({JOB_TIMEOUT_MARGIN:g} times that), then redeploy "
            "(modal deploy modal_app.py) so the Modal timeouts grow with it."
        )
    return f"a write with its materialization job took {write_s:.0f} s; HOPSWORKS_JOB_TIMEOUT {have:g} s leaves room for {have / max(write_s, 0.001):.1f} times that"


def check_model_registry(doctor: Doctor, project: Any) -> None:
    from tweetgen.registry.hopsworks import HopsworksModelRegistry

    s = doctor.settings
    registry = HopsworksModelRegistry(lambda: project, project.name, s.hopsworks_api_key, s.hopsworks_timeout_s)

    def versions() -> str:
        found = registry.versions(s.model_name)
        if not found:
            return f"no versions of '{s.model_name}' yet (train one: python -m tweetgen train --backend hopsworks)"
        record = registry.champion_record(s.model_name)
        champion = f"champion: version {record.get('version')}" if record else "no champion yet"
        return f"{len(found)} versions of '{s.model_name}', {champion}"

    doctor.check("model registry", versions)
    doctor.check("dataset API", lambda: registry.check_dataset_api(doctor.token))


# ---- X and Modal ---------------------------------------------------------------------------


def check_x_token(settings: Settings) -> str:
    """One paid user lookup of ``settings.username``: the token works and the account exists."""
    import requests
    import tweepy

    from tweetgen.errors import SourceError
    from tweetgen.sources.x_api import check_username, make_client

    username = check_username(settings.username)
    client = make_client(settings.x_bearer_token, timeout_s=settings.hopsworks_timeout_s)
    try:
        response = client.get_user(username=username)
    except tweepy.HTTPException as error:
        raise SourceError(_x_refusal(error.response.status_code)) from None
    except requests.RequestException as error:
        raise SourceError(f"The X API did not answer ({type(error).__name__}); check your network connection.") from None
    if response.data is None:
        raise SourceError(f"X has no account named @{username}; check TWEETGEN_USERNAME ({X_LOOKUP_COST} was spent).")
    return f"token accepted, @{username} is user id {response.data.id} ({X_LOOKUP_COST} was spent)"


def _x_refusal(status: int) -> str:
    fixes = {
        401: "the bearer token was rejected (401): check X_BEARER_TOKEN, or regenerate it in the X developer console",
        402: "out of X API credits (402): top up the prepaid credits in the X developer console",
        403: "access refused (403): the app's plan must allow user lookups and timeline reads",
        429: "rate limited (429): try again in 15 minutes",
    }
    return fixes.get(status, f"the X API answered {status}: try again later") + "."


def check_modal_setup(command: Sequence[str], timeout_s: float) -> str:
    """The Modal token works (``modal secret list``) and the secrets ``modal_app.py`` mounts exist."""
    try:
        done = subprocess.run([*command, "secret", "list", "--json"], capture_output=True, text=True, timeout=timeout_s)
    except FileNotFoundError:
        raise ConfigError("The Modal CLI is not installed: pip install modal, then run `modal setup`.") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"Modal did not answer within {timeout_s:g} s; check your network connection.") from None
    if done.returncode != 0:
        said = " ".join(done.stderr.split())
        if "No module named modal" in said:
            raise ConfigError("The Modal CLI is not installed: pip install modal, then run `modal setup`.")
        if "Token missing" in said or "token" in said.lower():
            raise ConfigError("Modal has no valid token on this machine: run `modal setup` (or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET).")
        raise ConfigError(f"`modal secret list` failed ({said[:200]}); run it yourself to see why.")
    try:
        names = {row["name"] for row in json.loads(done.stdout)}
    except (ValueError, KeyError, TypeError):
        raise ConfigError("`modal secret list --json` printed something unexpected; run it yourself to see why.") from None
    missing = [name for name in MODAL_SECRETS if name not in names]
    if missing:
        how = "; ".join(MODAL_SECRETS[name] for name in missing)
        raise ConfigError(f"Modal secrets {', '.join(missing)} are missing: create them ({how}) before `modal deploy modal_app.py`.")
    return f"token works; secrets {', '.join(MODAL_SECRETS)} exist"
