"""Live pipeline: new tweets into the ``tweets`` group, from the X API or from the replay.

A live source is given the ids the group holds and returns only tweets it lacks; they are written
through the feature pipeline's ``write_tweets`` (same cleaning, same validation, same upsert) with
``source = live``. What a source read before a failure is written first; then the failure is raised.
"""

from __future__ import annotations

import time
from pathlib import Path

from tweetgen.pipelines.features import FeatureReport, write_tweets
from tweetgen.schema import TWEETS
from tweetgen.sources.port import TweetSource
from tweetgen.sources.replay import DEFAULT_BATCH, ReplaySource
from tweetgen.store.port import FeatureStore


def scrape(store: FeatureStore, source: TweetSource) -> FeatureReport:
    """Read what ``source`` has that the group lacks and write it as live tweets."""
    started = time.perf_counter()
    loaded = source.read(held_tweet_ids(store))
    report = write_tweets(store, loaded, source_label="live", started=started)
    report.notes.append(source.report_line(report.inserted, loaded))
    if loaded.error is not None:
        raise loaded.error
    return report


def scrape_replay(store: FeatureStore, count: int = DEFAULT_BATCH, username: str = "elonmusk") -> FeatureReport:
    """Release the next ``count`` held-out tweets of the sample corpus as live tweets."""
    return scrape(store, ReplaySource(count, username))


def scrape_x(store: FeatureStore, client: object, username: str, max_tweets: int, user_id_cache: Path | None = None) -> FeatureReport:
    """Fetch the account's tweets newer than the newest one stored, and write them."""
    from tweetgen.sources.x_api import XApiSource

    return scrape(store, XApiSource(client, username, max_tweets, user_id_cache))  # type: ignore[arg-type]


def held_tweet_ids(store: FeatureStore) -> set[int]:
    """Ids the ``tweets`` group holds (empty when it was never written)."""
    if not store.exists(TWEETS):
        return set()
    return set(store.read(TWEETS, columns=["tweet_id"])["tweet_id"].tolist())
