"""Live tweets from the X API v2: the posts of one account that the ``tweets`` group lacks.

Every read is paid (about $0.005 per post read, $0.010 per user lookup), so ``fetch_new_tweets``
asks for at most ``max_tweets`` posts, keeps every post of every page it paid for, looks the
account's user id up only when neither ``X_USER_ID`` nor the ``x_cursor`` group holds it, and never
repeats a request that a retry cannot fix (400-404). Transient failures (5xx, network) are retried
with exponential backoff; a rate limit is waited out only if its reset fits in the time budget.

Reading is gap-free. X serves a timeline newest first, so a run that stops early (``max_tweets``,
a rate limit, the time budget, a failure) leaves unread posts *below* the oldest one it read. The
run's ``XCursor`` records them as the window ``since_id < id < until_id``; the next run reads that
window first (``until_id`` moves down page by page), and only then the posts newer than the newest
stored one. The pipeline keeps the cursor in the ``x_cursor`` feature group, where every runner
(a laptop, a Modal container, CI) finds it. A run with nothing stored reads only the newest posts:
with no lower bound there is no window to finish (the history comes from the Kaggle files).

A 200 answer that carries only ``errors`` (a protected, suspended or vanished account) is a
failure, not "no new tweets". Failures come back as one-sentence ``SourceError`` messages. The
bearer token never reaches tweepy, whose DEBUG log prints request headers: requests adds it to
each request (``_BearerAuth``), so no log line, message or repr can contain it. What was read
before a failure is still returned, so the caller can write it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import requests
import tweepy

from tweetgen.errors import ConfigError, SourceError, TweetgenError
from tweetgen.schema import RAW_SCHEMA, X_CURSOR
from tweetgen.sources.port import TweetLoad, TweetSource

# note_tweet carries the full text of posts longer than 280 characters (text is cut short then).
TWEET_FIELDS = ["created_at", "public_metrics", "lang", "referenced_tweets", "entities", "conversation_id", "note_tweet"]
PAGE_MIN, PAGE_MAX = 5, 100  # the endpoint's bounds on max_results
RETRY_TRIES = 3  # attempts per request on 5xx and network errors
RETRY_BASE_S = 2.0  # backoff before the 2nd attempt; doubles after each failure
MAX_RATE_LIMIT_WAITS = 2  # per request, so a misbehaving reset header cannot loop forever
REQUEST_TIMEOUT_S = 30.0  # tweepy sets none; without one a stalled connection hangs the job
MODAL_TIME_BUDGET_S = 240.0  # of the scrape function's 600 s on Modal: the rest is for the write and its materialization job
USD_PER_POST_READ = 0.005  # pay-per-use prices of the X API since February 2026
USD_PER_USER_LOOKUP = 0.010
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,15}$")
PROBLEM = "https://api.twitter.com/2/problems/"  # the prefix of X's error types

# Values of FetchResult.stopped_because.
NO_NEW_TWEETS = "no new tweets"
DONE = "done"
MAX_TWEETS_REACHED = "max tweets reached"
TIME_BUDGET_SPENT = "time budget spent"
RATE_LIMITED = "rate limited"
OUT_OF_CREDITS = "out of credits"
NOT_AUTHORIZED = "not authorized"
ACCOUNT_UNAVAILABLE = "account unavailable"
SERVER_ERROR = "server error"
NETWORK_ERROR = "network error"
REQUEST_FAILED = "request failed"


@dataclass(frozen=True)
class XCursor:
    """Where the X source resumes for one account: one row of the ``x_cursor`` group.

    Attributes:
        username: the account, lowercased, without ``@``.
        user_id: its X user id (the timeline endpoint needs it; looking it up is paid).
        since_id, until_id: posts with ``since_id < id < until_id`` are still unread (X's own
            exclusive bounds); ``until_id == 0`` means none are.
        seq: the row's number (1, 2, ... per account); 0 for a cursor not stored yet.
    """

    username: str
    user_id: int
    since_id: int = 0
    until_id: int = 0
    seq: int = 0

    @property
    def unread_below(self) -> bool:
        """Whether a window of unread posts is left (the next run reads it first)."""
        return self.until_id > 0

    def same_state(self, other: XCursor | None) -> bool:
        """Whether ``other`` records the same account, user id and window (so need not be written)."""
        return other is not None and (self.username, self.user_id, self.since_id, self.until_id) == (
            other.username, other.user_id, other.since_id, other.until_id
        )


def cursor_from_rows(rows: pd.DataFrame, username: str) -> XCursor | None:
    """The account's current cursor: its ``x_cursor`` row with the largest ``seq``, if any."""
    mine = rows[rows["username"] == check_username(username)]
    if mine.empty:
        return None
    row = mine.sort_values("seq").iloc[-1]
    return XCursor(str(row["username"]), int(row["user_id"]), int(row["since_id"]), int(row["until_id"]), int(row["seq"]))


