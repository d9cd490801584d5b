"""Job notifications: an email through SMTP and/or a JSON POST to a webhook URL.

Email: STARTTLS whenever the server offers it; port 465 speaks TLS from the first byte. The
password is never sent over a connection that is not encrypted. Certificates are checked
against the system's CAs (``SSL_CERT_FILE`` adds one).

Webhook: one JSON body that Slack (``text``), Discord (``content``, at most 2,000 characters)
and ntfy (a topic URL with ``?tpl=1&t={{.title}}&m={{.text}}``) all accept; the other keys
(``job``, ``run_id``, ``status``, ``error``...) are for any other receiver.

Sending never raises: each channel that fails is logged as one line (never with a secret: the
password, every other secret of the settings and the webhook URL, with each of its parts, are
scrubbed: ``scrub``) and returned.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from tweetgen.config import Settings
from tweetgen.log_scrub import secret_forms

log = logging.getLogger(__name__)

TIMEOUT_S = 15.0
IMPLICIT_TLS_PORT = 465
DISCORD_MAX_CHARS = 2000
DEFAULT_SENDER = "tweetgen@localhost"


class NotifyError(Exception):
    """A notification channel refused or could not be reached (the message is one line)."""


@dataclass(frozen=True)
class Notification:
    """What to tell: a subject line, a plain-text body, and fields for machines (all strings)."""

    subject: str
    text: str
    fields: Mapping[str, str] = field(default_factory=dict)


def send_notification(settings: Settings, notification: Notification) -> list[str]:
    """Send ``notification`` to every configured channel; return one line per channel that failed."""
    channels: list[tuple[str, str, Callable[[], None]]] = []
    if settings.smtp_host and settings.notify_email:
        channels.append(("email", f"TWEETGEN_SMTP_* (server {settings.smtp_host}:{settings.smtp_port})",
                         lambda: send_email(settings, notification)))
    if url := settings.notify_webhook:
        host = urlsplit(url).hostname or "?"
        channels.append(("webhook", f"TWEETGEN_NOTIFY_WEBHOOK (host {host})", lambda: post_webhook(url, notification)))
    problems = []
    for channel, setting, send in channels:
        try:
            send()
        except Exception as error:  # noqa: BLE001 - a channel that fails is logged, never raised to the job
            problem = scrub(f"The {channel} notification could not be sent ({_describe(error)}); check {setting}.", settings.secrets())
            log.warning(problem)
            problems.append(problem)
    return problems


def send_email(settings: Settings, notification: Notification) -> None:
    """Mail ``notification`` to ``settings.notify_email`` (see the module docstring for TLS).

    Raises:
        NotifyError: no server is set, the server offers no TLS but a password is set, or it
            refused a recipient (each refused recipient is named with the server's reply).
        smtplib.SMTPException, OSError: the server could not be reached or refused the message.
    """
    host, port = settings.smtp_host, settings.smtp_port
    if not host:
        raise NotifyError("no SMTP server is set; set TWEETGEN_SMTP_HOST")
    context = ssl.create_default_context()
    if port == IMPLICIT_TLS_PORT:
        connection: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_S, context=context)
    else:
        connection = smtplib.SMTP(host, port, timeout=TIMEOUT_S)
    with connection as smtp:
        smtp.ehlo()
        encrypted = port == IMPLICIT_TLS_PORT
        if not encrypted and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
            encrypted = True
        if settings.smtp_user:
            if not encrypted:
                raise NotifyError("the server offers no STARTTLS, and the password is never sent unencrypted")
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        try:
            refused = smtp.send_message(email_message(settings, notification))
        except smtplib.SMTPRecipientsRefused as error:  # every one of them
            refused = error.recipients
    if refused:
        reasons = ", ".join(f"{address} ({_reply(code, reply)})" for address, (code, reply) in sorted(refused.items()))
        raise NotifyError(f"the server refused {len(refused)} of {len(settings.notify_email)} recipients: {reasons}")


def email_message(settings: Settings, notification: Notification) -> EmailMessage:
    """The email: subject, From (``TWEETGEN_SMTP_FROM``, else the user if an address), To, and the text."""
    user = settings.smtp_user
    message = EmailMessage()
    message["Subject"] = notification.subject
    message["From"] = settings.smtp_sender or (user if user and "@" in user else DEFAULT_SENDER)
    message["To"] = ", ".join(settings.notify_email)
    message["Date"] = formatdate(usegmt=True)  # UTC, whatever the machine's time zone
    message["Message-ID"] = make_msgid(domain="tweetgen")
    message.set_content(notification.text)
    return message


def webhook_body(notification: Notification) -> dict[str, str]:
    """The JSON body: ``text`` (Slack), ``content`` (Discord), ``title`` (ntfy), then the fields."""
    content = notification.text
    if len(content) > DISCORD_MAX_CHARS:
        content = content[: DISCORD_MAX_CHARS - 1] + "…"
    return {**notification.fields, "title": notification.subject, "text": notification.text, "content": content}


def post_webhook(url: str, notification: Notification) -> None:
    """POST ``webhook_body(notification)`` as JSON to ``url``.

    Raises:
        NotifyError: the receiver answered with a status other than 2xx, did not answer within
            ``TIMEOUT_S``, or could not be reached.
    """
    request = urllib.request.Request(  # a POST: it has data
        url, data=json.dumps(webhook_body(notification)).encode(), headers={"Content-Type": "application/json", "User-Agent": "tweetgen"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - the user's own URL
            response.read()
    except urllib.error.HTTPError as error:
        raise NotifyError(f"the receiver answered HTTP {error.code} {error.reason}") from None
    except TimeoutError:  # connected, then no answer
        raise NotifyError(f"the receiver did not answer within {TIMEOUT_S:g} s") from None
    except urllib.error.URLError as error:
        raise NotifyError(f"the receiver could not be reached: {error.reason}") from None


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret value, and every part of one that is a URL, replaced by ``***``.

    An error often quotes only part of a URL (``http.client`` quotes the path of a URL that holds
    a space; a proxy may quote the query), and quotes it as written, percent-encoded or decoded,
    with its whitespace collapsed: each of those forms of each part is scrubbed
    (``tweetgen.log_scrub.secret_forms``, which the logs use too).
    """
    forms = {form for secret in secrets for form in secret_forms(secret)}
    for form in sorted(forms, key=len, reverse=True):  # a longer form first: no half-scrubbed secret
        text = text.replace(form, "***")
    return text


def _describe(error: BaseException) -> str:
    if isinstance(error, NotifyError):
        return str(error)
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__}: {_reply(error.smtp_code, error.smtp_error)}"
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def _reply(code: int, reply: bytes | str) -> str:
    """An SMTP server's reply on one line, as it said it (bytes that are not UTF-8 shown as ``\ufffd``)."""
    text = reply if isinstance(reply, str) else reply.decode(errors="replace")  # smtplib gives bytes
    return f"{code} {' '.join(text.split())}"
