"""Live pipeline: new tweets into the ``tweets`` group, from the X API or from the replay.

A live source is given the ids the group holds and returns only tweets it lacks; they are written
through the feature pipeline's ``write_tweets`` (same cleaning, same validation, same upsert) with
``source = live``. What a source read before a failure is written first; then the failure is raised.

The X source also keeps a cursor in the ``x_cursor`` group (the account's user id, and the window
of posts a capped run left unread). It is written after the tweets: a run that dies in between
reads those posts again next time (paid twice), but never skips one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tweetgen.pipelines.features import FeatureReport, write_tweets
from tweetgen.schema import TWEETS, X_CURSOR
from tweetgen.sources.port import TweetSource
from tweetgen.sources.replay import DEFAULT_BATCH, ReplaySource
from tweetgen.store.port import FeatureStore

if TYPE_CHECKING:
    import tweepy

    from tweetgen.sources.x_api import XCursor


def scrape(store: FeatureStore, source: TweetSource, after_write: Callable[[], object] | None = None) -> FeatureReport:
    """Read what ``source`` has that the group lacks and write it as live tweets.

    ``after_write`` runs once the tweets are written, before a read failure is raised.
    """
    started = time.perf_counter()
    loaded = source.read(held_tweet_ids(store))
    report = write_tweets(store, loaded, source_label="live", started=started)
    if after_write is not None:
        after_write()
    report.notes.append(source.report_line(report.inserted, loaded))
    if loaded.error is not None:
        raise loaded.error
    return report


def scrape_replay(store: FeatureStore, count: int = DEFAULT_BATCH, username: str = "elonmusk") -> FeatureReport:
    """Release the next ``count`` held-out tweets of the sample corpus as live tweets."""
    return scrape(store, ReplaySource(count, username))


def scrape_x(store: FeatureStore, client: tweepy.Client, username: str, max_tweets: int, user_id: int | None = None) -> FeatureReport:
    """Read the account's unread posts (what a capped run left, then the newer ones) and write them,
    then its cursor (see the module docstring).

    Args:
        user_id: the account's X user id (``X_USER_ID``); without it, the one ``x_cursor`` keeps,
            else one paid lookup (kept in ``x_cursor`` for the next runs).
    """
    from tweetgen.sources.x_api import XApiSource

    source = XApiSource(client, username, max_tweets, user_id=user_id, cursor=read_x_cursor(store, username))
    return scrape(store, source, after_write=lambda: store.insert(X_CURSOR, source.cursor_rows()))


def read_x_cursor(store: FeatureStore, username: str) -> XCursor | None:
    """The account's X cursor from the ``x_cursor`` group; ``None`` when none was written."""
    from tweetgen.sources.x_api import cursor_from_rows

    return cursor_from_rows(store.read(X_CURSOR), username) if store.exists(X_CURSOR) else None


def held_tweet_ids(store: FeatureStore) -> set[int]:
    """Ids the ``tweets`` group holds (empty when it was never written)."""
    if not store.exists(TWEETS):
        return set()
    return set(store.read(TWEETS, columns=["tweet_id"])["tweet_id"].tolist())
