"""Live tweets end to end on the local backend: the replay source, the X source, the script."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fakes.frames import tweets_frame
from tests.fakes.x_cassettes import replay
from tweetgen.errors import SourceError
from tweetgen.pipelines.features import run_feature_pipeline
from tweetgen.pipelines.live import scrape_replay, scrape_x
from tweetgen.schema import TWEETS
from tweetgen.sources.replay import replay_pool
from tweetgen.sources.sample import REPLAY_HOLDOUT
from tweetgen.sources.x_api import make_client
from tweetgen.store.local import LocalFeatureStore

SINCE_ID = 2028032492958646395  # the newest stored id the cassettes expect as since_id


def live_rows(store: LocalFeatureStore):
    frame = store.read(TWEETS)
    return frame[frame["source"] == "live"].sort_values("created_at")


def test_replay_releases_each_held_out_tweet_once_in_time_order(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path)
    run_feature_pipeline(store, source="sample")
    pool = replay_pool()
    released = []
    for _ in range(REPLAY_HOLDOUT // 8 + 2):  # more runs than needed: the last ones release nothing
        report = scrape_replay(store, count=8)
        released.append(report.inserted)
    assert released[: REPLAY_HOLDOUT // 8] == [8] * (REPLAY_HOLDOUT // 8)
    assert released[-2:] == [0, 0]
    live = live_rows(store)
    assert live["tweet_id"].tolist() == pool["tweet_id"].tolist()
    assert live["created_at"].is_monotonic_increasing
    assert live["created_at"].min() > store.read(TWEETS).query("source == 'history'")["created_at"].max()


def test_replay_runs_at_once_neither_skip_nor_duplicate(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path)
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda _: scrape_replay(store, count=4), range(3)))
    scrape_replay(store, count=4)
    ids = live_rows(store)["tweet_id"]
    assert ids.is_unique
    # Parallel runs release the same first batch; the next run continues right after it.
    assert ids.tolist() == replay_pool()["tweet_id"].head(len(ids)).tolist()
    assert len(ids) == 8


def test_replay_report_says_how_many_are_left(tmp_path: Path) -> None:
    report = scrape_replay(LocalFeatureStore(tmp_path), count=4)
    assert report.inserted == 4
    assert f"4 new tweets released by the replay; {REPLAY_HOLDOUT - 4} left to release." in report.lines()


def test_x_source_asks_since_the_newest_stored_tweet_and_writes_live_rows(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path / "store")
    store.insert(TWEETS, tweets_frame([SINCE_ID - 10, SINCE_ID]))
    with replay("normal_page"):
        report = scrape_x(store, make_client("test-token"), "tweetgen_test", 100, tmp_path / "ids.json")
    live = live_rows(store)
    assert report.inserted == len(live) == 3
    assert (live["tweet_id"] > SINCE_ID).all()
    assert live["is_reply"].sum() == 1
    assert "3 new tweets from the X API" in report.lines()[-1]


def test_x_source_writes_what_it_fetched_before_running_out_of_credits(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path / "store")
    store.insert(TWEETS, tweets_frame([SINCE_ID]))
    cache = tmp_path / "ids.json"
    cache.write_text('{"tweetgen_test": 1601234567890123456}')  # the user id is cached: no paid lookup
    with replay("payment_required"), pytest.raises(SourceError, match="credits"):
        scrape_x(store, make_client("test-token"), "tweetgen_test", 100, cache)
    assert live_rows(store)["tweet_id"].tolist() == [2029512243409847221, 2029527342904250340]


def test_scrape_script_with_no_credentials_runs_the_replay() -> None:
    result = subprocess.run([sys.executable, "scrape_live.py"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"4 new tweets released by the replay; {REPLAY_HOLDOUT - 4} left to release." in result.stdout


def test_scrape_script_x_without_a_token_names_the_variable() -> None:
    result = subprocess.run(
        [sys.executable, "scrape_live.py", "--source", "x"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "X_BEARER_TOKEN" in result.stderr and "Traceback" not in result.stderr
