"""The X API source, replayed from cassettes in the shape of tweepy's own recordings: no network,
no credentials, no sleeping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pandas as pd
import pyarrow as pa
import pytest
import requests
import tweepy
import vcr

from tests.fakes.x_cassettes import replay
from tweetgen.errors import ConfigError, SourceError
from tweetgen.schema import RAW_COLUMNS, RAW_SCHEMA, X_CURSOR
from tweetgen.sources.x_api import (
    FetchResult,
    XApiSource,
    XCursor,
    check_username,
    cursor_from_rows,
    cursor_rows,
    fetch_new_tweets,
    make_client,
    tweets_to_frame,
    x_api_cost_usd,
)

TOKEN = "test-bearer-AAAA-do-not-print-7f3a9c"
USER_ID = 1601234567890123456
SINCE_ID = 2028032492958646395
NOW = 1772377200.0  # 2026-03-01 15:00:00 UTC


def query(request: vcr.request.Request) -> dict[str, str]:
    return dict(request.query)


class FakeTime:
    """``now`` and ``sleep`` for the source: sleeping advances the time, nothing waits."""

    def __init__(self, start: float = NOW) -> None:
        self.t = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


@pytest.fixture
def client() -> tweepy.Client:
    return make_client(TOKEN)


@pytest.fixture
def cursor() -> XCursor:
    """The cursor an earlier run left: it keeps the account's user id, and no unread window."""
    return XCursor("tweetgen_test", USER_ID)


def fetch(client: tweepy.Client, cursor: XCursor | None, clock: FakeTime | None = None, **kwargs: object) -> FetchResult:
    clock = clock or FakeTime()
    options: dict[str, object] = {"since_id": SINCE_ID, "cursor": cursor, **kwargs}
    return fetch_new_tweets(client, "tweetgen_test", sleep=clock.sleep, now=clock.now, **options)


def assert_no_token(*texts: object) -> None:
    for text in texts:
        assert TOKEN not in str(text) and TOKEN not in repr(text)


def test_a_normal_page_is_mapped_to_raw_columns(client: tweepy.Client) -> None:
    with replay("normal_page") as cassette:
        result = fetch(client, None)

    assert (result.pages, result.requests, result.stopped_because, result.error) == (1, 2, "done", None)
    assert result.looked_up and result.cursor == XCursor("tweetgen_test", USER_ID, 0, 0)
    assert not result.posts_remain
    assert cassette.requests[0].path == "/2/users/by/username/tweetgen_test"
    sent = query(cassette.requests[1])
    assert sent["since_id"] == str(SINCE_ID)
    assert sent["max_results"] == "100"
    assert sent["exclude"] == "retweets"
    assert sent["tweet.fields"] == "created_at,public_metrics,lang,referenced_tweets,entities,conversation_id,note_tweet"
    assert "until_id" not in sent

    frame = result.frame
    assert list(frame.columns) == RAW_COLUMNS
    assert frame["tweet_id"].tolist() == [2028085529932730303, 2028104731456440349, 2028109299053495372]
    assert frame["created_at"].tolist() == [
        pd.Timestamp("2026-03-01 12:30:45", tz="UTC"),
        pd.Timestamp("2026-03-01 13:47:03", tz="UTC"),
        pd.Timestamp("2026-03-01 14:05:12", tz="UTC"),
    ]
    assert str(frame["created_at"].dt.tz) == "UTC"
    assert frame["is_reply"].tolist() == [False, True, False]
    assert frame["is_quote"].tolist() == [True, False, False]
    assert frame["likes"].tolist() == [22015, 1203, 48210]
    assert frame["retweets"].tolist() == [2410, 88, 5120]
    assert frame["replies"].tolist() == [1877, 140, 3012]
    assert frame["text"].iloc[1] == "@spacefan_99 Exactly. Reusability is everything."
    assert set(frame["username"]) == {"tweetgen_test"} and set(frame["lang"]) == {"en"}
    assert result.newest_id == 2028109299053495372
    assert pa.Table.from_pandas(frame, schema=RAW_SCHEMA, preserve_index=False).num_rows == 3


