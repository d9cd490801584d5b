"""The Hopsworks connection both Hopsworks adapters share: login, time bounds and error sentences.

``connect_hopsworks`` logs in without ever prompting: the API key and the project must be set,
and the login is bounded in time (the SDK has no client timeout). ``import hopsworks`` happens
inside functions, so importing this module costs nothing and needs no account.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from tweetgen.config import Settings
from tweetgen.errors import ConfigError, StoreError

T = TypeVar("T")


def connect_hopsworks(settings: Settings) -> Any:
    """Log in to Hopsworks and return the project, or raise without prompting or hanging.

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
        result = _run_bounded(login, timeout)
    except TimeoutError:
        raise StoreError(
            f"Logging in to Hopsworks at {host} did not finish within {timeout:g} s; check your network "
            "connection and HOPSWORKS_HOST, or raise HOPSWORKS_TIMEOUT."
        ) from None
    except Exception as error:  # noqa: BLE001 - any login failure is one message, never a traceback with the key
        raise StoreError(
            f"Could not log in to Hopsworks project '{project}' at {host} ({describe_error(error, api_key)}); "
            "check HOPSWORKS_API_KEY, HOPSWORKS_PROJECT and HOPSWORKS_HOST."
        ) from None
    if result is None:
        raise StoreError(f"Hopsworks at {host} returned no project for '{project}'; check HOPSWORKS_PROJECT.")
    return result


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
    """The exceptions an SDK call raises for a refusal (OSError covers requests' errors)."""
    import hopsworks

    exceptions = hopsworks.client.exceptions
    return (exceptions.RestAPIError, exceptions.FeatureStoreException, exceptions.ProjectException, OSError, EOFError)


def describe_error(error: BaseException, secret: str | None) -> str:
    """One line about an SDK error: its type, HTTP status, and a short message without the key."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    text = getattr(error, "user_message", "")
    if not text and status:  # RestAPIError's str() is a multi-line dump: name the reason and URL instead
        url = getattr(error, "url", None) or getattr(response, "url", "")
        text = f"{getattr(response, 'reason', '') or 'error'} for {url}"
    text = " ".join((text or str(error)).split())
    if secret:
        text = text.replace(secret, "***")
    if len(text) > 200:
        text = text[:197] + "..."
    parts = [type(error).__name__, f"HTTP {status}" if status else "", text]
    return ": ".join(p for p in parts if p)
