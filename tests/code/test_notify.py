"""Notification channels: what they send, and that a failure line never gives a secret away.

Each channel fails for real against servers on 127.0.0.1 (``tests.fakes.receivers``): a closed
port, a receiver that answers an error, a URL the HTTP client refuses, a wrong password. The
line each failure leaves (returned and logged, at every level) must name the channel and the
setting to check, and hold no part of a secret: not the webhook's token, path, query or
user-info, whether quoted as written, percent-encoded or decoded.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.fakes.receivers import (
    REFUSED_MAILBOX,
    http_receiver,
    scripted_smtp_server,
    self_signed_certificate,
    silent_server,
    smtp_server,
)
from tweetgen.clients import notify
from tweetgen.clients.notify import (
    DISCORD_MAX_CHARS,
    Notification,
    NotifyError,
    email_message,
    scrub,
    send_email,
    send_notification,
    webhook_body,
)
from tweetgen.config import Settings
from tweetgen.log_scrub import MIN_PART_CHARS, MIN_TOKEN_CHARS, SecretsFilter, secret_forms
from tweetgen.pipelines.runs import StoreOnce, read_runs, run_recorded
from tweetgen.store.local import LocalFeatureStore
from tweetgen.ui.browser import free_port

TOKEN = "xoxb-4f9Q2 7Zk1"  # a webhook token with a space in it, as a copy-paste leaves one
TOKEN_PARTS = ("xoxb-4f9Q2", "7Zk1", "4f9Q2", "T01ABCDEF", "B02GHIJKL")


def settings_for(webhook: str, **more: str) -> Settings:
    return Settings.from_mapping({"TWEETGEN_NOTIFY_WEBHOOK": webhook, **more})


def assert_nothing_secret(texts: list[str], *secrets: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into {text!r}"


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # every level, every logger: a secret must not reach any of them
    return caplog


def test_a_webhook_token_next_to_a_space_is_scrubbed_from_the_failure_line(all_logs) -> None:
    with http_receiver() as hook:
        url = hook.url.replace("/hooks/T0/B0/secret-token", f"/services/T01ABCDEF/B02GHIJKL/{TOKEN}")
        (problem,) = send_notification(settings_for(url), Notification("s", "t"))
    # http.client refuses the URL and quotes its path: every part of it is scrubbed
    assert problem == (
        "The webhook notification could not be sent (InvalidURL: URL can't contain control characters. '***' "
        "(found at least ' ')); check TWEETGEN_NOTIFY_WEBHOOK (host 127.0.0.1)."
    )
    assert hook.received == []
    assert_nothing_secret([problem, all_logs.text, *[r.getMessage() for r in all_logs.records]], *TOKEN_PARTS, "services/")


@pytest.mark.parametrize("status", [301, 404, 500])
@pytest.mark.parametrize("written", ["path", "query", "percent-encoded"])
def test_a_receiver_that_answers_an_error_gives_its_status_and_no_part_of_the_url(written, status, all_logs) -> None:
    paths = {
        "path": "/api/webhooks/1234567890/Zk1-Secret_Token",
        "query": "/mytopic?tpl=1&auth=Zk1-Secret_Token",
        "percent-encoded": "/hooks/Zk1-Secret%20Token",
    }
    with http_receiver(status=status, path=paths[written]) as hook:
        (problem,) = send_notification(settings_for(hook.url), Notification("s", "t"))
    assert len(hook.received) == 1 and hook.received[0].path == paths[written]  # it was sent, and refused
    reason = {301: "Moved Permanently", 404: "Not Found", 500: "Internal Server Error"}[status]
    assert problem == (f"The webhook notification could not be sent (the receiver answered HTTP {status} {reason}); "
                       "check TWEETGEN_NOTIFY_WEBHOOK (host 127.0.0.1).")
    assert_nothing_secret([all_logs.text], "Zk1-Secret", "1234567890", "Secret Token", "Secret%20Token")


def test_an_unreachable_receiver_is_named_by_host_only(all_logs) -> None:
    url = f"http://hookuser:hookpass-4321@127.0.0.1:{free_port()}/hooks/Zk1-Secret_Token?sig=ab12cd34"
    (problem,) = send_notification(settings_for(url), Notification("s", "t"))
    assert problem.startswith("The webhook notification could not be sent (the receiver could not be reached: ")
    assert problem.endswith("; check TWEETGEN_NOTIFY_WEBHOOK (host 127.0.0.1).")
    assert_nothing_secret([problem, all_logs.text], "hookpass-4321", "hookuser:", "Zk1-Secret_Token", "ab12cd34", "sig=")


def test_an_email_failure_names_the_server_and_never_the_password(all_logs) -> None:
    port = free_port()  # nothing listens there
    settings = Settings.from_mapping({
        "TWEETGEN_SMTP_HOST": "127.0.0.1", "TWEETGEN_SMTP_PORT": str(port), "TWEETGEN_SMTP_USER": "bot",
        "TWEETGEN_SMTP_PASSWORD": "smtp-Pa55 word", "TWEETGEN_NOTIFY_EMAIL": "ops@example.com",
    })
    (problem,) = send_notification(settings, Notification("s", "t"))
    assert problem.startswith("The email notification could not be sent (ConnectionRefusedError: ")
    assert problem.endswith(f"; check TWEETGEN_SMTP_* (server 127.0.0.1:{port}).")
    assert_nothing_secret([problem, all_logs.text], "smtp-Pa55", "Pa55 word")


def test_both_channels_fail_independently_and_both_are_reported(all_logs) -> None:
    with smtp_server() as mail, http_receiver(status=503) as hook:
        settings = Settings.from_mapping({
            "TWEETGEN_SMTP_HOST": mail.host, "TWEETGEN_SMTP_PORT": str(free_port()),
            "TWEETGEN_NOTIFY_EMAIL": "ops@example.com", "TWEETGEN_NOTIFY_WEBHOOK": hook.url,
        })
        problems = send_notification(settings, Notification("s", "t"))
    assert [p.split(" notification")[0] for p in problems] == ["The email", "The webhook"]
    assert [r.getMessage() for r in all_logs.records if r.name == "tweetgen.clients.notify"] == problems
    assert all(r.levelno == logging.WARNING for r in all_logs.records if r.name == "tweetgen.clients.notify")
    assert len(hook.received) == 1


def test_a_job_error_that_quotes_the_webhook_is_scrubbed_in_the_run_row_and_the_notification(monkeypatch) -> None:
    with http_receiver() as hook:
        secret_url = hook.url.replace("secret-token", "Zk1-Secret_Token")
        monkeypatch.setenv("TWEETGEN_NOTIFY_WEBHOOK", secret_url)
        settings = Settings.load()
        store = StoreOnce(lambda: LocalFeatureStore(settings.feature_store_dir))

        def work(_store):  # an error that quotes the setting in three forms
            raise RuntimeError(f"bad URL {secret_url.split('/hooks')[1]!r}, retried as %2Fhooks%2FT0%2FB0%2FZk1-Secret_Token and T0/B0/Zk1-Secret_Token")

        with pytest.raises(RuntimeError):
            run_recorded("features", "local", settings, store, work)
        (post,) = hook.received
    (row,) = read_runs(store()).to_dict("records")
    for text in (row["error"], post.body["text"], post.body["error"], post.body["content"]):
        assert "Zk1-Secret" not in text and "bad URL '/T0/B0/***', retried as *** and T0/B0/***" in text


def test_secret_forms_cover_every_part_of_a_url_and_each_spelling() -> None:
    forms = secret_forms("https://me:Pw-1234@hooks.example.com/services/T01ABCDEF/B02GHIJKL/Ab Cd9?t=Tok3nValue#Frag1")
    for part in ("me:Pw-1234", "Pw-1234", "/services/T01ABCDEF/B02GHIJKL/Ab Cd9", "t=Tok3nValue", "Tok3nValue",
                 "Frag1", "T01ABCDEF", "B02GHIJKL", "Ab Cd9", "Ab%20Cd9", "%2Fservices%2FT01ABCDEF%2FB02GHIJKL%2FAb%20Cd9"):
        assert part in forms, part
    assert {"services", "hooks.example.com", "https", "me"}.isdisjoint(forms)  # plain words and the host stay readable
    assert secret_forms("  pw-1  ") == {"pw-1"}  # a secret that is no URL is scrubbed whole, however short
    assert secret_forms("a\t b") == {"a\t b", "a b"}  # as written and as a one-line message collapses it
    assert secret_forms("") == set()


@pytest.mark.parametrize("length", [MIN_TOKEN_CHARS - 1, MIN_TOKEN_CHARS, MIN_TOKEN_CHARS + 1])
def test_a_path_segment_is_a_token_from_min_token_chars_on_unless_it_is_a_plain_word(length) -> None:
    token, word = ("Z9" * length)[:length], ("hooks" * length)[:length]
    forms = secret_forms(f"https://h.example.com/{token}/{word}/x")
    assert (token in forms) == (length >= MIN_TOKEN_CHARS)
    assert word not in forms  # lowercase letters only: a plain word, however long


@pytest.mark.parametrize("length", [MIN_PART_CHARS - 1, MIN_PART_CHARS, MIN_PART_CHARS + 1])
def test_user_info_and_query_are_scrubbed_from_min_part_chars_on(length) -> None:
    password, query = "p" * length, "q=" + "v" * (length - 2)
    forms = secret_forms(f"https://u:{password}@h.example.com/?{query}")
    assert (password in forms) == (length >= MIN_PART_CHARS)
    assert (query in forms) == (length >= MIN_PART_CHARS)


def test_scrub_replaces_the_longest_form_first_and_every_occurrence() -> None:
    url = "https://h.example.com/hooks/Tok3n-abc"
    text = f"posting to {url} failed; path /hooks/Tok3n-abc; token Tok3n-abc; again Tok3n-abc"
    assert scrub(text, [url]) == "posting to *** failed; path ***; token ***; again ***"
    assert scrub("nothing here", [url, "pw"]) == "nothing here"
    assert scrub("pw and pwd", ["pw"]) == "*** and ***d"


@pytest.mark.parametrize("length", [DISCORD_MAX_CHARS - 1, DISCORD_MAX_CHARS, DISCORD_MAX_CHARS + 1])
def test_the_webhook_body_keeps_discord_content_within_its_limit(length) -> None:
    text = "x" * length
    body = webhook_body(Notification("subject", text, {"job": "features"}))
    assert body["text"] == text and body["title"] == "subject" and body["job"] == "features"
    if length <= DISCORD_MAX_CHARS:
        assert body["content"] == text
    else:
        assert body["content"] == "x" * (DISCORD_MAX_CHARS - 1) + "…" and len(body["content"]) == DISCORD_MAX_CHARS


def test_the_body_fields_never_override_the_channels_own_keys() -> None:
    body = webhook_body(Notification("subject", "text", {"text": "field", "title": "field", "status": "failed"}))
    assert (body["text"], body["title"], body["content"], body["status"]) == ("text", "subject", "text", "failed")


@pytest.mark.parametrize(("user", "sender", "expected"), [
    ("bot@example.com", None, "bot@example.com"),
    ("bot", None, "tweetgen@localhost"),
    (None, None, "tweetgen@localhost"),
    ("bot@example.com", "ops-bot@example.com", "ops-bot@example.com"),
])
def test_the_email_sender_is_the_from_setting_else_the_user_if_an_address(user, sender, expected) -> None:
    mapping = {"TWEETGEN_SMTP_HOST": "smtp.example.com", "TWEETGEN_NOTIFY_EMAIL": "a@example.com,b@example.com"}
    mapping |= {"TWEETGEN_SMTP_USER": user} if user else {}
    mapping |= {"TWEETGEN_SMTP_FROM": sender} if sender else {}
    message = email_message(Settings.from_mapping(mapping), Notification("the subject", "line 1\nline 2\n"))
    assert (message["From"], message["To"], message["Subject"]) == (expected, "a@example.com, b@example.com", "the subject")
    assert message.get_content() == "line 1\nline 2\n" and message["Date"].datetime.utcoffset() == timedelta(0)
    assert message["Message-ID"].endswith("@tweetgen>")


def test_the_logs_scrub_every_part_of_a_secret_url_too() -> None:
    url = "https://hooks.example.com/services/T01ABCDEF/B02GHIJKL/Zk1-Secret_Token"
    logs = SecretsFilter([url])
    assert logs.scrub("POST /services/T01ABCDEF/B02GHIJKL/Zk1-Secret_Token failed; token Zk1-Secret_Token") == "POST *** failed; token ***"
    assert logs.scrub("the services hooks of example.com") == "the services hooks of example.com"  # plain words stay


def test_the_email_date_is_utc_whatever_the_machines_time_zone(monkeypatch) -> None:
    import time

    settings = Settings.from_mapping({"TWEETGEN_SMTP_HOST": "smtp.example.com", "TWEETGEN_NOTIFY_EMAIL": "a@example.com"})
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        message = email_message(settings, Notification("s", "t"))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert message["Date"].datetime.utcoffset() == timedelta(0)


def test_a_refused_login_is_quoted_as_the_server_said_it(tmp_path, monkeypatch) -> None:
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with smtp_server(tls=(cert, key), users={"bot": "right-Pa55"}) as mail:
        settings = Settings.from_mapping({
            "TWEETGEN_SMTP_HOST": mail.host, "TWEETGEN_SMTP_PORT": str(mail.port), "TWEETGEN_SMTP_USER": "bot",
            "TWEETGEN_SMTP_PASSWORD": "wrong-Pa55", "TWEETGEN_NOTIFY_EMAIL": "ops@example.com",
        })
        (problem,) = send_notification(settings, Notification("s", "t"))
    assert problem == ("The email notification could not be sent (SMTPAuthenticationError: 535 5.7.8 Authentication credentials "
                       f"invalid); check TWEETGEN_SMTP_* (server 127.0.0.1:{mail.port}).")


def email_settings(port: int, **more: str) -> Settings:
    return Settings.from_mapping({"TWEETGEN_SMTP_HOST": "127.0.0.1", "TWEETGEN_SMTP_PORT": str(port),
                                  "TWEETGEN_NOTIFY_EMAIL": "ops@example.com", **more})


def test_the_webhook_posts_json_and_names_itself() -> None:
    # Receivers behind Cloudflare (Discord's among them) refuse urllib's own agent, Python-urllib/3.x
    with http_receiver() as hook:
        assert send_notification(settings_for(hook.url), Notification("s", "t", {"job": "features"})) == []
    (post,) = hook.received
    assert (post.user_agent, post.content_type) == ("tweetgen", "application/json")
    assert post.body == {"job": "features", "title": "s", "text": "t", "content": "t"}


@pytest.mark.parametrize("channel", ["webhook", "email", "email on port 465"])
def test_a_server_that_never_answers_is_given_up_after_the_timeout(channel, monkeypatch) -> None:
    monkeypatch.setattr(notify, "TIMEOUT_S", 0.3)
    with silent_server(hold_s=6) as server:  # without a timeout the client would wait until it closes
        if channel == "webhook":
            settings = settings_for(f"http://{server.host}:{server.port}/hooks/T0")
        else:
            settings = email_settings(server.port)
            if channel == "email on port 465":
                monkeypatch.setattr(notify, "IMPLICIT_TLS_PORT", server.port)  # 465 itself needs root to listen on
        (problem,) = send_notification(settings, Notification("s", "t"))
    if channel == "webhook":
        assert problem == ("The webhook notification could not be sent (the receiver did not answer within 0.3 s); "
                           "check TWEETGEN_NOTIFY_WEBHOOK (host 127.0.0.1).")
    else:  # no greeting (SMTP), no TLS handshake (port 465)
        assert problem.startswith("The email notification could not be sent (") and "timed out" in problem, problem
        assert problem.endswith(f"; check TWEETGEN_SMTP_* (server 127.0.0.1:{server.port}).")
        expected = "TimeoutError: " if channel == "email on port 465" else "SMTPServerDisconnected: "
        assert expected in problem, problem


def test_an_email_goes_to_every_recipient_with_its_headers_and_text() -> None:
    with smtp_server() as mail:
        settings = email_settings(mail.port, TWEETGEN_NOTIFY_EMAIL="ops@example.com, dev@example.com",
                                  TWEETGEN_SMTP_FROM="bot@example.com")
        assert send_notification(settings, Notification("tweetgen: scrape failed", "line 1\nline 2\n")) == []
    (received,) = mail.received
    assert (received.sender, received.recipients, received.tls, received.login) == (
        "bot@example.com", ["ops@example.com", "dev@example.com"], False, None)  # no STARTTLS offered, no login set
    message = received.message
    assert (message["Subject"], message["From"], message["To"]) == ("tweetgen: scrape failed", "bot@example.com", "ops@example.com, dev@example.com")
    assert received.text == "line 1\nline 2\n" and message["Message-ID"].endswith("@tweetgen>")


@pytest.mark.parametrize(("mapping", "channels"), [  # (the settings refuse a server without recipients, and the reverse)
    ({}, []),
    ({"TWEETGEN_SMTP_HOST": "127.0.0.1", "TWEETGEN_NOTIFY_EMAIL": "ops@example.com"}, ["email"]),
    ({"TWEETGEN_NOTIFY_WEBHOOK": "http://127.0.0.1:{port}/hooks/T0"}, ["webhook"]),
])
def test_each_channel_that_is_set_is_used_and_no_other(mapping, channels) -> None:
    port = free_port()  # nothing listens there: a channel that is used fails, and says so
    settings = Settings.from_mapping({"TWEETGEN_SMTP_PORT": str(port)} | {k: v.format(port=port) for k, v in mapping.items()})
    problems = send_notification(settings, Notification("s", "t"))
    assert [problem.split(" ")[1] for problem in problems] == channels


def test_a_webhook_url_without_a_host_is_named_as_such() -> None:
    (problem,) = send_notification(settings_for("http:///hooks/T0/Zk1-Secret_Token"), Notification("s", "t"))
    assert problem.endswith("; check TWEETGEN_NOTIFY_WEBHOOK (host ?).") and "Zk1-Secret" not in problem


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd counts only STARTTLS as TLS
@pytest.mark.parametrize("password", ["right-Pa55", None])  # a login without a password logs in with an empty one
def test_port_465_speaks_tls_from_the_first_byte_and_logs_in_over_it(password, tmp_path, monkeypatch) -> None:
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with smtp_server(tls=(cert, key), implicit_tls=True, users={"bot": password or ""}) as mail:
        monkeypatch.setattr(notify, "IMPLICIT_TLS_PORT", mail.port)  # 465 itself needs root to listen on
        settings = email_settings(mail.port, TWEETGEN_SMTP_USER="bot", **({"TWEETGEN_SMTP_PASSWORD": password} if password else {}))
        assert send_notification(settings, Notification("s", "over TLS\n")) == []
    (received,) = mail.received
    assert (received.tls, received.login, received.recipients, received.text) == (True, "bot", ["ops@example.com"], "over TLS\n")


def test_port_465_checks_the_certificate(tmp_path, monkeypatch) -> None:
    cert, key = self_signed_certificate(tmp_path)  # not trusted: SSL_CERT_FILE is not set
    with smtp_server(tls=(cert, key), implicit_tls=True) as mail:
        monkeypatch.setattr(notify, "IMPLICIT_TLS_PORT", mail.port)
        (problem,) = send_notification(email_settings(mail.port), Notification("s", "t"))
    assert problem.startswith("The email notification could not be sent (SSLCertVerificationError: ")
    assert "CERTIFICATE_VERIFY_FAILED" in problem and mail.received == []


def test_the_implicit_tls_port_is_the_one_of_rfc_8314() -> None:
    assert notify.IMPLICIT_TLS_PORT == 465


@pytest.mark.parametrize("recipients", [["ops@example.com", "nobody@example.com"], ["nobody@example.com", "gone@example.com"]])
def test_each_refused_recipient_is_named_with_the_servers_reply(recipients) -> None:
    with smtp_server(refuse={"nobody@example.com", "gone@example.com"}) as mail:
        settings = email_settings(mail.port, TWEETGEN_NOTIFY_EMAIL=",".join(recipients))
        (problem,) = send_notification(settings, Notification("s", "t"))
    refused = sorted(set(recipients) - {"ops@example.com"})
    reasons = ", ".join(f"{address} ({REFUSED_MAILBOX})" for address in refused)
    assert problem == (f"The email notification could not be sent (the server refused {len(refused)} of 2 recipients: {reasons}); "
                       f"check TWEETGEN_SMTP_* (server 127.0.0.1:{mail.port}).")
    assert [m.recipients for m in mail.received] == ([["ops@example.com"]] if len(refused) == 1 else [])


def test_a_reply_that_is_not_utf8_is_quoted_on_one_line() -> None:
    refusal = b"550-5.7.1 Exp\xe9diteur refus\xe9\r\n550 5.7.1   voir la politique"  # Latin-1, on two lines
    with scripted_smtp_server({b"MAIL": refusal}) as server:
        (problem,) = send_notification(email_settings(server.port), Notification("s", "t"))
    assert problem == ("The email notification could not be sent (SMTPSenderRefused: 550 5.7.1 Exp\ufffdditeur refus\ufffd "
                       f"5.7.1 voir la politique); check TWEETGEN_SMTP_* (server 127.0.0.1:{server.port}).")
    assert [c.split(b" ")[0].lower() for c in server.commands] == [b"ehlo", b"mail", b"rset", b"quit"]


def test_a_server_without_tls_never_gets_the_password_and_the_line_says_why() -> None:
    with smtp_server() as mail:  # offers no STARTTLS
        settings = email_settings(mail.port, TWEETGEN_SMTP_USER="bot", TWEETGEN_SMTP_PASSWORD="pw-789")
        (problem,) = send_notification(settings, Notification("s", "t"))
    assert problem == ("The email notification could not be sent (the server offers no STARTTLS, and the password is never "
                       f"sent unencrypted); check TWEETGEN_SMTP_* (server 127.0.0.1:{mail.port}).")
    assert mail.received == []


def test_mail_without_a_server_set_is_refused_in_one_sentence() -> None:
    with pytest.raises(NotifyError) as refused:
        send_email(Settings.from_mapping({}), Notification("s", "t"))
    assert str(refused.value) == "no SMTP server is set; set TWEETGEN_SMTP_HOST"
