"""Settings: the only module that reads the environment.

Values come from, in increasing priority: defaults, a ``.env`` file in the working directory,
the process environment, and CLI flags (``Settings.with_overrides``). Nothing is read at import
time; call ``Settings.load()``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tweetgen.errors import ConfigError

BACKENDS = ("local", "hopsworks")
LIVE_SOURCES = ("replay", "x")
NOTIFY_ON = ("failure", "always")
#: The variables of job notifications (``modal_app.py`` hands the ones set to the Modal jobs).
NOTIFY_VARIABLES = (
    "TWEETGEN_SMTP_HOST", "TWEETGEN_SMTP_PORT", "TWEETGEN_SMTP_USER", "TWEETGEN_SMTP_PASSWORD", "TWEETGEN_SMTP_FROM",
    "TWEETGEN_NOTIFY_EMAIL", "TWEETGEN_NOTIFY_WEBHOOK", "TWEETGEN_NOTIFY_ON",
)
# Cron specs (5 fields, UTC) of the scheduled jobs: the Modal app and `tweetgen schedule` both
# read them from here, so a change here changes both. The scrape runs shortly before the daily
# batch inference, so the newest tweet of the day is the one the model answers.
SCRAPE_CRON = "30 5 * * *"
INFERENCE_CRON = "0 6 * * *"
# The registry name of the model, whatever its family (TWEETGEN_MODEL_NAME). Registries made before the
# LSTM joined GPT-2 hold their versions under the former default; ``former_name_hint`` says how to reach them.
DEFAULT_MODEL_NAME = "tweet_model"
FORMER_DEFAULT_MODEL_NAME = "tweet_gpt2"
# The retrain job checks daily, after the scrape and before the batch inference, so that a new
# champion writes the day's tweets; most days it finds too few new tweets and skips at once.
RETRAIN_CRON = "45 5 * * *"
# What `python -m tweetgen --help` says about the settings (docs/configuration.md has the details).
ENVIRONMENT_HELP = (
    "Settings come from the environment or a .env file; flags override them. "
    "TWEETGEN_BACKEND (local or hopsworks), TWEETGEN_DATA_DIR, TWEETGEN_USERNAME, TWEETGEN_DISPLAY_NAME, "
    "TWEETGEN_MODEL_NAME, TWEETGEN_LIVE_SOURCE (replay or x). "
    "Retraining: TWEETGEN_RETRAIN_MIN_NEW_TWEETS, TWEETGEN_DRIFT_WINDOW, TWEETGEN_DRIFT_MARGIN. "
    "Hopsworks: HOPSWORKS_API_KEY, HOPSWORKS_PROJECT, HOPSWORKS_HOST, HOPSWORKS_PORT, HOPSWORKS_TIMEOUT, "
    "HOPSWORKS_JOB_TIMEOUT (seconds a write waits for its materialization job). "
    "X API: X_BEARER_TOKEN, X_USER_ID (the account's numeric id: spares the paid user lookup). "
    "App: GRADIO_SERVER_PORT, GRADIO_SERVER_NAME (Gradio's convention; --port and --host override them). "
    "Queries: TWEETGEN_QUERY_MEMORY_MB (default 1024), TWEETGEN_QUERY_TIMEOUT_S (default 60). "
    "Job notifications: TWEETGEN_NOTIFY_ON (failure or always), TWEETGEN_SMTP_HOST, TWEETGEN_SMTP_PORT, "
    "TWEETGEN_SMTP_USER, TWEETGEN_SMTP_PASSWORD, TWEETGEN_SMTP_FROM, TWEETGEN_NOTIFY_EMAIL, TWEETGEN_NOTIFY_WEBHOOK. "
    "Set by the platform: SPACE_ID and SPACES_ZERO_GPU (Hugging Face), MODAL_IS_REMOTE (Modal), and "
    "TWEETGEN_DATA_VOLUME, where a Modal Volume holding TWEETGEN_DATA_DIR is mounted (modal_app.py sets it; "
    "without it the local backend is refused on Modal)."
)


@dataclass(frozen=True)
class Settings:
    """Everything a pipeline needs to know about where it runs.

    Attributes:
        backend: ``local`` (Delta Lake tables under ``data_dir``) or ``hopsworks``.
        data_dir: root of the embedded feature store, model registry and caches.
        username: the account whose tweets the pipeline learns from.
        display_name: the name shown on its tweet images (``TWEETGEN_DISPLAY_NAME``; the default
            belongs to the default account, any other account shows its handle), only on its real
            tweets: the invented sample corpus shows its own invented account.
        hopsworks_api_key: ``HOPSWORKS_API_KEY``; required for the hopsworks backend.
        hopsworks_project: ``HOPSWORKS_PROJECT``; required for the hopsworks backend.
        hopsworks_host: ``HOPSWORKS_HOST``.
        hopsworks_timeout_s: ``HOPSWORKS_TIMEOUT``: bound on the login and on every Hopsworks call
            after it (REST, Query Service reads, Kafka delivery).
        hopsworks_job_timeout_s: ``HOPSWORKS_JOB_TIMEOUT``: how long a write waits for the
            materialization job that moves its rows from Kafka into the offline table.
        x_bearer_token: ``X_BEARER_TOKEN`` for the X API v2.
        x_user_id: ``X_USER_ID``, the account's numeric X user id; spares the paid lookup (without
            it the lookup runs once and the id is kept in the ``x_cursor`` feature group).
        live_source: where scheduled scrapes read new tweets: ``replay`` or ``x``.
        model_name: the registry name of the model (``[a-zA-Z0-9_]``).
        retrain_min_new_tweets: ``TWEETGEN_RETRAIN_MIN_NEW_TWEETS``: new tweets since the
            champion's data that make the retrain job continue it (``tweetgen.pipelines.retrain``).
        drift_window: ``TWEETGEN_DRIFT_WINDOW``: the last N real tweets the drift figure averages
            (``tweetgen.pipelines.drift``).
        drift_margin: ``TWEETGEN_DRIFT_MARGIN``: bits/char by which that figure may exceed the
            champion's own eval figure before the retrain job retrains whatever the count.
        space_id: ``SPACE_ID``, set by Hugging Face when the app runs on a Space.
        smtp_host: ``TWEETGEN_SMTP_HOST``: the mail server of job notifications (none: no email).
        smtp_port: ``TWEETGEN_SMTP_PORT``: 587 (STARTTLS) by default; 465 is TLS from the start.
        smtp_user: ``TWEETGEN_SMTP_USER``: login name, if the server wants one.
        smtp_password: ``TWEETGEN_SMTP_PASSWORD``; only ever sent over TLS.
        smtp_sender: ``TWEETGEN_SMTP_FROM``: the From address (default: the user, if an address).
        notify_email: ``TWEETGEN_NOTIFY_EMAIL``: recipients, separated by commas.
        notify_webhook: ``TWEETGEN_NOTIFY_WEBHOOK``: a URL that takes a JSON POST (Slack, Discord, ntfy).
        notify_on: ``TWEETGEN_NOTIFY_ON``: ``failure`` (default) or ``always``.
        server_port: ``GRADIO_SERVER_PORT``, the app's port (Gradio's convention; ``--port`` wins).
        server_name: ``GRADIO_SERVER_NAME``, the interface the app listens on (``--host`` wins).
        zero_gpu: ``SPACES_ZERO_GPU``, set by Hugging Face on a ZeroGPU Space: generation then
            runs under ``@spaces.GPU``.
        on_modal: ``MODAL_IS_REMOTE=1``, set by Modal inside its containers.
        query_memory_mb: ``TWEETGEN_QUERY_MEMORY_MB``: the most memory a ``query`` (and its result) may take.
        query_timeout_s: ``TWEETGEN_QUERY_TIMEOUT_S``: how long a ``query`` may run before it is stopped.
        data_volume: ``TWEETGEN_DATA_VOLUME``, where a Modal Volume is mounted (``modal_app.py``
            sets it): on Modal the local backend needs ``data_dir`` inside it, since the
            container's own disk is thrown away after each run.
    """

    backend: str = "local"
    data_dir: Path = Path("data")
    username: str = "elonmusk"
    display_name: str = "Elon Musk"
    hopsworks_api_key: str | None = dataclasses.field(default=None, repr=False)
    hopsworks_project: str | None = None
    hopsworks_host: str = "eu-west.cloud.hopsworks.ai"
    hopsworks_timeout_s: float = 60.0
    hopsworks_job_timeout_s: float = 240.0  # a Spark job on Hopsworks Serverless takes one or two minutes
    x_bearer_token: str | None = dataclasses.field(default=None, repr=False)
    x_user_id: int | None = None
    live_source: str = "replay"
    model_name: str = DEFAULT_MODEL_NAME
    retrain_min_new_tweets: int = 100
    drift_window: int = 30
    drift_margin: float = 0.25
    space_id: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = dataclasses.field(default=None, repr=False)
    smtp_sender: str | None = None
    notify_email: tuple[str, ...] = ()
    notify_webhook: str | None = dataclasses.field(default=None, repr=False)
    notify_on: str = "failure"
    server_port: int | None = None
    server_name: str | None = None
    zero_gpu: bool = False
    on_modal: bool = False
    data_volume: Path | None = None
    query_memory_mb: int = 1024
    query_timeout_s: float = 60.0

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
        """Read settings from ``environ`` (default: ``os.environ``) on top of a ``.env`` file.

        From then on the process's log records carry none of their secrets (``tweetgen.log_scrub``).
        """
        from tweetgen.log_scrub import scrub_secrets_from_logs

        settings = cls.from_mapping(_environment(environ, dotenv))
        scrub_secrets_from_logs(settings.secrets())
        return settings

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> Settings:
        """Build settings from a mapping of environment variable names to values."""

        def get(name: str) -> str | None:
            value = values.get(name, "").strip()
            return value or None

        username = get("TWEETGEN_USERNAME") or cls.username
        settings = cls(
            backend=(get("TWEETGEN_BACKEND") or cls.backend).lower(),
            data_dir=Path(get("TWEETGEN_DATA_DIR") or cls.data_dir),
            username=username,
            display_name=get("TWEETGEN_DISPLAY_NAME") or (cls.display_name if username == cls.username else username),
            hopsworks_api_key=get("HOPSWORKS_API_KEY"),
            hopsworks_project=get("HOPSWORKS_PROJECT"),
            hopsworks_host=get("HOPSWORKS_HOST") or cls.hopsworks_host,
            hopsworks_timeout_s=_as_float(get("HOPSWORKS_TIMEOUT") or str(cls.hopsworks_timeout_s), "HOPSWORKS_TIMEOUT"),
            hopsworks_job_timeout_s=_as_float(
                get("HOPSWORKS_JOB_TIMEOUT") or str(cls.hopsworks_job_timeout_s), "HOPSWORKS_JOB_TIMEOUT"
            ),
            x_bearer_token=get("X_BEARER_TOKEN"),
            x_user_id=_as_user_id(get("X_USER_ID")),
            live_source=(get("TWEETGEN_LIVE_SOURCE") or cls.live_source).lower(),
            model_name=get("TWEETGEN_MODEL_NAME") or cls.model_name,
            retrain_min_new_tweets=_as_count(get("TWEETGEN_RETRAIN_MIN_NEW_TWEETS"), "TWEETGEN_RETRAIN_MIN_NEW_TWEETS",
                                             cls.retrain_min_new_tweets),
            drift_window=_as_count(get("TWEETGEN_DRIFT_WINDOW"), "TWEETGEN_DRIFT_WINDOW", cls.drift_window),
            drift_margin=_as_float(get("TWEETGEN_DRIFT_MARGIN") or str(cls.drift_margin), "TWEETGEN_DRIFT_MARGIN", "bits per character"),
            space_id=get("SPACE_ID"),
            smtp_host=get("TWEETGEN_SMTP_HOST"),
            smtp_port=_as_port(get("TWEETGEN_SMTP_PORT") or str(cls.smtp_port), "TWEETGEN_SMTP_PORT", "e.g. 587 (STARTTLS) or 465 (TLS)"),
            smtp_user=get("TWEETGEN_SMTP_USER"),
            smtp_password=get("TWEETGEN_SMTP_PASSWORD"),
            smtp_sender=get("TWEETGEN_SMTP_FROM"),
            notify_email=tuple(a.strip() for a in (get("TWEETGEN_NOTIFY_EMAIL") or "").split(",") if a.strip()),
            notify_webhook=get("TWEETGEN_NOTIFY_WEBHOOK"),
            notify_on=(get("TWEETGEN_NOTIFY_ON") or cls.notify_on).lower(),
            server_port=_as_port(get("GRADIO_SERVER_PORT"), "GRADIO_SERVER_PORT", "such as 7860, or leave it unset"),
            server_name=get("GRADIO_SERVER_NAME"),
            zero_gpu=(get("SPACES_ZERO_GPU") or "").lower() in ("1", "t", "true"),
            on_modal=get("MODAL_IS_REMOTE") == "1",
            data_volume=Path(volume) if (volume := get("TWEETGEN_DATA_VOLUME")) else None,
            query_memory_mb=_as_positive(get("TWEETGEN_QUERY_MEMORY_MB"), "TWEETGEN_QUERY_MEMORY_MB", cls.query_memory_mb, "megabytes"),
            query_timeout_s=_as_positive(get("TWEETGEN_QUERY_TIMEOUT_S"), "TWEETGEN_QUERY_TIMEOUT_S", cls.query_timeout_s, "seconds"),
        )
        settings.check()
        return settings

    def with_overrides(self, **overrides: object) -> Settings:
        """Return a copy with the given fields replaced (``None`` values are ignored)."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        if "data_dir" in changes:
            changes["data_dir"] = Path(changes["data_dir"])  # type: ignore[arg-type]
        settings = dataclasses.replace(self, **changes)  # type: ignore[arg-type]
        settings.check()
        return settings

    def rooted_at(self, root: Path) -> Settings:
        """Return a copy whose relative ``data_dir`` is taken relative to ``root`` (a notebook runs
        in ``notebooks/``, but its data belongs under the repository's ``data/``)."""
        return self if self.data_dir.is_absolute() else self.with_overrides(data_dir=Path(root) / self.data_dir)

    def check(self) -> None:
        """Raise ``ConfigError`` if a setting cannot work."""
        if self.backend not in BACKENDS:
            raise ConfigError(
                f"TWEETGEN_BACKEND is {self.backend!r}; set it to one of {', '.join(BACKENDS)}."
            )
        if self.live_source not in LIVE_SOURCES:
            raise ConfigError(
                f"TWEETGEN_LIVE_SOURCE is {self.live_source!r}; set it to one of {', '.join(LIVE_SOURCES)}."
            )
        if self.backend == "local" and self.on_modal and not self._data_on_volume():
            raise ConfigError(
                f"The local backend on Modal would write to {self.data_dir}, on the container's disk, which is "
                "thrown away after each run; set TWEETGEN_BACKEND=hopsworks, or mount a modal.Volume and set "
                "TWEETGEN_DATA_VOLUME to its path and TWEETGEN_DATA_DIR inside it (modal_app.py does both)."
            )
        self._check_notifications()

    def _check_notifications(self) -> None:
        if self.notify_on not in NOTIFY_ON:
            raise ConfigError(f"TWEETGEN_NOTIFY_ON is {self.notify_on!r}; set it to one of {', '.join(NOTIFY_ON)}.")
        if bool(self.smtp_host) != bool(self.notify_email):
            missing = "TWEETGEN_NOTIFY_EMAIL" if self.smtp_host else "TWEETGEN_SMTP_HOST"
            raise ConfigError(f"Email notifications need both TWEETGEN_SMTP_HOST and TWEETGEN_NOTIFY_EMAIL; set {missing} too, or neither.")
        bad = [address for address in self.notify_email if "@" not in address]
        if bad:
            raise ConfigError(f"TWEETGEN_NOTIFY_EMAIL holds {bad[0]!r}, not an email address; list addresses separated by commas.")
        if self.notify_webhook and not self.notify_webhook.lower().startswith(("https://", "http://")):
            raise ConfigError("TWEETGEN_NOTIFY_WEBHOOK is not an http(s) URL; set it to the URL your Slack, Discord or ntfy gave you.")

    def secrets(self) -> list[str]:
        """The secret values that are set (keys, tokens, password, webhook URL), to scrub from any text."""
        values = (self.hopsworks_api_key, self.x_bearer_token, self.smtp_password, self.notify_webhook)
        return [value.strip() for value in values if value and value.strip()]

    def _data_on_volume(self) -> bool:
        """Whether ``data_dir`` lies inside the mounted volume ``data_volume``."""
        if self.data_volume is None:
            return False
        return self.data_dir.resolve().is_relative_to(self.data_volume.resolve())

    def app_address(self, port: int | None = None, host: str | None = None) -> tuple[str, int]:
        """Where the app listens: flags first, then ``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT``,
        then 127.0.0.1:7860, or every interface on a Space (its proxy reaches the app from outside)."""
        default_host = "0.0.0.0" if self.space_id else "127.0.0.1"
        return host or self.server_name or default_host, port or self.server_port or 7860

    @property
    def feature_store_dir(self) -> Path:
        """Where the local backend keeps its Delta Lake tables."""
        return self.data_dir / "feature_store"