def cursor_rows(cursor: XCursor, previous: XCursor | None, now: datetime) -> pd.DataFrame:
    """``cursor`` as the account's next ``x_cursor`` row; no row when ``previous`` records the same state."""
    if cursor.same_state(previous):
        return X_CURSOR.schema.empty_table().to_pandas()
    row = {"username": cursor.username, "seq": (previous.seq if previous is not None else 0) + 1,
           "user_id": cursor.user_id, "since_id": cursor.since_id, "until_id": cursor.until_id, "recorded_at": now}
    return pa.Table.from_pylist([row], schema=X_CURSOR.schema).to_pandas()


@dataclass(frozen=True)
class FetchResult:
    """What one call of ``fetch_new_tweets`` read.

    Attributes:
        frame: the tweets read, columns exactly ``RAW_COLUMNS`` (``created_at`` UTC-aware), one row
            per tweet id, oldest first: every post of every page read.
        pages: timeline pages that held tweets.
        requests: HTTP requests sent to X, the user lookup and retries included.
        stopped_because: one of the module's stop reasons (``"no new tweets"``, ``"done"``,
            ``"max tweets reached"``, ``"time budget spent"``, ``"rate limited"``, ...).
        cursor: where the next run resumes (the user id included); ``None`` only when the
            account's user id was never learnt.
        error: the failure that ended the read after some tweets were read, else ``None``.
        looked_up: whether this call paid for a user lookup.
    """

    frame: pd.DataFrame
    pages: int
    requests: int
    stopped_because: str
    cursor: XCursor | None = None
    error: TweetgenError | None = None
    looked_up: bool = False

    @property
    def newest_id(self) -> int | None:
        """The largest tweet id read; ``None`` if none was read."""
        return int(self.frame["tweet_id"].max()) if len(self.frame) else None

    @property
    def posts_remain(self) -> bool:
        """Whether the run stopped before it had read every post it could see (X gives no count)."""
        return self.stopped_because not in (DONE, NO_NEW_TWEETS)


class _BearerAuth(requests.auth.AuthBase):
    """Adds the bearer token to each request as it is sent: tweepy, and its DEBUG log, never see it."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(***)"


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

    tweepy is given no token (it would log it with the request headers at DEBUG level): the
    session's ``_BearerAuth`` adds it to each request on its way out.

    Raises:
        ConfigError: ``bearer_token`` is missing or blank (names ``X_BEARER_TOKEN``).
    """
    if not bearer_token or not bearer_token.strip():
        raise ConfigError(
            "X_BEARER_TOKEN is not set; set it to the bearer token of your X developer app to read live tweets."
        )
    client = tweepy.Client(bearer_token=None, wait_on_rate_limit=False)
    client.session = _TimeoutSession(timeout_s)
    client.session.auth = _BearerAuth(bearer_token.strip())
    return client


def _token_of(client: Any) -> str | None:
    """The token a client sends (to keep it out of messages), wherever the client keeps it."""
    auth = getattr(getattr(client, "session", None), "auth", None)
    return getattr(auth, "_token", None) or getattr(client, "bearer_token", None)


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


def _refusal(errors: list[dict[str, Any]], username: str, user_id: int | None, secret: str | None) -> _Stop:
    """A 200 answer with only ``errors`` as a stop: X's problem type and detail mapped to one sentence."""
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    kind = str(first.get("type", "")).removeprefix(PROBLEM)
    detail = _redact(str(first.get("detail") or first.get("message") or first), secret)[:300]
    who = f"@{username}" if user_id is None else f"@{username} (user id {user_id})"
    if kind == "not-authorized-for-resource":
        sentence = (f"X refuses to show the posts of {who}: the account is protected ({detail}); "
                    "choose a public account in TWEETGEN_USERNAME.")
    elif "suspended" in detail.lower():
        sentence = f"X says {who} is suspended ({detail}); choose another account in TWEETGEN_USERNAME."
    elif kind == "resource-not-found":
        sentence = f"X has no account {who} ({detail}); check TWEETGEN_USERNAME (and X_USER_ID if you set it)."
    else:
        sentence = f"X answered with an error and no posts for {who} ({first.get('title', kind)}: {detail}); check TWEETGEN_USERNAME."
    return _Stop(ACCOUNT_UNAVAILABLE, SourceError(sentence))


