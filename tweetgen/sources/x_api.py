"""Live tweets from the X API v2: the newest posts of one account since the last run.

Every read is paid (about $0.005 per post read, $0.010 per user lookup), so ``fetch_new_tweets``
reads at most ``max_tweets`` posts, looks the account's user id up once and caches it, and never
repeats a request that a retry cannot fix (400-404). Transient failures (5xx, network) are retried
with exponential backoff; a rate limit is waited out only if its reset fits in the time budget.

Failures come back as one-sentence ``SourceError`` messages that never contain the bearer token.
What was read before a failure is still returned, so the caller can write it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import requests
import tweepy

from tweetgen.errors import ConfigError, SourceError, TweetgenError
from tweetgen.schema import RAW_SCHEMA
from tweetgen.sources.port import TweetLoad, TweetSource

# note_tweet carries the full text of posts longer than 280 characters (text is cut short then).
TWEET_FIELDS = ["created_at", "public_metrics", "lang", "referenced_tweets", "entities", "conversation_id", "note_tweet"]
PAGE_MIN, PAGE_MAX = 5, 100  # the endpoint's bounds on max_results
RETRY_TRIES = 3  # attempts per request on 5xx and network errors
RETRY_BASE_S = 2.0  # backoff before the 2nd attempt; doubles after each failure
MAX_RATE_LIMIT_WAITS = 2  # per request, so a misbehaving reset header cannot loop forever
REQUEST_TIMEOUT_S = 30.0  # tweepy sets none; without one a stalled connection hangs the job
MODAL_TIME_BUDGET_S = 240.0  # the scrape function's timeout is 300 s: leave time to write
USD_PER_POST_READ = 0.005  # pay-per-use prices of the X API since February 2026
USD_PER_USER_LOOKUP = 0.010
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,15}$")

# Values of FetchResult.stopped_because.
NO_NEW_TWEETS = "no new tweets"
DONE = "done"
MAX_TWEETS_REACHED = "max tweets reached"
TIME_BUDGET_SPENT = "time budget spent"
RATE_LIMITED = "rate limited"
OUT_OF_CREDITS = "out of credits"
NOT_AUTHORIZED = "not authorized"
SERVER_ERROR = "server error"
NETWORK_ERROR = "network error"
REQUEST_FAILED = "request failed"


@dataclass(frozen=True)
class FetchResult:
    """What one call of ``fetch_new_tweets`` read.

    Attributes:
        frame: the tweets read, columns exactly ``RAW_COLUMNS`` (``created_at`` UTC-aware), one row
            per tweet id, oldest first.
        pages: timeline pages that held tweets.
        requests: HTTP requests sent to X, the user lookup and retries included.
        stopped_because: one of the module's stop reasons (``"no new tweets"``, ``"done"``,
            ``"max tweets reached"``, ``"time budget spent"``, ``"rate limited"``, ...).
        error: the failure that ended the read after some tweets were read, else ``None``.
    """

    frame: pd.DataFrame
    pages: int
    requests: int
    stopped_because: str
    error: TweetgenError | None = None

    @property
    def newest_id(self) -> int | None:
        """The largest tweet id read, the ``since_id`` of the next run; ``None`` if none was read."""
        return int(self.frame["tweet_id"].max()) if len(self.frame) else None


class _TimeoutSession(requests.Session):
    """A session whose requests time out unless told otherwise."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(*args, **kwargs)


def make_client(bearer_token: str | None, timeout_s: float = REQUEST_TIMEOUT_S) -> tweepy.Client:
    """Build an app-only X API v2 client whose requests time out after ``timeout_s`` seconds.

    Raises:
        ConfigError: ``bearer_token`` is missing or blank (names ``X_BEARER_TOKEN``).
    """
    if not bearer_token or not bearer_token.strip():
        raise ConfigError(
            "X_BEARER_TOKEN is not set; set it to the bearer token of your X developer app to read live tweets."
        )
    client = tweepy.Client(bearer_token=bearer_token.strip(), wait_on_rate_limit=False)
    client.session = _TimeoutSession(timeout_s)
    return client


