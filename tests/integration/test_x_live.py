"""Opt-in: read a few real posts from the X API v2.

Runs only with ``TWEETGEN_LIVE_TESTS=1`` (tests/conftest.py removes credentials otherwise) and
``X_BEARER_TOKEN`` set; ``TWEETGEN_USERNAME`` picks the account (default ``elonmusk``).

Costs real money on a pay-per-use account: one user lookup ($0.010, none with ``X_USER_ID`` set)
and one page of 5 posts (about $0.005 each).
"""

from __future__ import annotations

import pytest

from tweetgen.config import Settings
from tweetgen.schema import RAW_COLUMNS
from tweetgen.sources.x_api import fetch_new_tweets, make_client

pytestmark = pytest.mark.integration

MAX_TWEETS = 5


@pytest.fixture
def settings() -> Settings:
    settings = Settings.load(dotenv=None)
    if not settings.x_bearer_token:
        pytest.skip("set TWEETGEN_LIVE_TESTS=1 and X_BEARER_TOKEN to read up to 5 live posts from the X API (paid)")
    return settings


def test_live_timeline_read(settings: Settings) -> None:
    client = make_client(settings.x_bearer_token)
    result = fetch_new_tweets(client, settings.username, since_id=None, max_tweets=MAX_TWEETS, user_id=settings.x_user_id)

    assert result.cursor is not None and result.cursor.user_id > 0  # kept in x_cursor: no lookup next time
    assert result.error is None, str(result.error)
    frame = result.frame
    assert list(frame.columns) == RAW_COLUMNS
    assert 0 < len(frame) <= MAX_TWEETS
    assert frame["tweet_id"].is_unique and (frame["tweet_id"] > 0).all()
    assert str(frame["created_at"].dt.tz) == "UTC"
    assert set(frame["username"]) == {settings.username.lower().lstrip("@")}
    assert (frame[["likes", "retweets", "replies"]] >= 0).all().all()
    assert settings.x_bearer_token not in repr(result)