def _look_up_user_id(client: tweepy.Client, username: str, calls: _Calls) -> int:
    """The account's user id, from one paid lookup."""
    response = calls.send(client.get_user, username=username)
    if response.data is None:
        raise _refusal(list(response.errors or []) or [{"type": PROBLEM + "resource-not-found", "detail": "no data"}],
                       username, None, calls.secret)
    return int(response.data.id)


@dataclass
class _Timeline:
    """One run's reading of one account's timeline: the pages read and where the next run resumes."""

    client: tweepy.Client
    calls: _Calls
    max_tweets: int
    cursor: XCursor
    pages: list[list[tweepy.Tweet]] = field(default_factory=list)

    @property
    def read(self) -> int:
        return sum(map(len, self.pages))

    def read_window(self, since_id: int, until_id: int) -> str:
        """Read the posts with ``since_id < id < until_id`` (0: no bound), newest first, page by page.

        Every post of each page is kept (each was paid for). After each page the cursor records the
        posts still unread below it, so a stop at any point loses nothing; a window read to its end
        leaves none. Returns ``DONE`` when the window is read, else why reading stopped.
        """
        token = None
        while True:
            if self.read >= self.max_tweets:
                return MAX_TWEETS_REACHED
            if self.calls.remaining_s() <= 0:
                return TIME_BUDGET_SPENT
            response = self.calls.send(
                self.client.get_users_tweets,
                self.cursor.user_id,
                since_id=since_id or None,
                until_id=until_id or None,
                max_results=min(PAGE_MAX, max(PAGE_MIN, self.max_tweets - self.read)),
                exclude=["retweets"],
                tweet_fields=TWEET_FIELDS,
                pagination_token=token,
            )
            if response.data:
                self.pages.append(list(response.data))
                token = response.meta.get("next_token")
            elif response.errors:  # a 200 with only errors: the account cannot be read
                raise _refusal(list(response.errors), self.cursor.username, self.cursor.user_id, self.calls.secret)
            else:
                token = None
            self._note_unread(since_id, token)
            if not token:
                return DONE

    def _note_unread(self, since_id: int, token: str | None) -> None:
        """Record the posts left unread below the last page: none once the window is read, and
        none without a lower bound (nothing stored yet: there is no window to come back to)."""
        if token and since_id:
            self.cursor = replace(self.cursor, since_id=since_id, until_id=min(tweet.id for tweet in self.pages[-1]))
        else:
            self.cursor = replace(self.cursor, since_id=0, until_id=0)


def fetch_new_tweets(
    client: tweepy.Client,
    username: str,
    since_id: int | None,
    max_tweets: int = 100,
    cursor: XCursor | None = None,
    user_id: int | None = None,
    time_budget_s: float = 240,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.time,
) -> FetchResult:
    """Read the account's unread posts (retweets excluded): first the window ``cursor`` left
    unread, then the posts newer than ``since_id``, newest first in each.

    Asks for at most ``max_tweets`` posts, and keeps every post of every page read: X bills each
    post a page holds, and the endpoint's pages hold at least 5, so a run may keep up to 4 more.

    Args:
        client: from ``make_client``.
        username: the account, with or without ``@``.
        since_id: the newest tweet id already stored; ``None`` reads the newest posts.
        max_tweets: the most posts to ask for in this call.
        cursor: the account's cursor from the last run (``cursor_from_rows``); ``None`` on a first run.
        user_id: the account's user id (``X_USER_ID``); without it, the cursor's, else one paid lookup.
        time_budget_s: rate-limit waits and retry backoffs must end within this many seconds.
        sleep: waits that many seconds (injected by tests).
        now: the current epoch time in seconds (injected by tests).

    Returns:
        A ``FetchResult`` whose ``cursor`` says where the next run resumes; if a failure ended the
        read after some posts were read, ``error`` holds it.

    Raises:
        ConfigError: ``username`` or ``max_tweets`` is invalid.
        SourceError: X failed before any post was read, or answered with errors only (one
            sentence, without the token).
    """
    if max_tweets < 1:
        raise ConfigError(f"max_tweets is {max_tweets}; ask for at least 1 tweet.")
    name = check_username(username)
    calls = _Calls(sleep=sleep, now=now, deadline=now() + time_budget_s, secret=_token_of(client))
    known_id = user_id or (cursor.user_id if cursor is not None and cursor.username == name else None)
    timeline: _Timeline | None = None
    error: TweetgenError | None = None
    try:
        account_id = known_id or _look_up_user_id(client, name, calls)
        timeline = _Timeline(client, calls, max_tweets, _starting_cursor(cursor, name, account_id))
        stopped_because = _read_unread(timeline, since_id)
    except _Stop as stop:
        stopped_because, error = stop.reason, stop.error
    pages = timeline.pages if timeline is not None else []
    tweets = [tweet for page in pages for tweet in page]
    if error is not None and not tweets:
        raise error
    return FetchResult(tweets_to_frame(tweets, name), len(pages), calls.count, stopped_because,
                       timeline.cursor if timeline is not None else None, error, looked_up=known_id is None)


