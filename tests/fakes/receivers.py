"""Real servers on 127.0.0.1 that notifications go to: an SMTP server (aiosmtpd) and an HTTP receiver.

``smtp_server`` runs aiosmtpd's own ``Controller``; with ``tls=`` it offers STARTTLS with a
self-signed certificate made by ``self_signed_certificate`` (or, with ``implicit_tls=True``,
speaks TLS from the first byte, as a server on port 465 does), with ``users=`` it requires a
login, which aiosmtpd accepts only over TLS (``auth_require_tls``), and with ``refuse=`` it
refuses those recipients as a server refuses an unknown mailbox. ``http_receiver`` is the
standard library's HTTP server answering every POST with the status it was given.

Two bare TCP servers stand for the servers that misbehave: ``silent_server`` accepts a
connection and never says a word (for timeouts), and ``scripted_smtp_server`` answers each SMTP
command with the bytes it is given (for replies aiosmtpd never sends, such as one that is not
UTF-8).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tweetgen.ui.browser import free_port


@dataclass
class ReceivedMail:
    """One message the SMTP server accepted, and how it came."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    tls: bool
    login: str | None

    @property
    def text(self) -> str:
        """The body as text, with the line ends it was written with (SMTP carries CRLF)."""
        return self.message.get_content().replace("\r\n", "\n")


@dataclass
class SmtpServer:
    host: str
    port: int
    received: list[ReceivedMail] = field(default_factory=list)


REFUSED_MAILBOX = "550 5.1.1 Mailbox unavailable"  # what a server answers for a recipient it does not know


class _Recorder:
    """aiosmtpd handler: keeps every message it is given, refuses the recipients it was told to."""

    def __init__(self, server: SmtpServer, refuse: Iterable[str] = ()) -> None:
        self.server = server
        self.refuse = set(refuse)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802 - aiosmtpd's hook name
        if address in self.refuse:
            return REFUSED_MAILBOX
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        login = session.auth_data.login.decode() if session.auth_data else None
        tls = server.transport.get_extra_info("ssl_object") is not None  # after STARTTLS, or from the first byte
        self.server.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message, tls, login))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_server(
    tls: tuple[Path, Path] | None = None, users: dict[str, str] | None = None, implicit_tls: bool = False,
    refuse: Iterable[str] = (),
) -> Iterator[SmtpServer]:
    """An SMTP server on a free port of 127.0.0.1 until the block ends.

    Args:
        tls: (certificate, key) files: offer STARTTLS with them.
        users: login -> password: require one of them (only over TLS).
        implicit_tls: speak TLS from the first byte with ``tls`` (no STARTTLS), as on port 465.
        refuse: recipients to refuse (``REFUSED_MAILBOX``); the others are accepted.
    """
    from aiosmtpd.controller import Controller

    server = SmtpServer("127.0.0.1", free_port())
    options: dict[str, object] = {}
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        options["ssl_context" if implicit_tls else "tls_context"] = context
    if users is not None:
        from aiosmtpd.smtp import AuthResult

        def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
            ok = users.get(auth_data.login.decode()) == auth_data.password.decode()
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        # aiosmtpd counts only STARTTLS as TLS: on an implicit-TLS server every byte is encrypted already
        options.update(auth_required=True, auth_require_tls=not implicit_tls, authenticator=authenticator)
    controller = Controller(_Recorder(server, refuse), hostname=server.host, port=server.port, **options)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by its own key: (certificate, key) PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class ReceivedPost:
    path: str
    content_type: str
    body: dict
    user_agent: str = ""


@dataclass
class HttpReceiver:
    url: str
    status: int
    received: list[ReceivedPost] = field(default_factory=list)


@contextlib.contextmanager
def http_receiver(status: int = 200, path: str = "/hooks/T0/B0/secret-token") -> Iterator[HttpReceiver]:
    """An HTTP server on a free port of 127.0.0.1 that records JSON POSTs and answers ``status``."""
    port = free_port()
    receiver = HttpReceiver(f"http://127.0.0.1:{port}{path}", status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"null")
            receiver.received.append(
                ReceivedPost(self.path, self.headers.get("Content-Type", ""), body, self.headers.get("User-Agent", ""))
            )
            self.send_response(receiver.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:  # keep the test output clean
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", port), Handler)):
        yield receiver


@contextlib.contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    """Serve ``server`` from a thread until the block ends, then close it."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)  # quick to shut down
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class BareServer:
    host: str
    port: int
    commands: list[bytes] = field(default_factory=list)


@contextlib.contextmanager
def silent_server(hold_s: float = 10.0) -> Iterator[BareServer]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers, until the block ends
    (or ``hold_s`` passes: a client without a timeout then sees the connection closed, not a hang)."""
    with _bare_server(lambda connection, done: done.wait(hold_s)) as server:
        yield server


@contextlib.contextmanager
def scripted_smtp_server(replies: dict[bytes, bytes], greeting: bytes = b"220 127.0.0.1 ESMTP ready") -> Iterator[BareServer]:
    """A bare SMTP server on 127.0.0.1: it greets, then answers each command line with the reply
    for its first word (``EHLO``, ``MAIL``...), bytes as given (a reply may hold lines joined by
    CRLF), else ``250 OK`` (``221 Bye`` to ``QUIT``); it records each command line in ``commands``."""

    def converse(connection: socket.socket, done: threading.Event) -> None:
        stream = connection.makefile("rb")
        connection.sendall(greeting + b"\r\n")
        for line in stream:
            command = line.rstrip(b"\r\n")
            server.commands.append(command)
            verb = command.split(b" ")[0].upper()
            connection.sendall(replies.get(verb, b"221 Bye" if verb == b"QUIT" else b"250 OK") + b"\r\n")
            if command.upper() == b"QUIT":
                break
        stream.close()

    with _bare_server(converse) as server:
        yield server


@contextlib.contextmanager
def _bare_server(converse) -> Iterator[BareServer]:
    """A TCP server on a free port of 127.0.0.1 that runs ``converse(connection, done)`` for each
    connection in a thread of its own; ``done`` is set when the block ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    server, done, threads = BareServer("127.0.0.1", listener.getsockname()[1]), threading.Event(), []

    def handle(connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):  # OSError: the client went away
            converse(connection, done)

    def accept() -> None:
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(None)
            thread = threading.Thread(target=handle, args=(connection,), daemon=True)
            thread.start()
            threads.append(thread)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        done.set()
        acceptor.join()
        listener.close()
        deadline = time.monotonic() + 10
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
