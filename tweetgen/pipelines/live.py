"""Live pipeline: new tweets into the ``tweets`` group, from the X API or from the replay.

A live source is given the ids the group holds and returns only tweets it lacks; they are written
through the feature pipeline's ``write_tweets`` (same cleaning, same validation, same upsert, the
same refusal to put invented and real tweets together) with ``source = live``. What a source read
before a failure is written first; then the failure is raised.

The replay releases the tweets the history ingest held back in the ``held_out_tweets`` group:
Kaggle tweets after a Kaggle ingest, invented ones after the sample corpus.

The X source also keeps a cursor in the ``x_cursor`` group (the account's user id, and the window
of posts a capped run left unread). It is written after the tweets: a run that dies in between
reads those posts again next time (paid twice), but never skips one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from tweetgen.errors import TweetgenError
from tweetgen.pipelines.features import FeatureReport, write_tweets
from tweetgen.pipelines.provenance import check_provenance
from tweetgen.schema import HELD_OUT_TWEETS, RAW_COLUMNS, TWEETS, X_CURSOR
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
    report = write_tweets(store, loaded, source_label="live", started=started, username=source.account)
    if after_write is not None:
        after_write()
    report.notes.append(source.report_line(report.inserted, loaded))
    if loaded.error is not None:
        raise loaded.error
    return report


def scrape_replay(store: FeatureStore, count: int = DEFAULT_BATCH) -> FeatureReport:
    """Release the next ``count`` tweets the history ingest held back (``held_out_tweets``) as live tweets.

    Raises:
        TweetgenError: no history was ingested yet, so nothing was held back.
    """
    return scrape(store, ReplaySource(read_replay_pool(store), count))


def read_replay_pool(store: FeatureStore) -> pd.DataFrame:
    """The held-out tweets (``RAW_COLUMNS``) the replay releases from.

    Raises:
        TweetgenError: the ``held_out_tweets`` group was never written (names the command to run).
    """
    if not store.exists(HELD_OUT_TWEETS):
        raise TweetgenError(
            f"The replay releases the newest tweets the history ingest held back, but '{HELD_OUT_TWEETS.name}' does not "
            f"exist yet in {store.where}; run `{HELD_OUT_TWEETS.filled_by}` first (the sample corpus, or --source kaggle)."
        )
    return store.read(HELD_OUT_TWEETS, columns=RAW_COLUMNS)


def scrape_x(store: FeatureStore, client: tweepy.Client, username: str, max_tweets: int, user_id: int | None = None) -> FeatureReport:
    """Read the account's unread posts (what a capped run left, then the newer ones) and write them,
    then its cursor (see the module docstring). A ``tweets`` group holding the invented sample
    corpus is refused before any paid request.

    Args:
        user_id: the account's X user id (``X_USER_ID``); without it, the one ``x_cursor`` keeps,
            else one paid lookup (kept in ``x_cursor`` for the next runs).
    """
    from tweetgen.sources.x_api import XApiSource

    check_provenance(store, [pd.DataFrame({"username": [username]})], [TWEETS])  # before any paid read
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