def notify_environment(environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> dict[str, str]:
    """The notification variables that are set (environment over ``.env``), by name."""
    values = _environment(environ, dotenv)
    return {name: values[name] for name in NOTIFY_VARIABLES if values.get(name, "").strip()}


def _environment(environ: Mapping[str, str] | None, dotenv: Path | None) -> dict[str, str]:
    """``environ`` (default: ``os.environ``) on top of the ``dotenv`` file's values."""
    values: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        values.update(read_dotenv(dotenv))
    values.update(os.environ if environ is None else environ)
    return values


def read_dotenv(path: Path) -> dict[str, str]:
    """The variables a ``.env`` file sets, through python-dotenv when it is installed.

    Without it (a machine with only ``modal`` installed, deploying ``modal_app.py``) the common
    form is read: ``NAME=value`` lines, an optional ``export``, ``#`` comments, and values in
    single or double quotes (no interpolation, no multi-line values).
    """
    try:
        from dotenv import dotenv_values
    except ImportError:
        return _simple_dotenv(path.read_text(encoding="utf-8"))
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _simple_dotenv(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if value[:1] in ("'", '"') and value.find(value[0], 1) > 0:
            value = value[1 : value.find(value[0], 1)]
        else:
            value = value.split(" #")[0].strip()
        values[name.strip()] = value
    return values


def _as_port(text: str | None, name: str, example: str) -> int | None:
    """``text`` as a TCP port number (None stays None), or one sentence naming ``name``."""
    if text is None:
        return None
    if not _is_number(text) or not 0 < int(text) < 65536:
        raise ConfigError(f"{name} is {text!r}; set it to a port number, {example}.")
    return int(text)


def _as_user_id(text: str | None) -> int | None:
    if text is None:
        return None
    if not _is_number(text) or int(text) == 0:
        raise ConfigError(f"X_USER_ID is {text!r}; set it to the account's numeric X user id, or leave it unset.")
    return int(text)


def _is_number(text: str) -> bool:
    """Whether ``text`` is a whole number in ASCII digits (``str.isdigit`` also takes '²' and '٧')."""
    return text.isascii() and text.isdigit()


def _as_float(text: str, name: str, unit: str = "seconds") -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{name} is {text!r}; set it to a number of {unit}.") from None


def _as_positive(text: str | None, name: str, default: float, unit: str) -> float:
    """``text`` as a positive number of ``unit`` (the default's type), ``default`` when unset."""
    if text is None:
        return default
    try:
        value = type(default)(text)
    except ValueError:
        value = 0
    if not 0 < value < float("inf"):
        example = f"e.g. {default:g}" if isinstance(default, float) else f"e.g. {default}"
        raise ConfigError(f"{name} is {text!r}; set it to a positive number of {unit}, {example}.")
    return value


def _as_count(text: str | None, name: str, default: int) -> int:
    """``text`` as a whole number of at least 1 (None: ``default``), or one sentence naming ``name``."""
    if text is None:
        return default
    if not _is_number(text) or int(text) == 0:
        raise ConfigError(f"{name} is {text!r}; set it to a whole number of at least 1, such as {default}.")
    return int(text)
