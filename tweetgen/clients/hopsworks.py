"""The Hopsworks connection both Hopsworks adapters share: login, time bounds and error sentences.

``connect_hopsworks`` logs in without ever prompting: the API key and the project must be set,
the login is bounded in time, and every REST call after it gets a default timeout (the SDK sends
``timeout=None`` to ``requests``, so a black-holed route would hang for ever).

``failure_sentence`` turns whatever the SDK raises into one sentence naming the cause and the fix;
``sdk_errors`` lists what it raises. ``import hopsworks`` happens inside functions, so importing
this module costs nothing and needs no account.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tweetgen.config import Settings
from tweetgen.errors import ConfigError, StoreError

T = TypeVar("T")

CONNECT_TIMEOUT_S = 10.0  # opening a connection; HOPSWORKS_TIMEOUT bounds each answer
#: Gateway answers a busy cluster gives for a moment (502, 503, 504): each call is retried this many
#: times, after 0, 1 and 2 s, before its failure becomes a sentence. A 500 is a fault, not retried.
RETRIED_STATUSES = (502, 503, 504)
RETRIES = 3
RETRY_BACKOFF_S = 0.5
KAFKA_TIMEOUT_S = 6.0  # the SDK's own bound on Kafka metadata calls (hsfs/core/kafka_engine.py, "kafka_timeout")


def kafka_timeout_s(timeout_s: float) -> float:
    """How long a write waits for Kafka's metadata: the SDK's 6 s, or less if HOPSWORKS_TIMEOUT is less."""
    return min(KAFKA_TIMEOUT_S, timeout_s)


def connect_hopsworks(settings: Settings) -> Any:
    """Log in to Hopsworks and return the project, or raise without prompting or hanging.

    After the login every REST call the SDK makes is bounded by ``settings.hopsworks_timeout_s``.

    Raises:
        ConfigError: HOPSWORKS_API_KEY or HOPSWORKS_PROJECT is not set (checked before any call).
        StoreError: the login failed, or did not finish within ``settings.hopsworks_timeout_s``.
    """
    api_key, project = check_credentials(settings)
    host, timeout = settings.hopsworks_host, settings.hopsworks_timeout_s
    import hopsworks

    def login() -> Any:
        return hopsworks.login(host=host, project=project, api_key_value=api_key, engine="python")

    try:
        with contextlib.redirect_stdout(sys.stderr):  # the SDK prints where it logged in: stdout carries results
            result = _run_bounded(login, timeout)
    except TimeoutError:
        raise StoreError(
            f"Logging in to Hopsworks at {host} did not finish within {timeout:g} s; check your network "
            "connection and HOPSWORKS_HOST, or raise HOPSWORKS_TIMEOUT."
        ) from None
    except Exception as error:  # noqa: BLE001 - any login failure is one message, never a traceback with the key
        raise StoreError(f"Could not log in to Hopsworks project '{project}' at {host}: {_login_failure(error, api_key)}") from None
    if result is None:
        raise StoreError(f"Hopsworks at {host} returned no project for '{project}'; check HOPSWORKS_PROJECT.")
    bound_sdk_calls(timeout)
    return result


def _login_failure(error: BaseException, secret: str) -> str:
    """The cause of a failed login and its fix."""
    import requests

    if isinstance(error, requests.exceptions.ConnectionError):
        return (
            f"{_connection_problem(error)}; check your network connection and HOPSWORKS_HOST (and HOPSWORKS_PORT "
            "if you set it)."
        )
    return f"{describe_error(error, secret)}; check HOPSWORKS_API_KEY, HOPSWORKS_PROJECT and HOPSWORKS_HOST."


def _connection_problem(error: BaseException) -> str:
    """What ``requests`` means by a ``ConnectionError``, in words (its text is a nested repr)."""
    text = str(error)
    for clue, meaning in (
        ("Connection refused", "nothing answers on that port (connection refused)"),
        ("Name or service not known", "the host name does not resolve"),
        ("nodename nor servname", "the host name does not resolve"),
        ("Temporary failure in name resolution", "the host name does not resolve (no DNS: offline?)"),
        ("Network is unreachable", "the network is unreachable (offline?)"),
        ("timed out", "the connection timed out"),
        ("CERTIFICATE_VERIFY_FAILED", "its TLS certificate was not trusted"),
    ):
        if clue in text:
            return f"the host could not be reached: {meaning}"
    return "the host could not be reached"


def bound_sdk_calls(timeout_s: float) -> None:
    """Give every REST call of the logged-in SDK client a default timeout of ``timeout_s`` seconds,
    and retry a short burst of gateway errors (``RETRIED_STATUSES``).

    The SDK's client keeps one ``requests`` session (``hopsworks_common.client.base.Client._session``)
    and sends each call with ``timeout=None`` and no retry; an adapter mounted on it fills in the
    bound and the retries. A timed-out call raises ``requests.exceptions.Timeout``, an ``OSError``.
    Every method is retried: the SDK's POSTs and PUTs after login (starting a job, uploading a
    chunk, registering a model) do no harm when repeated.
    """
    import requests
    from hopsworks_common import client
    from urllib3.util.retry import Retry

    retry = Retry(
        total=RETRIES, connect=False, read=False, status=RETRIES,  # a timeout stays a Timeout
        status_forcelist=RETRIED_STATUSES, allowed_methods=None,
        backoff_factor=RETRY_BACKOFF_S, raise_on_status=False,
    )

    class DefaultTimeoutAdapter(requests.adapters.HTTPAdapter):
        def send(self, request: Any, timeout: Any = None, **kwargs: Any) -> Any:
            return super().send(request, timeout=timeout or (min(CONNECT_TIMEOUT_S, timeout_s), timeout_s), **kwargs)

    client._get_instance()._session.mount("https://", DefaultTimeoutAdapter(max_retries=retry))
def check_credentials(settings: Settings) -> tuple[str, str]:
    """The stripped API key and project name, checked before anything is imported or called.

    Raises:
        ConfigError: HOPSWORKS_API_KEY or HOPSWORKS_PROJECT is not set.
    """
    api_key = (settings.hopsworks_api_key or "").strip()  # a trailing newline once leaked the key
    if not api_key:
        raise ConfigError(
            "HOPSWORKS_API_KEY is not set: create an API key in the Hopsworks UI (Account settings > "
            "API keys) and set HOPSWORKS_API_KEY=<key> in the environment or in .env, or use "
            "TWEETGEN_BACKEND=local."
        )
    project = (settings.hopsworks_project or "").strip()
    if not project:
        raise ConfigError(
            "HOPSWORKS_PROJECT is not set: set it to the name of your Hopsworks project in the "
            "environment or in .env (without it the SDK would ask in an interactive menu)."
        )
    return api_key, project


def _run_bounded(function: Callable[[], T], timeout: float) -> T:
    """Run ``function`` in a daemon thread; raise ``TimeoutError`` if it has not returned in time.

    A daemon thread, not an executor: a hung login must not keep the process from exiting.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, name="hopsworks-login", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def sdk_errors() -> tuple[type[BaseException], ...]:
    """What an SDK call raises for a refusal or a failure a user can meet.

    ``OSError`` covers ``requests``' errors (timeouts included); ``ValueError`` is how the SDK says
    that reads need the Query Service, or that a value does not fit its column. Writes go through
    the real ``confluent_kafka`` clients, whose ``KafkaException`` (``cimpl``) is not the SDK's own
    ``KafkaException``: a broker that cannot be reached raises it from ``Consumer.list_topics``.
    """
    from confluent_kafka import KafkaException as ConfluentKafkaException
    from hopsworks_common.client import exceptions  # where they are defined (hopsworks.client.exceptions lists some)

    return (
        exceptions.RestAPIError,
        exceptions.FeatureStoreException,
        exceptions.ProjectException,
        exceptions.JobException,
        exceptions.JobExecutionException,
        exceptions.KafkaException,
        exceptions.ModelRegistryException,
        exceptions.DatasetException,
        ConfluentKafkaException,
        OSError,
        EOFError,
        ValueError,
    )


