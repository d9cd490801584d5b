"""Secrets never reach a log, whichever library writes the record.

Libraries log what they send and receive at DEBUG level: tweepy logs each X API response's
headers and body (a server that echoes the request puts the bearer token there), requests and
urllib3 log URLs, SDKs log their calls. ``scrub_secrets_from_logs`` installs one
``SecretsFilter`` where every record of the process is made (the log record factory), so it
applies to every logger, handler and level, including handlers configured later. The filter
replaces, in the message, the exception text and the stack text of each record:

* the secret values the settings hold (``Settings.secrets()``: API key, bearer token, SMTP
  password, webhook URL), wherever they appear, and every part of one that is a URL, as written,
  percent-encoded or decoded (``secret_forms``: an error may quote only a webhook's path);
* the credentials of any ``Authorization`` header, and any ``Bearer``/``ApiKey`` credential,
  even one the settings do not know (a token passed another way).

``Settings.load`` calls it, so every process that reads its settings (the commands, the app, the
Modal functions, the notebooks) scrubs its logs. Records without a secret are left as they are.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

HIDDEN = "***"
MIN_SECRET_CHARS = 4  # a shorter "secret" would blank ordinary words
#: The shortest parts of a secret URL scrubbed on their own (shorter ones would scrub common text):
#: its user-info, password, path, query or fragment, and a path segment or query value.
MIN_PART_CHARS = 4
MIN_TOKEN_CHARS = 6
CREDENTIALS = re.compile(
    r"(?i)(\bauthorization\b['\"]?\s*[:=]\s*['\"]?(?:(?:bearer|basic|apikey|token|digest)\s+)?)[^\s'\",;}\]]+"
    r"|(\b(?:bearer|apikey)\s+)[A-Za-z0-9\-._~+/%=]{8,}"
)


class SecretsFilter(logging.Filter):
    """Replaces secrets in a record (see the module docstring); never drops a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        forms = {form for secret in secrets for form in secret_forms(secret)}
        self.secrets |= {form for form in forms if len(form) >= MIN_SECRET_CHARS}

    def scrub(self, text: str) -> str:
        """``text`` with every secret and credential replaced by ``***``."""
        for secret in sorted(self.secrets, key=len, reverse=True):  # a longer secret may hold a shorter one
            if secret in text:
                text = text.replace(secret, HIDDEN)
        return CREDENTIALS.sub(lambda match: (match.group(1) or match.group(2)) + HIDDEN, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its message: logging reports it itself
            return True
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


def secret_forms(secret: str) -> set[str]:
    """The strings that would give ``secret`` away: itself, and for a URL its user-info, password,
    path, query and fragment (``MIN_PART_CHARS`` long or more), and every path segment or query
    value that is not a plain word (``MIN_TOKEN_CHARS`` long or more with a digit, a capital or a
    sign: the ids and tokens Slack, Discord and ntfy put there); each as written, percent-decoded,
    percent-encoded and with its whitespace collapsed."""
    secret = secret.strip()
    parts: set[str] = set()
    if secret.lower().startswith(("http://", "https://")):
        url = urlsplit(secret)
        userinfo = url.netloc.rpartition("@")[0]
        path_and_query = url.path + (f"?{url.query}" if url.query else "")
        whole = {userinfo, userinfo.partition(":")[2], url.path.rstrip("/"), url.query, url.fragment, path_and_query}
        parts = {part for part in whole if len(part) >= MIN_PART_CHARS}
        pieces = url.path.split("/") + [value for _, value in parse_qsl(url.query)]  # a blank value is no token
        words = [word for piece in pieces for word in unquote(piece).split()]  # a token may hold a space
        parts |= {piece for piece in pieces + words if _is_token(unquote(piece))}
    forms = {secret, " ".join(secret.split())} if secret else set()
    for part in parts:
        for form in (part, unquote(part), quote(unquote(part), safe="/:@"), quote(unquote(part), safe="")):
            forms |= {form, " ".join(form.split())}
    return forms


def _is_token(piece: str) -> bool:
    """Whether a path segment or query value looks like an id or token rather than a plain word."""
    return len(piece) >= MIN_TOKEN_CHARS and not (piece.isalpha() and piece.islower())


_installed: SecretsFilter | None = None
_lock = threading.Lock()


def scrub_secrets_from_logs(secrets: Iterable[str] = ()) -> SecretsFilter:
    """Scrub ``secrets`` (and any credential) from every log record this process makes from now on.

    Called again, it adds the new secrets to the same filter (the factory is wrapped once).
    """
    global _installed
    with _lock:
        if _installed is None:
            _installed = SecretsFilter()
            make_record = logging.getLogRecordFactory()
            scrubber = _installed

            def scrubbed_record(*args: object, **kwargs: object) -> logging.LogRecord:
                record = make_record(*args, **kwargs)
                scrubber.filter(record)
                return record

            logging.setLogRecordFactory(scrubbed_record)
        _installed.add(secrets)
        return _installed