def _starting_cursor(stored: XCursor | None, username: str, user_id: int) -> XCursor:
    """The stored cursor's unread window when it belongs to this account and user id, else none."""
    if stored is not None and (stored.username, stored.user_id) == (username, user_id):
        return XCursor(username, user_id, stored.since_id, stored.until_id)
    return XCursor(username, user_id)


def _read_unread(timeline: _Timeline, since_id: int | None) -> str:
    """The window a capped run left first, then everything newer than ``since_id``."""
    if timeline.cursor.unread_below:
        stopped_because = timeline.read_window(timeline.cursor.since_id, timeline.cursor.until_id)
        if stopped_because != DONE:
            return stopped_because
    stopped_because = timeline.read_window(since_id or 0, 0)
    return NO_NEW_TWEETS if stopped_because == DONE and not timeline.pages else stopped_because


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
    """The account's unread posts: the window a capped run left, then those newer than the newest
    id the group holds (see ``fetch_new_tweets``). ``cursor`` is where the next run resumes."""

    name = "X API"

    def __init__(
        self,
        client: tweepy.Client,
        username: str,
        max_tweets: int = 20,
        user_id: int | None = None,
        cursor: XCursor | None = None,
        time_budget_s: float = MODAL_TIME_BUDGET_S,
    ) -> None:
        self.client, self.username, self.max_tweets = client, username, max_tweets
        self.user_id, self.time_budget_s = user_id, time_budget_s
        self.previous = self.cursor = cursor
        self.since_id: int | None = None

    def read(self, held_ids: Collection[int] = frozenset()) -> TweetLoad:
        self.since_id = max(held_ids, default=None)
        fetched = fetch_new_tweets(self.client, self.username, self.since_id, self.max_tweets, self.cursor, self.user_id,
                                   self.time_budget_s)
        self.cursor = fetched.cursor or self.cursor
        lookup = ", 1 user lookup" if fetched.looked_up else ""
        detail = f"{fetched.requests} requests{lookup}, stopped: {fetched.stopped_because}"
        return TweetLoad(self.name, fetched.frame, len(fetched.frame), detail=detail, error=fetched.error,
                         remaining=None if fetched.posts_remain else 0)

    def cursor_rows(self, now: datetime | None = None) -> pd.DataFrame:
        """The ``x_cursor`` row to write once the posts read are stored; empty when nothing changed."""
        if self.cursor is None:
            return X_CURSOR.schema.empty_table().to_pandas()
        return cursor_rows(self.cursor, self.previous, now or datetime.now(UTC))

    def report_line(self, inserted: int, loaded: TweetLoad) -> str:
        """How many posts were new, and whether posts remain unread (X gives no count of them)."""
        line = super().report_line(inserted, loaded)
        if loaded.remaining == 0:
            return f"{line} No posts remain unread."
        if self.cursor is not None and self.cursor.unread_below:
            return (f"{line} Older posts remain unread (ids between {self.cursor.since_id} and "
                    f"{self.cursor.until_id}); the next run reads them first.")
        if not self.since_id:
            return (f"{line} Older posts remain unread and are not read later: with no tweet stored there is no "
                    "lower bound (the history comes from `python feature_engineering.py --source kaggle`).")
        return f"{line} Newer posts may remain unread; the next run reads them."