@pytest.mark.parametrize("known", ["cursor", "X_USER_ID"])
def test_a_known_user_id_skips_the_paid_lookup_and_nothing_new_gives_an_empty_frame(
    client: tweepy.Client, cursor: XCursor, known: str
) -> None:
    options = {"cursor": cursor} if known == "cursor" else {"cursor": None, "user_id": USER_ID}
    with replay("no_new_tweets") as cassette:
        result = fetch_new_tweets(client, "tweetgen_test", since_id=2028109299053495372, sleep=FakeTime().sleep, **options)

    assert [r.path for r in cassette.requests] == [f"/2/users/{USER_ID}/tweets"]
    assert query(cassette.requests[0])["since_id"] == "2028109299053495372"
    assert (result.pages, result.requests, result.stopped_because, result.error) == (0, 1, "no new tweets", None)
    assert result.frame.empty and list(result.frame.columns) == RAW_COLUMNS
    assert str(result.frame["created_at"].dtype) == "datetime64[us, UTC]"
    assert result.frame["tweet_id"].dtype == "int64"
    assert result.newest_id is None
    assert not result.looked_up and result.cursor == XCursor("tweetgen_test", USER_ID)


def test_next_token_is_followed_until_the_last_page(client: tweepy.Client, cursor: XCursor) -> None:
    with replay("two_pages") as cassette:
        result = fetch(client, cursor)

    assert (result.pages, result.requests, result.stopped_because) == (2, 2, "done")
    assert "pagination_token" not in query(cassette.requests[0])
    assert query(cassette.requests[1])["pagination_token"] == "7140dibdnow9c7btw4b2p9zjyh6hgurhpnyqc0ogprb6r"
    assert query(cassette.requests[1])["since_id"] == str(SINCE_ID)
    assert [query(r)["max_results"] for r in cassette.requests] == ["100", "97"]  # 3 of 100 already read
    frame = result.frame
    assert frame["tweet_id"].tolist() == sorted(frame["tweet_id"]) and len(frame) == 5
    assert frame["created_at"].iloc[0] == pd.Timestamp("2026-03-01 18:00:00", tz="UTC")
    assert frame["created_at"].iloc[-1] == pd.Timestamp("2026-03-02 08:15:00", tz="UTC")
    assert frame.set_index("tweet_id").loc[2028231302968247973, "text"] == "🚀🚀🚀"
    assert frame["lang"].tolist() == ["en", "zxx", "en", "de", "en"]
    assert frame["is_reply"].sum() == 1 and frame["is_quote"].sum() == 0


def test_every_post_of_a_paid_page_is_kept_and_the_unread_window_is_recorded(
    client: tweepy.Client, cursor: XCursor
) -> None:
    with replay("max_tweets") as cassette:
        result = fetch(client, cursor, max_tweets=6)

    assert [query(r)["max_results"] for r in cassette.requests] == ["6", "5"]  # pages sized to what is left
    assert (result.pages, result.requests, result.stopped_because) == (2, 2, "max tweets reached")
    # the four posts of page 1 and all five of page 2: X bills every post a page holds
    assert len(result.frame) == 9 and result.frame["tweet_id"].min() == 2028666671723449551
    # posts between the newest stored one and the oldest read are unread: the next run reads them first
    assert result.cursor == XCursor("tweetgen_test", USER_ID, SINCE_ID, 2028666671723449551)
    assert result.posts_remain


def test_a_rate_limit_is_waited_out_when_the_reset_fits_the_budget(client: tweepy.Client, cursor: XCursor) -> None:
    clock = FakeTime()
    with replay("rate_limited") as cassette:
        result = fetch(client, cursor, clock=clock, time_budget_s=600)

    assert clock.slept == [301.0]  # until x-rate-limit-reset (15:05:00) plus one second
    assert cassette.all_played
    assert (result.pages, result.requests, result.stopped_because, result.error) == (2, 3, "done", None)
    assert len(result.frame) == 4


def test_a_rate_limit_beyond_the_budget_stops_with_what_was_read(client: tweepy.Client, cursor: XCursor) -> None:
    clock = FakeTime()
    with replay("rate_limited"):
        result = fetch(client, cursor, clock=clock, time_budget_s=240)

    assert clock.slept == []
    assert (result.pages, result.requests, result.stopped_because) == (1, 2, "rate limited")
    assert result.frame["tweet_id"].tolist() == [2029149855544247409, 2029164955038646432]
    assert isinstance(result.error, SourceError)
    assert "resets at 2026-03-01 15:05:00 UTC" in str(result.error)
    assert_no_token(result.error, result)


def test_out_of_credits_keeps_the_pages_read_before(client: tweepy.Client, cursor: XCursor) -> None:
    with replay("payment_required"):
        result = fetch(client, cursor)

    assert (result.pages, result.requests, result.stopped_because) == (1, 2, "out of credits")
    assert result.frame["tweet_id"].tolist() == [2029512243409847221, 2029527342904250340]
    assert isinstance(result.error, SourceError)
    assert str(result.error).startswith("Out of X API credits (402 Payment Required)")
    assert_no_token(result.error)


