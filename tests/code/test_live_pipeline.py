"""Live tweets end to end on the local backend: the replay source, the X source, the script."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fakes.frames import tweets_frame
from tests.fakes.x_cassettes import replay
from tests.twin.fixtures import any_store_fixture, hopsworks_twin_fixture  # noqa: F401 - the any_store and hopsworks_twin fixtures
from tweetgen.cli import main
from tweetgen.config import Settings
from tweetgen.errors import SourceError
from tweetgen.pipelines.features import run_feature_pipeline
from tweetgen.pipelines.jobs import scrape_job
from tweetgen.pipelines.live import read_x_cursor, scrape_replay, scrape_x
from tweetgen.schema import HELD_OUT_TWEETS, TWEETS, X_CURSOR
from tweetgen.sources.replay import REPLAY_HOLDOUT
from tweetgen.sources.x_api import make_client
from tweetgen.store.local import LocalFeatureStore
from tweetgen.store.port import FeatureStore

SINCE_ID = 2028032492958646395  # the newest stored id the cassettes expect as since_id
USER_ID = 1601234567890123456  # the account tweetgen_test in the cassettes


def live_rows(store: FeatureStore):
    frame = store.read(TWEETS)
    return frame[frame["source"] == "live"].sort_values("created_at")


def held_out_pool(store: FeatureStore):
    return store.read(HELD_OUT_TWEETS).sort_values(["created_at", "tweet_id"])


def sample_store(path: Path) -> LocalFeatureStore:
    store = LocalFeatureStore(path)
    run_feature_pipeline(store, source="sample")
    return store


def test_replay_releases_each_held_out_tweet_once_in_time_order(tmp_path: Path) -> None:
    store = sample_store(tmp_path)
    pool = held_out_pool(store)
    assert len(pool) == REPLAY_HOLDOUT
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
    store = sample_store(tmp_path)
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda _: scrape_replay(store, count=4), range(3)))
    scrape_replay(store, count=4)
    ids = live_rows(store)["tweet_id"]
    assert ids.is_unique
    # Parallel runs release the same first batch; the next run continues right after it.
    assert ids.tolist() == held_out_pool(store)["tweet_id"].head(len(ids)).tolist()
    assert len(ids) == 8


def test_replay_report_says_how_many_are_left(tmp_path: Path) -> None:
    report = scrape_replay(sample_store(tmp_path), count=4)
    assert report.inserted == 4
    assert f"4 new tweets released by the replay; {REPLAY_HOLDOUT - 4} left to release." in report.lines()


def test_x_source_asks_since_the_newest_stored_tweet_and_keeps_the_user_id_in_the_store(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path / "store")
    store.insert(TWEETS, tweets_frame([SINCE_ID - 10, SINCE_ID]))
    with replay("normal_page") as cassette:
        report = scrape_x(store, make_client("test-token"), "tweetgen_test", 100)
    assert cassette.all_played  # the paid user lookup, then the page
    live = live_rows(store)
    assert report.inserted == len(live) == 3
    assert (live["tweet_id"] > SINCE_ID).all()
    assert live["is_reply"].sum() == 1
    assert report.lines()[-1] == (
        "3 new tweets from the X API (2 requests, 1 user lookup, stopped: done). No posts remain unread."
    )
    # The id is kept in the feature store, not on this machine's disk: any runner skips the lookup.
    cursor = read_x_cursor(store, "tweetgen_test")
    assert (cursor.user_id, cursor.since_id, cursor.until_id) == (USER_ID, 0, 0)
    with replay("no_new_tweets") as cassette:
        again = scrape_x(store, make_client("test-token"), "@TweetGen_Test", 100)
    assert [r.path for r in cassette.requests] == [f"/2/users/{USER_ID}/tweets"]
    assert again.inserted == 0 and "1 requests, stopped: no new tweets" in again.lines()[-1]
    assert len(store.read(X_CURSOR)) == 1  # nothing changed, nothing written


def test_a_capped_run_writes_every_paid_post_and_the_next_run_reads_what_it_left(any_store: FeatureStore) -> None:
    store = any_store
    store.insert(TWEETS, tweets_frame([SINCE_ID]))
    with replay("max_tweets"):
        first = scrape_x(store, make_client("test-token"), "tweetgen_test", 6, user_id=USER_ID)
    assert first.inserted == 9  # four posts on page 1, five on page 2: all paid for, all written
    assert first.lines()[-1].endswith(
        "Older posts remain unread (ids between 2028032492958646395 and 2028666671723449551); the next run reads them first."
    )
    assert read_x_cursor(store, "tweetgen_test").until_id == 2028666671723449551

    with replay("max_tweets_resume") as cassette:
        second = scrape_x(store, make_client("test-token"), "tweetgen_test", 6)  # the user id comes from the store
    assert cassette.all_played
    assert second.inserted == 4 and second.lines()[-1].endswith("No posts remain unread.")
    assert read_x_cursor(store, "tweetgen_test").until_id == 0
    live = live_rows(store)["tweet_id"]
    assert live.is_unique and len(live) == 13 and live.min() > SINCE_ID
    cursors = store.read(X_CURSOR).sort_values("seq")
    assert cursors[["seq", "since_id", "until_id"]].values.tolist() == [[1, SINCE_ID, 2028666671723449551], [2, 0, 0]]


def test_x_source_writes_what_it_fetched_before_running_out_of_credits(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path / "store")
    store.insert(TWEETS, tweets_frame([SINCE_ID]))
    with replay("payment_required"), pytest.raises(SourceError, match="credits"):
        scrape_x(store, make_client("test-token"), "tweetgen_test", 100, user_id=USER_ID)
    assert live_rows(store)["tweet_id"].tolist() == [2029512243409847221, 2029527342904250340]
    # ... and where to resume: below the oldest post read
    assert read_x_cursor(store, "tweetgen_test").until_id == 2029512243409847221


def test_the_scrape_job_uses_x_user_id_and_pays_no_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "test-token")
    monkeypatch.setenv("X_USER_ID", str(USER_ID))
    monkeypatch.setenv("TWEETGEN_USERNAME", "tweetgen_test")
    settings = Settings.load().with_overrides(live_source="x")
    store = LocalFeatureStore(settings.feature_store_dir)
    store.insert(TWEETS, tweets_frame([SINCE_ID]))
    with replay("two_pages") as cassette:  # no lookup in it: asking for one fails the test
        report = scrape_job(settings, max_tweets=100)
    assert cassette.all_played and report.inserted == 5
    assert read_x_cursor(store, "tweetgen_test").user_id == USER_ID


@pytest.mark.parametrize(
    ("cassette", "sentence"),
    [
        ("protected_timeline", "error: X refuses to show the posts of @tweetgen_test (user id 1601234567890123456): "
                               "the account is protected"),
        ("suspended_timeline", "error: X says @tweetgen_test (user id 1601234567890123456) is suspended"),
    ],
)
def test_an_account_x_will_not_show_ends_the_scrape_with_one_sentence_and_status_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cassette: str, sentence: str
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "test-token")
    monkeypatch.setenv("X_USER_ID", str(USER_ID))
    monkeypatch.setenv("TWEETGEN_USERNAME", "tweetgen_test")
    LocalFeatureStore(Settings.load().feature_store_dir).insert(TWEETS, tweets_frame([2027670105093115904]))
    with replay(cassette):
        status = main(["scrape", "--source", "x", "--max-tweets", "100"])
    out, err = capsys.readouterr()
    assert status == 1 and out == ""
    assert err.startswith(sentence) and err.count("\n") == 1 and "Traceback" not in err


def test_scrape_script_with_no_credentials_runs_the_replay() -> None:
    before = subprocess.run([sys.executable, "scrape_live.py"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert before.returncode == 1 and before.stdout == ""
    assert "held_out_tweets' does not exist yet" in before.stderr and "python feature_engineering.py" in before.stderr
    history = subprocess.run([sys.executable, "feature_engineering.py"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert history.returncode == 0, history.stderr
    result = subprocess.run([sys.executable, "scrape_live.py"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"4 new tweets released by the replay; {REPLAY_HOLDOUT - 4} left to release." in result.stdout


def test_scrape_script_x_without_a_token_names_the_variable() -> None:
    result = subprocess.run(
        [sys.executable, "scrape_live.py", "--source", "x"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "X_BEARER_TOKEN" in result.stderr and "Traceback" not in result.stderr
