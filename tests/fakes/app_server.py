"""A store filled with invented demo-like rows, for the app tests (served by ``tweetgen.ui.browser``)."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.frames import tweets_frame
from tests.fakes.monitor_rows import RUNS, monitor_frame
from tweetgen.schema import GENERATED_TWEETS, SAMPLE_USERNAME, TWEETS
from tweetgen.store.local import LocalFeatureStore
from tweetgen.ui.browser import free_port, running_app  # noqa: F401  (re-exported for the tests)

FIRST_ID = 1_000


def demo_store(root: Path, n_runs: int = 7, username: str = SAMPLE_USERNAME) -> LocalFeatureStore:
    """A local store with ``n_runs`` daily champion runs and their tweets (with counts) of ``username``:
    by default the invented sample account, as after ``make demo``."""
    store = LocalFeatureStore(root)
    store.insert(GENERATED_TWEETS, monitor_frame(n_runs, first_id=FIRST_ID))
    ids = range(FIRST_ID, FIRST_ID + n_runs)
    texts = [RUNS[i % len(RUNS)][0] for i in range(n_runs)]
    counts = {"likes": [12_400 + 3_100 * i for i in range(n_runs)], "retweets": [830 + 97 * i for i in range(n_runs)],
              "replies": [410 + 55 * i for i in range(n_runs)]}
    store.insert(TWEETS, tweets_frame(ids, text=texts, username=username, **counts))
    return store