def test_a_rejected_token_fails_before_any_read_without_showing_the_token(
    client: tweepy.Client, cursor: XCursor
) -> None:
    with replay("unauthorized") as cassette, pytest.raises(SourceError) as raised:
        fetch(client, cursor, since_id=None)

    assert "since_id" not in query(cassette.requests[0])
    assert "X_BEARER_TOKEN" in str(raised.value) and "401" in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    assert_no_token(raised.value)


def test_a_server_error_is_retried_after_a_backoff(client: tweepy.Client, cursor: XCursor) -> None:
    clock = FakeTime()
    with replay("server_error_then_ok"):
        result = fetch(client, cursor, clock=clock)

    assert clock.slept == [2.0]
    assert (result.pages, result.requests, result.stopped_because, result.error) == (1, 2, "done", None)
    assert result.frame["text"].tolist() == ["Back online"]


def test_three_server_errors_fail_cleanly(client: tweepy.Client, cursor: XCursor) -> None:
    clock = FakeTime()
    with (
        replay("server_errors"),
        pytest.raises(SourceError, match=r"failed 3 times in a row \(503 Service Unavailable\)"),
    ):
        fetch(client, cursor, clock=clock)
    assert clock.slept == [2.0, 4.0]


def test_network_errors_are_retried_then_fail_cleanly(
    client: tweepy.Client, cursor: XCursor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*args: object, **kwargs: object) -> None:
        raise requests.ConnectionError("Failed to establish a new connection")

    monkeypatch.setattr(client.session, "request", unreachable)
    clock = FakeTime()
    with pytest.raises(SourceError, match=r"Could not reach the X API \(ConnectionError, 3 times in a row\)"):
        fetch(client, cursor, clock=clock)
    assert clock.slept == [2.0, 4.0]


def test_a_timeout_is_retried(client: tweepy.Client, cursor: XCursor, monkeypatch: pytest.MonkeyPatch) -> None:
    real_request = client.session.request
    attempts: list[dict[str, object]] = []

    def flaky(*args: object, **kwargs: object) -> requests.Response:
        attempts.append(kwargs)
        if len(attempts) == 1:
            raise requests.ReadTimeout("read timed out")
        return real_request(*args, **kwargs)

    monkeypatch.setattr(client.session, "request", flaky)
    clock = FakeTime()
    with replay("no_new_tweets"):
        result = fetch(client, cursor, clock=clock, since_id=2028109299053495372)
    assert clock.slept == [2.0]
    assert (result.requests, result.stopped_because) == (2, "no new tweets")


def test_backoff_that_would_overrun_the_budget_is_not_waited(client: tweepy.Client, cursor: XCursor) -> None:
    clock = FakeTime()
    with replay("server_error_then_ok"), pytest.raises(SourceError, match=r"failed once \(503 Service Unavailable\)"):
        fetch(client, cursor, clock=clock, time_budget_s=1)
    assert clock.slept == []


def test_the_time_budget_ends_pagination_without_an_error(client: tweepy.Client, cursor: XCursor) -> None:
    class SlowTime(FakeTime):
        def now(self) -> float:  # every look at the clock finds 150 s gone
            self.t += 150
            return self.t

    with replay("two_pages"):
        result = fetch(client, cursor, clock=SlowTime(), time_budget_s=240)
    assert (result.pages, result.stopped_because, result.error) == (1, "time budget spent", None)
    assert len(result.frame) == 3


@pytest.mark.parametrize(
    ("username", "says"),
    [
        ("@no_such_account", r"X has no account @no_such_account \(Could not find user with username: \[no_such_account\]\.\)"),
        ("gone_rogue_42", r"X says @gone_rogue_42 is suspended \(User has been suspended: \[gone_rogue_42\]\.\)"),
    ],
)
def test_a_lookup_answered_with_errors_only_names_the_account(client: tweepy.Client, username: str, says: str) -> None:
    with replay("user_lookup") as cassette, pytest.raises(SourceError, match=says) as raised:
        fetch_new_tweets(client, username, since_id=None, sleep=FakeTime().sleep)
    assert cassette.play_count == 1  # no timeline request for an account that is not there
    assert "TWEETGEN_USERNAME" in str(raised.value)


