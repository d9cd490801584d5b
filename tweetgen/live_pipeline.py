"""Live pipeline: new tweets into the ``tweets`` group, from the X API or from the replay.

Both sources write through the feature pipeline's ``write_tweets`` (same cleaning, same
validation, same upsert) with ``source = live``.
"""

from __future__ import annotations

import time
from pathlib import Path

from tweetgen.feature_pipeline import FeatureReport, write_tweets
from tweetgen.feature_store import FeatureStore
from tweetgen.replay import DEFAULT_BATCH, next_replay_batch, stored_ids
from tweetgen.sources import TweetLoad

MODAL_TIME_BUDGET_S = 240.0  # the scrape function's timeout is 300 s: leave time to write


def scrape_replay(store: FeatureStore, count: int = DEFAULT_BATCH, username: str = "elonmusk") -> FeatureReport:
    """Release the next ``count`` held-out tweets of the sample corpus as live tweets."""
    started = time.perf_counter()
    batch, remaining = next_replay_batch(store, count, username)
    report = write_tweets(store, TweetLoad("replay", batch, len(batch)), source_label="live", started=started)
    report.notes.append(f"{report.inserted} new tweets released by the replay; {remaining} left to release.")
    return report


def scrape_x(
    store: FeatureStore,
    client: object,
    username: str,
    max_tweets: int,
    user_id_cache: Path | None = None,
    time_budget_s: float = MODAL_TIME_BUDGET_S,
) -> FeatureReport:
    """Fetch the account's tweets newer than the newest one stored, and write them.

    What was fetched before a failure is written first; then the failure is raised.
    """
    from tweetgen.x_source import fetch_new_tweets

    started = time.perf_counter()
    since_id = max(stored_ids(store), default=None)
    fetched = fetch_new_tweets(client, username, since_id, max_tweets, user_id_cache, time_budget_s)  # type: ignore[arg-type]
    report = write_tweets(store, TweetLoad("X API", fetched.frame, len(fetched.frame)), source_label="live", started=started)
    report.notes.append(
        f"{report.inserted} new tweets from the X API ({fetched.requests} requests, stopped: {fetched.stopped_because})."
    )
    if fetched.error is not None:
        raise fetched.error
    return report