class _Stop(Exception):
    """Ends a read early: the stop reason and, for a failure, the user-facing error."""

    def __init__(self, reason: str, error: TweetgenError) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


@dataclass
class _Calls:
    """Sends requests to X: counts them, retries transient failures, waits out rate limits."""

    sleep: Callable[[float], None]
    now: Callable[[], float]
    deadline: float
    secret: str | None
    count: int = 0

    def remaining_s(self) -> float:
        return self.deadline - self.now()

    def send(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``method``; raise ``_Stop`` when X cannot answer within the rules above."""
        failures = rate_waits = 0
        while True:
            self.count += 1
            try:
                return method(*args, **kwargs)
            except tweepy.TooManyRequests as error:
                rate_waits += 1
                self._wait_for_reset(error, rate_waits)
            except (tweepy.TwitterServerError, requests.RequestException) as error:
                failures += 1
                self._back_off(error, failures)
            except tweepy.HTTPException as error:
                raise _Stop(*_describe_refusal(error, self.secret)) from None

    def _wait_for_reset(self, error: tweepy.TooManyRequests, waits: int) -> None:
        reset = _reset_time(error)
        if reset is None:
            raise _Stop(
                RATE_LIMITED, SourceError("X API rate limit reached and X sent no reset time; run again in 15 minutes.")
            )
        wait_s = max(reset - self.now(), 0.0) + 1.0
        if waits > MAX_RATE_LIMIT_WAITS or wait_s > self.remaining_s():
            when = datetime.fromtimestamp(reset, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
            raise _Stop(
                RATE_LIMITED,
                SourceError(
                    f"X API rate limit reached; it resets at {when} UTC (in {wait_s:.0f} s), "
                    "after this run's time budget, so run again after that."
                ),
            )
        self.sleep(wait_s)

    def _back_off(self, error: Exception, failures: int) -> None:
        delay_s = RETRY_BASE_S * 2 ** (failures - 1)
        if failures < RETRY_TRIES and delay_s <= self.remaining_s():
            self.sleep(delay_s)
            return
        times = "once" if failures == 1 else f"{failures} times in a row"
        if isinstance(error, tweepy.HTTPException):
            what = _redact(str(error).splitlines()[0], self.secret)
            raise _Stop(
                SERVER_ERROR, SourceError(f"The X API failed {times} ({what}); it is having trouble, run again later.")
            )
        raise _Stop(
            NETWORK_ERROR,
            SourceError(
                f"Could not reach the X API ({type(error).__name__}, {times}); "
                "check the network connection and run again."
            ),
        )


def _reset_time(error: tweepy.TooManyRequests) -> float | None:
    """The epoch second a rate limit resets, from tweepy or the ``x-rate-limit-reset`` header."""
    if error.reset_time is not None:
        return float(error.reset_time)
    header = error.response.headers.get("x-rate-limit-reset")
    return float(header) if header and header.strip().isdigit() else None


def _describe_refusal(error: tweepy.HTTPException, secret: str | None) -> tuple[str, SourceError]:
    """Map a 4xx answer to a stop reason and one sentence; never quotes the credentials."""
    status = error.response.status_code
    if status == 401:
        return NOT_AUTHORIZED, SourceError(
            "The X API rejected the bearer token (401 Unauthorized); check X_BEARER_TOKEN, "
            "or regenerate it in the X developer console."
        )
    if status == 403:
        return NOT_AUTHORIZED, SourceError(
            "The X API refused access (403 Forbidden); check that X_BEARER_TOKEN belongs to an app "
            "whose plan allows reading user timelines."
        )
    if status == 402:
        return OUT_OF_CREDITS, SourceError(
            "Out of X API credits (402 Payment Required); top up the prepaid credits in the X "
            "developer console, then run again."
        )
    details = "; ".join(error.api_messages) or str(error).splitlines()[0]
    return REQUEST_FAILED, SourceError(
        f"The X API refused the request ({status}: {_redact(details, secret)[:300]}); "
        "check TWEETGEN_USERNAME and the since id."
    )


def _redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def check_username(username: str) -> str:
    """Return ``username`` without a leading ``@``, lowercased, as the history data spells it.

    Raises:
        ConfigError: it is not a valid X username (1-15 letters, digits or underscores).
    """
    name = username.strip().removeprefix("@")
    if not USERNAME_PATTERN.match(name):
        raise ConfigError(
            f"TWEETGEN_USERNAME is {username!r}, which is not an X username (1-15 letters, digits or '_')."
        )
    return name.lower()


def _read_id_cache(path: Path | None) -> dict[str, str]:
    """The cached ``{username: user id}`` map; an unreadable file counts as empty."""
    if path is None or not path.is_file():
        return {}
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in cached.items()} if isinstance(cached, dict) else {}


def _write_id_cache(path: Path, cache: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(cache, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    partial.replace(path)


def _user_id(client: tweepy.Client, username: str, cache_path: Path | None, calls: _Calls) -> int:
    """The account's user id, from the cache or from one paid lookup that is then cached."""
    cache = _read_id_cache(cache_path)
    if username in cache and cache[username].isdigit():
        return int(cache[username])
    response = calls.send(client.get_user, username=username)
    if response.data is None:
        raise _Stop(REQUEST_FAILED, SourceError(f"X has no account named @{username}; check TWEETGEN_USERNAME."))
    if cache_path is not None:
        _write_id_cache(cache_path, {**cache, username: str(response.data.id)})
    return int(response.data.id)


def _read_pages(
    client: tweepy.Client,
    user_id: int,
    since_id: int | None,
    max_tweets: int,
    calls: _Calls,
    pages: list[list[tweepy.Tweet]],
) -> str:
    """Append timeline pages, newest first, to ``pages``; return why reading stopped.

    ``pages`` is filled in place so that what was read survives a ``_Stop``.
    """
    token = None
    while True:
        remaining = max_tweets - sum(map(len, pages))
        if calls.remaining_s() <= 0:
            return TIME_BUDGET_SPENT
        response = calls.send(
            client.get_users_tweets,
            user_id,
            since_id=since_id,
            max_results=min(PAGE_MAX, max(PAGE_MIN, remaining)),
            exclude=["retweets"],
            tweet_fields=TWEET_FIELDS,
            pagination_token=token,
        )
        if not response.data:
            return DONE if pages else NO_NEW_TWEETS
        pages.append(list(response.data)[:remaining])
        token = response.meta.get("next_token")
        if not token:
            return DONE
        if remaining <= len(pages[-1]):
            return MAX_TWEETS_REACHED


def fetch_new_tweets(
    client: tweepy.Client,
    username: str,
    since_id: int | None,
    max_tweets: int = 100,
    user_id_cache: Path | None = None,
    time_budget_s: float = 240,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.time,
) -> FetchResult:
    """Read the account's posts newer than ``since_id`` (retweets excluded), newest first.

    Reads at most ``max_tweets`` posts (X bills each post read; the endpoint returns at least 5 per
    page, so asking for fewer than 5 may still bill 5). X returns the newest posts first, so a run
    that stops early leaves older unread posts between ``since_id`` and the oldest post read.

    Args:
        client: from ``make_client``.
        username: the account, with or without ``@``.
        since_id: the newest tweet id already stored; ``None`` reads the newest posts.
        max_tweets: the most posts to read in this call.
        user_id_cache: a JSON file mapping usernames to user ids; ``None`` looks the id up each call.
        time_budget_s: rate-limit waits and retry backoffs must end within this many seconds.
        sleep: waits that many seconds (injected by tests).
        now: the current epoch time in seconds (injected by tests).

    Returns:
        A ``FetchResult``; if a failure ended the read after some posts were read, ``error`` holds it.

    Raises:
        ConfigError: ``username`` or ``max_tweets`` is invalid.
        SourceError: X failed before any post was read (one sentence, without the token).
    """
    if max_tweets < 1:
        raise ConfigError(f"max_tweets is {max_tweets}; ask for at least 1 tweet.")
    name = check_username(username)
    calls = _Calls(sleep=sleep, now=now, deadline=now() + time_budget_s, secret=client.bearer_token)
    pages: list[list[tweepy.Tweet]] = []
    error: TweetgenError | None = None
    try:
        user_id = _user_id(client, name, user_id_cache, calls)
        stopped_because = _read_pages(client, user_id, since_id, max_tweets, calls, pages)
    except _Stop as stop:
        stopped_because, error = stop.reason, stop.error
    tweets = [tweet for page in pages for tweet in page]
    if error is not None and not tweets:
        raise error
    return FetchResult(tweets_to_frame(tweets, name), len(pages), calls.count, stopped_because, error)


def tweets_to_frame(tweets: Iterable[tweepy.Tweet], username: str) -> pd.DataFrame:
    """Map tweepy ``Tweet`` objects to a frame of ``RAW_COLUMNS``, oldest first, ids unique.

    ``is_reply`` / ``is_quote`` come from ``referenced_tweets`` ("replied_to" / "quoted"); the
    counts from ``public_metrics`` (0 when absent).
    """
    rows = [_raw_row(tweet, username) for tweet in tweets]
    frame = pa.Table.from_pylist(rows, schema=RAW_SCHEMA).to_pandas()
    frame = frame.drop_duplicates("tweet_id").sort_values("tweet_id", kind="stable")
    return frame.reset_index(drop=True)


def _raw_row(tweet: tweepy.Tweet, username: str) -> dict[str, object]:
    kinds = {reference.type for reference in tweet.referenced_tweets or ()}
    metrics = tweet.public_metrics or {}
    return {
        "tweet_id": tweet.id,
        "created_at": tweet.created_at,
        "text": (tweet.data.get("note_tweet") or {}).get("text") or tweet.text,
        "username": username,
        "is_reply": "replied_to" in kinds,
        "is_quote": "quoted" in kinds,
        "lang": tweet.lang,
        "likes": int(metrics.get("like_count", 0)),
        "retweets": int(metrics.get("retweet_count", 0)),
        "replies": int(metrics.get("reply_count", 0)),
    }


def x_api_cost_usd(posts_read: int, user_lookups: int = 0) -> float:
    """What reading ``posts_read`` posts and looking up ``user_lookups`` users costs, in US dollars."""
    return posts_read * USD_PER_POST_READ + user_lookups * USD_PER_USER_LOOKUP


class XApiSource(TweetSource):
    """The account's posts newer than the newest id the group holds (see ``fetch_new_tweets``)."""

    name = "X API"

    def __init__(
        self,
        client: tweepy.Client,
        username: str,
        max_tweets: int = 20,
        user_id_cache: Path | None = None,
        time_budget_s: float = MODAL_TIME_BUDGET_S,
    ) -> None:
        self.client, self.username, self.max_tweets = client, username, max_tweets
        self.user_id_cache, self.time_budget_s = user_id_cache, time_budget_s

    def read(self, held_ids: Collection[int] = frozenset()) -> TweetLoad:
        since_id = max(held_ids, default=None)
        fetched = fetch_new_tweets(self.client, self.username, since_id, self.max_tweets, self.user_id_cache, self.time_budget_s)
        detail = f"{fetched.requests} requests, stopped: {fetched.stopped_because}"
        return TweetLoad(self.name, fetched.frame, len(fetched.frame), detail=detail, error=fetched.error)