class RefusingClient:
    """Stands in for ``tweepy.Client``: every timeline request gets the given HTTP error."""

    bearer_token = TOKEN

    def __init__(self, status: int, reason: str, body: dict[str, object]) -> None:
        response = requests.Response()
        response.status_code, response.reason = status, reason
        response._content = json.dumps(body).encode()
        response.headers["content-type"] = "application/problem+json"
        kind = {403: tweepy.Forbidden, 400: tweepy.BadRequest, 404: tweepy.NotFound}[status]
        self.error = kind(response)
        self.calls = 0

    def get_users_tweets(self, *args: object, **kwargs: object) -> None:
        self.calls += 1
        raise self.error


def test_forbidden_names_the_setting_and_is_not_retried(cursor: XCursor) -> None:
    refusing = RefusingClient(403, "Forbidden", {"title": "Forbidden", "detail": "Forbidden", "status": 403})
    with pytest.raises(SourceError, match="403 Forbidden.*X_BEARER_TOKEN") as raised:
        fetch(refusing, cursor)  # type: ignore[arg-type]
    assert refusing.calls == 1
    assert_no_token(raised.value)


def test_other_refusals_quote_x_but_never_the_token(cursor: XCursor) -> None:
    detail = f"Invalid since_id for bearer {TOKEN}"
    refusing = RefusingClient(400, "Bad Request", {"errors": [{"message": detail}], "title": "Invalid Request"})
    with pytest.raises(SourceError, match=r"refused the request \(400: Invalid since_id for bearer \*\*\*\)") as raised:
        fetch(refusing, cursor)  # type: ignore[arg-type]
    assert refusing.calls == 1
    assert_no_token(raised.value)


@pytest.mark.parametrize("token", [None, "", "   "])
def test_make_client_needs_a_token(token: str | None) -> None:
    with pytest.raises(ConfigError, match="X_BEARER_TOKEN"):
        make_client(token)


def test_make_client_sets_a_request_timeout_and_keeps_the_token_from_tweepy() -> None:
    client = make_client(f"  {TOKEN}\n")
    assert client.bearer_token is None  # tweepy logs the headers it builds, so it never holds the token
    assert client.session.timeout_s == 30.0
    sent = client.session.prepare_request(requests.Request("GET", "https://api.twitter.com/2/users/me"))
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(client.session.auth) and TOKEN not in repr(vars(client))


def test_arguments_are_checked_before_any_request(client: tweepy.Client, cursor: XCursor) -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        fetch(client, cursor, max_tweets=0)
    with pytest.raises(ConfigError, match="not an X username"):
        fetch_new_tweets(client, "elon musk", since_id=None)
    assert check_username(" @TweetGen_Test ") == "tweetgen_test"


def test_created_at_is_parsed_as_utc() -> None:
    tweet = tweepy.Tweet(
        {"id": "7", "text": "t", "created_at": "2026-03-01T23:59:59.000Z", "edit_history_tweet_ids": ["7"]}
    )
    frame = tweets_to_frame([tweet, tweet], "someone")
    assert len(frame) == 1  # duplicate ids collapse
    assert frame["created_at"].iloc[0].to_pydatetime() == datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    assert frame[["likes", "retweets", "replies"]].iloc[0].tolist() == [0, 0, 0]
    assert not frame["is_reply"].iloc[0] and not frame["is_quote"].iloc[0]


def test_x_api_cost() -> None:
    assert x_api_cost_usd(0) == 0
    assert x_api_cost_usd(20, user_lookups=1) == pytest.approx(0.11)
    assert x_api_cost_usd(30_000) == pytest.approx(150.0)


RESEARCH_SINCE_ID = 2027670105093115904  # the newest stored id the derived cassettes expect


@pytest.mark.parametrize(
    ("cassette", "says"),
    [
        ("protected_timeline", r"X refuses to show the posts of @tweetgen_test \(user id 1601234567890123456\): "
                               r"the account is protected \(Sorry, you are not authorized"),
        ("suspended_timeline", r"X says @tweetgen_test \(user id 1601234567890123456\) is suspended "
                               r"\(User has been suspended: \[1601234567890123456\]\.\)"),
    ],
)
def test_a_timeline_answered_with_errors_only_fails_with_one_sentence(
    client: tweepy.Client, cursor: XCursor, cassette: str, says: str
) -> None:
    with replay(cassette), pytest.raises(SourceError, match=says) as raised:
        fetch(client, cursor, since_id=RESEARCH_SINCE_ID)
    message = str(raised.value)
    assert "\n" not in message and message.endswith("account in TWEETGEN_USERNAME.")
    assert raised.value.__cause__ is None


