"""The X API source, replayed from hand-written cassettes: no network, no credentials, no sleeping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import requests
import tweepy
import vcr

from tests.fakes.x_cassettes import replay
from tweetgen.errors import ConfigError, SourceError
from tweetgen.schema import RAW_COLUMNS, RAW_SCHEMA
from tweetgen.sources.x_api import (
    FetchResult,
    check_username,
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
def id_cache(tmp_path: Path) -> Path:
    path = tmp_path / "x_user_ids.json"
    path.write_text(json.dumps({"tweetgen_test": str(USER_ID)}), encoding="utf-8")
    return path


def fetch(client: tweepy.Client, id_cache: Path, clock: FakeTime | None = None, **kwargs: object) -> FetchResult:
    clock = clock or FakeTime()
    options: dict[str, object] = {"since_id": SINCE_ID, "user_id_cache": id_cache, **kwargs}
    return fetch_new_tweets(client, "tweetgen_test", sleep=clock.sleep, now=clock.now, **options)


def assert_no_token(*texts: object) -> None:
    for text in texts:
        assert TOKEN not in str(text) and TOKEN not in repr(text)


@pytest.mark.parametrize("cache_text", [None, "{not json"])
def test_a_normal_page_is_mapped_to_raw_columns(client: tweepy.Client, tmp_path: Path, cache_text: str | None) -> None:
    cache = tmp_path / "cache" / "x_user_ids.json"
    if cache_text is not None:
        cache.parent.mkdir()
        cache.write_text(cache_text, encoding="utf-8")
    with replay("normal_page") as cassette:
        result = fetch(client, cache)

    assert (result.pages, result.requests, result.stopped_because, result.error) == (1, 2, "done", None)
    assert cassette.requests[0].path == "/2/users/by/username/tweetgen_test"
    sent = query(cassette.requests[1])
    assert sent["since_id"] == str(SINCE_ID)
    assert sent["max_results"] == "100"
    assert sent["exclude"] == "retweets"
    assert sent["tweet.fields"] == "created_at,public_metrics,lang,referenced_tweets,entities,conversation_id,note_tweet"
    assert json.loads(cache.read_text(encoding="utf-8")) == {"tweetgen_test": str(USER_ID)}

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


def test_a_cached_user_id_skips_the_paid_lookup_and_nothing_new_gives_an_empty_frame(
    client: tweepy.Client, id_cache: Path
) -> None:
    with replay("no_new_tweets") as cassette:
        result = fetch(client, id_cache, since_id=2028109299053495372)

    assert [r.path for r in cassette.requests] == [f"/2/users/{USER_ID}/tweets"]
    assert query(cassette.requests[0])["since_id"] == "2028109299053495372"
    assert (result.pages, result.requests, result.stopped_because, result.error) == (0, 1, "no new tweets", None)
    assert result.frame.empty and list(result.frame.columns) == RAW_COLUMNS
    assert str(result.frame["created_at"].dtype) == "datetime64[us, UTC]"
    assert result.frame["tweet_id"].dtype == "int64"
    assert result.newest_id is None


def test_next_token_is_followed_until_the_last_page(client: tweepy.Client, id_cache: Path) -> None:
    with replay("two_pages") as cassette:
        result = fetch(client, id_cache)

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


def test_never_more_than_max_tweets_are_kept_and_pages_are_sized_to_what_is_left(
    client: tweepy.Client, id_cache: Path
) -> None:
    with replay("max_tweets") as cassette:
        result = fetch(client, id_cache, max_tweets=6)

    assert [query(r)["max_results"] for r in cassette.requests] == ["6", "5"]
    assert (result.pages, result.requests, result.stopped_because) == (2, 2, "max tweets reached")
    # the four posts of page 1 and the newest two of page 2 (X sends the newest first)
    assert result.frame["tweet_id"].tolist() == [
        2028711970206646620,
        2028727069701049739,
        2028742169195448762,
        2028757268689847785,
        2028772368184246808,
        2028787467678649927,
    ]


def test_a_rate_limit_is_waited_out_when_the_reset_fits_the_budget(client: tweepy.Client, id_cache: Path) -> None:
    clock = FakeTime()
    with replay("rate_limited") as cassette:
        result = fetch(client, id_cache, clock=clock, time_budget_s=600)

    assert clock.slept == [301.0]  # until x-rate-limit-reset (15:05:00) plus one second
    assert cassette.all_played
    assert (result.pages, result.requests, result.stopped_because, result.error) == (2, 3, "done", None)
    assert len(result.frame) == 4


def test_a_rate_limit_beyond_the_budget_stops_with_what_was_read(client: tweepy.Client, id_cache: Path) -> None:
    clock = FakeTime()
    with replay("rate_limited"):
        result = fetch(client, id_cache, clock=clock, time_budget_s=240)

    assert clock.slept == []
    assert (result.pages, result.requests, result.stopped_because) == (1, 2, "rate limited")
    assert result.frame["tweet_id"].tolist() == [2029149855544247409, 2029164955038646432]
    assert isinstance(result.error, SourceError)
    assert "resets at 2026-03-01 15:05:00 UTC" in str(result.error)
    assert_no_token(result.error, result)


def test_out_of_credits_keeps_the_pages_read_before(client: tweepy.Client, id_cache: Path) -> None:
    with replay("payment_required"):
        result = fetch(client, id_cache)

    assert (result.pages, result.requests, result.stopped_because) == (1, 2, "out of credits")
    assert result.frame["tweet_id"].tolist() == [2029512243409847221, 2029527342904250340]
    assert isinstance(result.error, SourceError)
    assert str(result.error).startswith("Out of X API credits (402 Payment Required)")
    assert_no_token(result.error)


def test_a_rejected_token_fails_before_any_read_without_showing_the_token(
    client: tweepy.Client, id_cache: Path
) -> None:
    with replay("unauthorized") as cassette, pytest.raises(SourceError) as raised:
        fetch(client, id_cache, since_id=None)

    assert "since_id" not in query(cassette.requests[0])
    assert "X_BEARER_TOKEN" in str(raised.value) and "401" in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    assert_no_token(raised.value)


def test_a_server_error_is_retried_after_a_backoff(client: tweepy.Client, id_cache: Path) -> None:
    clock = FakeTime()
    with replay("server_error_then_ok"):
        result = fetch(client, id_cache, clock=clock)

    assert clock.slept == [2.0]
    assert (result.pages, result.requests, result.stopped_because, result.error) == (1, 2, "done", None)
    assert result.frame["text"].tolist() == ["Back online"]


def test_three_server_errors_fail_cleanly(client: tweepy.Client, id_cache: Path) -> None:
    clock = FakeTime()
    with (
        replay("server_errors"),
        pytest.raises(SourceError, match=r"failed 3 times in a row \(503 Service Unavailable\)"),
    ):
        fetch(client, id_cache, clock=clock)
    assert clock.slept == [2.0, 4.0]


def test_network_errors_are_retried_then_fail_cleanly(
    client: tweepy.Client, id_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*args: object, **kwargs: object) -> None:
        raise requests.ConnectionError("Failed to establish a new connection")

    monkeypatch.setattr(client.session, "request", unreachable)
    clock = FakeTime()
    with pytest.raises(SourceError, match=r"Could not reach the X API \(ConnectionError, 3 times in a row\)"):
        fetch(client, id_cache, clock=clock)
    assert clock.slept == [2.0, 4.0]


def test_a_timeout_is_retried(client: tweepy.Client, id_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
        result = fetch(client, id_cache, clock=clock, since_id=2028109299053495372)
    assert clock.slept == [2.0]
    assert (result.requests, result.stopped_because) == (2, "no new tweets")


def test_backoff_that_would_overrun_the_budget_is_not_waited(client: tweepy.Client, id_cache: Path) -> None:
    clock = FakeTime()
    with replay("server_error_then_ok"), pytest.raises(SourceError, match=r"failed once \(503 Service Unavailable\)"):
        fetch(client, id_cache, clock=clock, time_budget_s=1)
    assert clock.slept == []


def test_the_time_budget_ends_pagination_without_an_error(client: tweepy.Client, id_cache: Path) -> None:
    class SlowTime(FakeTime):
        def now(self) -> float:  # every look at the clock finds 150 s gone
            self.t += 150
            return self.t

    with replay("two_pages"):
        result = fetch(client, id_cache, clock=SlowTime(), time_budget_s=240)
    assert (result.pages, result.stopped_because, result.error) == (1, "time budget spent", None)
    assert len(result.frame) == 3


def test_an_unknown_account_is_named_and_not_cached(client: tweepy.Client, tmp_path: Path) -> None:
    cache = tmp_path / "x_user_ids.json"
    with replay("user_lookup"), pytest.raises(SourceError, match="X has no account named @no_such_account"):
        fetch_new_tweets(client, "@no_such_account", since_id=None, user_id_cache=cache, sleep=FakeTime().sleep)
    assert not cache.exists()


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


def test_forbidden_names_the_setting_and_is_not_retried(id_cache: Path) -> None:
    refusing = RefusingClient(403, "Forbidden", {"title": "Forbidden", "detail": "Forbidden", "status": 403})
    with pytest.raises(SourceError, match="403 Forbidden.*X_BEARER_TOKEN") as raised:
        fetch(refusing, id_cache)  # type: ignore[arg-type]
    assert refusing.calls == 1
    assert_no_token(raised.value)


def test_other_refusals_quote_x_but_never_the_token(id_cache: Path) -> None:
    detail = f"Invalid since_id for bearer {TOKEN}"
    refusing = RefusingClient(400, "Bad Request", {"errors": [{"message": detail}], "title": "Invalid Request"})
    with pytest.raises(SourceError, match=r"refused the request \(400: Invalid since_id for bearer \*\*\*\)") as raised:
        fetch(refusing, id_cache)  # type: ignore[arg-type]
    assert refusing.calls == 1
    assert_no_token(raised.value)


@pytest.mark.parametrize("token", [None, "", "   "])
def test_make_client_needs_a_token(token: str | None) -> None:
    with pytest.raises(ConfigError, match="X_BEARER_TOKEN"):
        make_client(token)


def test_make_client_sets_a_request_timeout() -> None:
    client = make_client(f"  {TOKEN}\n")
    assert client.bearer_token == TOKEN
    assert client.session.timeout_s == 30.0


def test_arguments_are_checked_before_any_request(client: tweepy.Client, id_cache: Path) -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        fetch(client, id_cache, max_tweets=0)
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