def failure_sentence(action: str, where: str, error: BaseException, secret: str | None, timeout_s: float) -> str:
    """One sentence for a failed SDK call: what could not be done, where, the cause and the fix."""
    cause, fix = _cause_and_fix(error, secret, timeout_s)
    return f"Hopsworks could not {action} in {where}: {cause}; {fix}."


# Messages of the SDK (hopsworks 5.2.1) that have a cause a user can act on.
QUERY_SERVICE_MISSING = "Reading data with Hive is not supported"  # hsfs/engine/python.py, no Query Service
QUERY_SERVICE_FAILED = "Could not read data using Hopsworks Query Service"  # hsfs/core/arrow_flight_client.py
NO_DATANODE_BALANCER = "datanode load balancer"  # hsfs/core/delta_engine.py, a direct DELTA write


def _cause_and_fix(error: BaseException, secret: str | None, timeout_s: float) -> tuple[str, str]:
    import requests

    text = str(error)
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, requests.exceptions.Timeout):
        return f"Hopsworks did not answer within {timeout_s:g} s", "check your network connection, or raise HOPSWORKS_TIMEOUT"
    if isinstance(error, requests.exceptions.ConnectionError):
        return _connection_problem(error), "check your network connection and HOPSWORKS_HOST"
    kafka = _kafka_error(error)
    if kafka is not None:
        return _kafka_cause_and_fix(error, kafka, timeout_s)
    if QUERY_SERVICE_MISSING in text:
        return (
            "reads need the Hopsworks Query Service (Arrow Flight), which this cluster does not offer",
            "use a Hopsworks cluster with the Query Service enabled (Hopsworks Serverless has it), or ask "
            "its administrator to enable it",
        )
    if QUERY_SERVICE_FAILED in text:
        return (
            "the Hopsworks Query Service failed to read the data",
            "try again in a minute, and if it keeps failing check the Query Service's status with your "
            "Hopsworks administrator or support",
        )
    if NO_DATANODE_BALANCER in text:
        return (
            "the group is written straight to HopsFS, which from outside the cluster needs datanode load "
            "balancers this cluster does not have",
            "tweetgen writes stream groups through Kafka instead: delete this group in the Hopsworks UI "
            "(it was created by hand or by an older tweetgen) or give the contract a new version",
        )
    if type(error).__name__ == "JobExecutionException":
        return (
            f"the Hopsworks job failed ({_one_line(text, secret)})",
            "open the job's logs in the Hopsworks UI (Jobs), fix the cause, and run the command again",
        )
    if isinstance(status, int) and status >= 500:
        return (
            f"Hopsworks answered with a server error (HTTP {status}: {_one_line(getattr(error, 'user_message', ''), secret) or 'no detail'})"
            + (f", {RETRIES + 1} times in a row" if status in RETRIED_STATUSES else ""),
            "it is on Hopsworks' side: try again in a few minutes (rows already stored are skipped), and if it "
            "persists, check the cluster's status with your Hopsworks administrator or support",
        )
    if status in (401, 403):
        return _refusal(error, status, secret)
    return describe_error(error, secret), "check the project, your API key's scopes and the object in the Hopsworks UI"