def test_a_rate_limited_run_is_resumed_below_the_oldest_post_it_read(client: tweepy.Client, cursor: XCursor) -> None:
    with replay("capped_by_rate_limit"):
        first = fetch(client, cursor, since_id=RESEARCH_SINCE_ID, max_tweets=200)
    assert (first.stopped_because, first.pages, first.posts_remain) == ("rate limited", 1, True)
    assert first.frame["tweet_id"].tolist() == [2029149855544315904, 2029164955038715904]
    assert first.cursor == XCursor("tweetgen_test", USER_ID, RESEARCH_SINCE_ID, 2029149855544315904)

    # The next run: the unread window first (until_id = the oldest post read), then newer posts.
    newest_stored = first.newest_id
    with replay("resume_until_id") as cassette:
        second = fetch(client, first.cursor, since_id=newest_stored, max_tweets=200)
    assert cassette.all_played
    window, newer = (query(r) for r in cassette.requests)
    assert (window["since_id"], window["until_id"]) == (str(RESEARCH_SINCE_ID), "2029149855544315904")
    assert newer["since_id"] == str(newest_stored) and "until_id" not in newer
    assert second.frame["tweet_id"].tolist() == [2029119656555515904, 2029134756049915904, 2029466944926715904]
    assert (second.stopped_because, second.posts_remain, second.error) == ("done", False, None)
    assert second.cursor == XCursor("tweetgen_test", USER_ID, 0, 0)
    # Together: every post between the stored one and the newest, none twice.
    together = [*first.frame["tweet_id"], *second.frame["tweet_id"]]
    assert sorted(together) == sorted(set(together)) and len(together) == 5


def test_a_window_left_by_another_user_id_is_not_read(client: tweepy.Client) -> None:
    stale = XCursor("tweetgen_test", 42, RESEARCH_SINCE_ID, 2029149855544315904)
    with replay("no_new_tweets") as cassette:
        result = fetch_new_tweets(client, "tweetgen_test", since_id=2028109299053495372, cursor=stale, user_id=USER_ID,
                                  sleep=FakeTime().sleep)
    assert "until_id" not in query(cassette.requests[0])
    assert result.cursor == XCursor("tweetgen_test", USER_ID)


def test_the_bearer_token_never_reaches_any_output_at_debug_level(
    client: tweepy.Client, cursor: XCursor, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    root = logging.getLogger()
    handler = logging.StreamHandler()  # stderr, as logging.basicConfig(level=logging.DEBUG) would add
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        with replay("normal_page"):
            fetch(client, None)  # a paid lookup and a page
        with replay("unauthorized"), pytest.raises(SourceError):
            fetch(client, cursor, since_id=None)
        with replay("protected_timeline"), pytest.raises(SourceError):
            fetch(client, cursor, since_id=RESEARCH_SINCE_ID)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    out, err = capfd.readouterr()
    logged = caplog.text
    assert "Making API request: GET https://api.twitter.com/2/users/by/username/tweetgen_test" in err  # tweepy did log
    assert "Headers:" in logged and "Authorization" in logged
    for text in (out, err, logged):
        assert TOKEN not in text


def cursor_table(*rows: tuple[str, int, int, int, int]) -> pd.DataFrame:
    """``x_cursor`` rows: (username, seq, user_id, since_id, until_id)."""
    recorded = datetime(2026, 3, 1, tzinfo=UTC)
    return pa.Table.from_pylist(
        [dict(zip(("username", "seq", "user_id", "since_id", "until_id"), row, strict=True)) | {"recorded_at": recorded} for row in rows],
        schema=X_CURSOR.schema,
    ).to_pandas()


def test_the_current_cursor_is_the_accounts_row_with_the_largest_seq_in_any_order() -> None:
    rows = cursor_table(("tweetgen_test", 2, USER_ID, 5, 9), ("other", 7, 42, 1, 2), ("tweetgen_test", 10, USER_ID, 6, 0),
                        ("tweetgen_test", 9, USER_ID, 7, 8))
    assert cursor_from_rows(rows, "@TweetGen_Test") == XCursor("tweetgen_test", USER_ID, 6, 0, 10)  # 10 > 9 as numbers
    assert cursor_from_rows(rows, "other") == XCursor("other", 42, 1, 2, 7)
    assert cursor_from_rows(rows, "nobody") is None and cursor_from_rows(rows.iloc[:0], "other") is None


def test_a_cursor_row_is_written_only_when_its_state_changed_and_numbers_on_from_the_previous() -> None:
    now = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)
    first = cursor_rows(XCursor("tweetgen_test", USER_ID, 5, 9), None, now)
    assert first.to_dict("records") == [{"username": "tweetgen_test", "seq": 1, "user_id": USER_ID, "since_id": 5, "until_id": 9,
                                         "recorded_at": pd.Timestamp(now)}]
    previous = XCursor("tweetgen_test", USER_ID, 5, 9, seq=4)
    assert cursor_rows(XCursor("tweetgen_test", USER_ID, 5, 9), previous, now).empty  # the same state: no row
    assert list(cursor_rows(XCursor("tweetgen_test", USER_ID, 5, 9), previous, now).columns) == X_CURSOR.schema.names
    for changed in (XCursor("tweetgen_test", USER_ID, 6, 9), XCursor("tweetgen_test", USER_ID, 5, 0),
                    XCursor("tweetgen_test", USER_ID + 1, 5, 9), XCursor("other", USER_ID, 5, 9)):
        assert cursor_rows(changed, previous, now)[["seq", "since_id", "until_id"]].values.tolist() == [[5, changed.since_id, changed.until_id]]
    assert XCursor("a", 1, 2, 3, seq=1).same_state(XCursor("a", 1, 2, 3, seq=8)) and not XCursor("a", 1, 2, 3).same_state(None)


@pytest.mark.parametrize(("until_id", "unread"), [(0, False), (1, True), (2028666671723449551, True)])
def test_a_window_is_left_unread_from_until_id_one_on(until_id: int, unread: bool) -> None:
    assert XCursor("a", 1, 0, until_id).unread_below is unread


def test_the_first_page_is_asked_without_a_pagination_token_and_the_next_with_it(client: tweepy.Client, cursor: XCursor) -> None:
    sent: list[str] = []  # the URLs as sent (vcr matches queries without their empty values)
    client.session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.request.url))
    with replay("max_tweets"):
        fetch(client, cursor, max_tweets=6)
    first, second = (urlsplit(url).query for url in sent)
    assert "pagination_token" not in first and second.endswith("&pagination_token=7140dibdnow9c7btw4b2pa1lxq3x2w6gq5rkzb9z2d3c")


def test_a_page_that_reaches_the_cap_exactly_is_the_last_one_asked_for(client: tweepy.Client, cursor: XCursor) -> None:
    with replay("max_tweets_exact") as cassette:  # a page of 5 with a next_token; asking for page 2 fails the test
        result = fetch(client, cursor, max_tweets=5)
    assert (cassette.play_count, result.requests, result.stopped_because, len(result.frame)) == (1, 1, "max tweets reached", 5)
    assert result.cursor == XCursor("tweetgen_test", USER_ID, SINCE_ID, 2028666671723449551)


@pytest.mark.parametrize(("budget_s", "requests"), [(0.0, 0), (1.0, 1)])
def test_no_request_is_sent_once_the_time_budget_is_spent_to_the_second(
    client: tweepy.Client, cursor: XCursor, budget_s: float, requests: int
) -> None:
    with replay("max_tweets_exact") as cassette:
        result = fetch(client, cursor, max_tweets=5, time_budget_s=budget_s)
    assert cassette.play_count == result.requests == requests
    assert result.stopped_because == ("time budget spent" if requests == 0 else "max tweets reached")


def test_a_refusal_that_quotes_the_token_is_scrubbed(client: tweepy.Client, cursor: XCursor) -> None:
    with replay("protected_timeline_quoting_token"), pytest.raises(SourceError, match=r"\(request by \*\*\*\)") as raised:
        fetch(client, cursor, since_id=RESEARCH_SINCE_ID)
    assert_no_token(raised.value)


def test_the_cursor_row_is_stamped_in_utc_whatever_the_machines_time_zone(client: tweepy.Client, monkeypatch) -> None:
    import time

    source = XApiSource(client, "tweetgen_test", cursor=XCursor("tweetgen_test", USER_ID))
    source.cursor = XCursor("tweetgen_test", USER_ID, 5, 9)  # moved on: a row to write
    monkeypatch.setenv("TZ", "America/New_York")  # a laptop's zone, hours from UTC
    time.tzset()
    try:
        (stamp,) = source.cursor_rows()["recorded_at"]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert str(stamp.tz) == "UTC" and abs(stamp - pd.Timestamp.now(tz="UTC")) < pd.Timedelta(minutes=30)