def _refusal(error: BaseException, status: int, secret: str | None) -> tuple[str, str]:
    """A 401 or 403 after login: which host refused, and the three settings that decide it."""
    host = urlsplit(str(getattr(error, "url", "") or "")).hostname or "the host"
    settings = f"HOPSWORKS_HOST (now {host}), HOPSWORKS_PROJECT and HOPSWORKS_API_KEY"
    if status == 401:
        return (
            f"{host} refused the API key (HTTP 401)",
            f"check {settings}: the key must be one created on that cluster by a member of the project "
            "(Account settings > API keys), and not revoked",
        )
    said = _one_line(getattr(error, "user_message", ""), secret)
    return (
        f"{host} denied permission (HTTP 403{': ' + said if said else ''})",
        f"check {settings}: the key's user must be a member of the project, and the key needs the scopes "
        "FEATURESTORE, PROJECT, JOB, KAFKA, DATASET_VIEW, DATASET_CREATE, DATASET_DELETE and MODELREGISTRY "
        "(Account settings > API keys)",
    )


def _kafka_error(error: BaseException) -> Any:
    """The ``confluent_kafka.KafkaError`` behind ``error`` (raised by librdkafka, or the cause of the
    SDK's delivery error), or None."""
    from confluent_kafka import KafkaException

    for candidate in (error, error.__cause__):
        if isinstance(candidate, KafkaException) and candidate.args:
            return candidate.args[0]
    return None


def _kafka_cause_and_fix(error: BaseException, kafka: Any, timeout_s: float) -> tuple[str, str]:
    name = kafka.name() if hasattr(kafka, "name") else type(kafka).__name__
    said = kafka.str() if hasattr(kafka, "str") else str(kafka)
    network = (
        "check that this machine's network lets it connect to the Kafka broker of HOPSWORKS_HOST (writes from "
        "outside the cluster go through Kafka, which a firewall that lets only HTTPS through blocks)"
    )
    from confluent_kafka import KafkaException

    if not isinstance(error, KafkaException):  # the SDK's delivery error: some rows may have reached Kafka
        return (
            f"Kafka did not take every row (KafkaError {name}: {said})",
            f"{network}; then run the command again: rows already stored are skipped",
        )
    return (
        f"its Kafka broker could not be reached within {kafka_timeout_s(timeout_s):g} s (KafkaError {name}: {said})",
        f"{network}; nothing was written, so run the command again once Kafka answers",
    )


def _one_line(text: str, secret: str | None, limit: int = 200) -> str:
    text = " ".join(str(text).split()).lstrip(", ")  # the backend's user messages may start with ", "
    if secret:
        text = text.replace(secret, "***")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_error(error: BaseException, secret: str | None) -> str:
    """One line about an SDK error: its type, HTTP status, and a short message without the key."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    text = getattr(error, "user_message", "")
    if not text and status:  # RestAPIError's str() is a multi-line dump: name the reason and URL instead
        url = getattr(error, "url", None) or getattr(response, "url", "")
        text = f"{getattr(response, 'reason', '') or 'error'} for {url}"
    text = _one_line(text or str(error), secret)
    parts = [type(error).__name__, f"HTTP {status}" if status else "", text]
    return ": ".join(p for p in parts if p)
