"""Honest data: the replay releases held-out tweets of the history the user ingested, and invented
and real tweets never share a feature group (each refusal is one sentence, and writes nothing)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.fakes.kaggle_files import write_kaggle_years
from tests.fakes.x_cassettes import replay
from tests.twin.fixtures import any_store_fixture, hopsworks_twin_fixture  # noqa: F401 - the any_store and hopsworks_twin fixtures
from tweetgen.cli import main
from tweetgen.config import Settings
from tweetgen.errors import ValidationError
from tweetgen.pipelines.features import run_feature_pipeline, write_tweets
from tweetgen.pipelines.live import scrape_replay, scrape_x
from tweetgen.schema import HELD_OUT_TWEETS, SAMPLE_USERNAME, TWEETS, X_CURSOR
from tweetgen.sources.corpus import generate_corpus
from tweetgen.sources.port import TweetLoad
from tweetgen.sources.replay import REPLAY_HOLDOUT, holdout_size, newest_tweets
from tweetgen.sources.sample import SAMPLE_SEED, SAMPLE_TWEETS
from tweetgen.sources.x_api import make_client
from tweetgen.store.local import LocalFeatureStore
from tweetgen.store.port import FeatureStore

N_KAGGLE = 60


def settings_store() -> LocalFeatureStore:
    return LocalFeatureStore(Settings.load().feature_store_dir)


def kaggle_store(tmp_path: Path) -> tuple[LocalFeatureStore, list[int]]:
    """A store filled from Kaggle year files of ``N_KAGGLE`` invented tweets; their ids, oldest first."""
    tweets = write_kaggle_years(tmp_path / "kaggle", N_KAGGLE)
    store = LocalFeatureStore(tmp_path / "store")
    run_feature_pipeline(store, source="kaggle", paths=[tmp_path / "kaggle"])
    return store, [t.id for t in tweets]


def counts(store: LocalFeatureStore) -> tuple[int, int]:
    return len(store.read(TWEETS)), len(store.read(HELD_OUT_TWEETS))


# ---------------------------------------------------------------------------------------------
# The replay releases what the history ingest held back


def test_a_kaggle_ingest_holds_its_newest_tweets_back_and_the_replay_releases_them(tmp_path: Path) -> None:
    store, ids = kaggle_store(tmp_path)
    held = holdout_size(N_KAGGLE)
    assert held == N_KAGGLE // 10  # a small history keeps most of its tweets for training
    assert sorted(store.read(TWEETS)["tweet_id"]) == ids[:-held]
    assert store.read(HELD_OUT_TWEETS).sort_values("created_at")["tweet_id"].tolist() == ids[-held:]

    first, second = scrape_replay(store, count=4), scrape_replay(store, count=4)
    assert (first.inserted, second.inserted) == (4, held - 4)
    assert second.notes[-1] == "2 new tweets released by the replay; 0 left to release."
    tweets = store.read(TWEETS)
    live = tweets[tweets["source"] == "live"].sort_values("created_at")
    assert live["tweet_id"].tolist() == ids[-held:]  # the Kaggle tweets held back, oldest first
    assert set(live["username"]) == {"elonmusk"} and live["text"].str.startswith("Invented tweet number").all()
    assert SAMPLE_USERNAME not in set(tweets["username"]), "no invented tweet reached a group of real ones"
    assert scrape_replay(store, count=4).inserted == 0


def test_the_held_out_group_and_the_replay_work_on_both_backends(any_store: FeatureStore, tmp_path: Path) -> None:
    tweets = write_kaggle_years(tmp_path / "kaggle", 30)
    report = run_feature_pipeline(any_store, source="kaggle", paths=[tmp_path / "kaggle"])
    assert (report.inserted, report.held_out) == (27, 3)
    assert scrape_replay(any_store, count=2).inserted == 2
    live = any_store.read(TWEETS).query("source == 'live'").sort_values("created_at")
    assert live["tweet_id"].tolist() == [t.id for t in tweets[27:29]]
    with pytest.raises(ValidationError, match="holds real tweets and the sample corpus is invented"):
        run_feature_pipeline(any_store, source="sample")


def test_every_runner_replays_from_the_store_through_the_commands(tmp_path: Path, capsys) -> None:
    write_kaggle_years(tmp_path / "kaggle", N_KAGGLE)
    assert main(["features", "--source", "kaggle", "--path", str(tmp_path / "kaggle")]) == 0
    assert main(["scrape", "--count", "5"]) == 0
    assert "5 new tweets released by the replay; 1 left to release." in capsys.readouterr().out
    live = settings_store().read(TWEETS).query("source == 'live'")
    assert len(live) == 5 and set(live["username"]) == {"elonmusk"}


def test_the_sample_ingest_holds_back_its_own_newest_invented_tweets(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path)
    report = run_feature_pipeline(store, source="sample", username="nasa")  # the sample ignores the account setting
    assert (report.rows_read, report.held_out, report.inserted) == (SAMPLE_TWEETS, REPLAY_HOLDOUT, SAMPLE_TWEETS - REPLAY_HOLDOUT)
    corpus = generate_corpus(SAMPLE_TWEETS, seed=SAMPLE_SEED)
    assert store.read(HELD_OUT_TWEETS).sort_values("created_at")["tweet_id"].tolist() == corpus["tweet_id"].tail(REPLAY_HOLDOUT).tolist()
    assert set(store.read(TWEETS)["username"]) == set(store.read(HELD_OUT_TWEETS)["username"]) == {SAMPLE_USERNAME}


def test_a_rerun_holds_back_the_same_tweets_and_the_holdout_can_be_turned_off(tmp_path: Path) -> None:
    store, ids = kaggle_store(tmp_path)
    again = run_feature_pipeline(store, source="kaggle", paths=[tmp_path / "kaggle"])
    assert (again.inserted, again.held_out) == (0, holdout_size(N_KAGGLE))
    assert counts(store) == (N_KAGGLE - holdout_size(N_KAGGLE), holdout_size(N_KAGGLE))
    whole = LocalFeatureStore(tmp_path / "whole")
    run_feature_pipeline(whole, source="kaggle", paths=[tmp_path / "kaggle"], holdout=0)
    assert len(whole.read(TWEETS)) == N_KAGGLE and not whole.exists(HELD_OUT_TWEETS)


def test_the_newest_tweets_are_held_out_oldest_first_with_ties_broken_by_id() -> None:
    when = pd.Timestamp("2021-01-01", tz="UTC")
    raw = pd.DataFrame({"tweet_id": [5, 3, 9, 1, 7], "created_at": [when, when + pd.Timedelta(hours=1), when, when, when]})
    assert newest_tweets(raw, holdout=2).empty  # 5 tweets: a tenth of them is no whole tweet
    raw = pd.concat([raw.assign(tweet_id=raw["tweet_id"] + 100 * k) for k in range(4)], ignore_index=True)  # 20 tweets
    assert newest_tweets(raw, holdout=2)["tweet_id"].tolist() == [203, 303]
    assert newest_tweets(raw, holdout=200)["tweet_id"].tolist() == [203, 303]  # at most a tenth
    assert newest_tweets(raw, holdout=0).empty and len(raw) == 20


def test_the_replay_before_any_history_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="'held_out_tweets' does not exist yet .* run `python feature_engineering.py` first"):
        scrape_replay(LocalFeatureStore(tmp_path))


# ---------------------------------------------------------------------------------------------
# Invented and real tweets never share a group


def test_the_sample_is_refused_by_a_store_of_real_tweets(tmp_path: Path) -> None:
    store, _ = kaggle_store(tmp_path)
    before = counts(store)
    with pytest.raises(ValidationError) as refused:
        run_feature_pipeline(store, source="sample")
    assert str(refused.value) == (
        f"The 'tweets' group in {store.where} holds real tweets and the sample corpus is invented, so nothing was written; "
        "to try the sample, start from an empty store (`make reset` deletes data/, or set TWEETGEN_DATA_DIR to a new "
        "folder; on Hopsworks, use another project)."
    )
    assert counts(store) == before


def test_real_tweets_are_refused_by_a_store_of_the_sample(tmp_path: Path, capsys) -> None:
    assert main(["features"]) == 0
    store = settings_store()
    before = counts(store)
    write_kaggle_years(tmp_path / "kaggle", N_KAGGLE)
    assert main(["features", "--source", "kaggle", "--path", str(tmp_path / "kaggle")]) == 1
    err = capsys.readouterr().err
    assert err == (  # refused before the files were read: no progress bar
        f"error: The 'tweets' group in {store.where} holds the invented sample corpus and these tweets are real, so nothing "
        "was written; start from an empty store (`make reset` deletes data/, or set TWEETGEN_DATA_DIR to a new folder; "
        "on Hopsworks, use another project) and run this again.\n"
    )
    assert counts(store) == before


def test_the_x_source_is_refused_by_a_store_of_the_sample_before_any_paid_read(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path)
    run_feature_pipeline(store, source="sample")
    before = counts(store)
    with replay("normal_page") as cassette, pytest.raises(ValidationError, match="holds the invented sample corpus"):
        scrape_x(store, make_client("test-token"), "tweetgen_test", 100)
    assert cassette.play_count == 0 and counts(store) == before and not store.exists(X_CURSOR)


def test_a_replay_of_invented_tweets_is_refused_by_a_group_of_real_ones(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path)
    store.insert(HELD_OUT_TWEETS, generate_corpus(10, seed=1).assign(ingested_at=pd.Timestamp("2026-01-01", tz="UTC")))
    write_tweets(store, TweetLoad("x", generate_corpus(30, seed=2, username="elonmusk"), 30), "history")
    with pytest.raises(ValidationError, match="'tweets' group .* holds real tweets and the sample corpus is invented"):
        scrape_replay(store, count=4)
    assert (store.read(TWEETS)["source"] == "history").all()


def test_a_load_that_mixes_both_kinds_is_refused_whole(tmp_path: Path) -> None:
    mixed = pd.concat([generate_corpus(5, seed=1), generate_corpus(5, seed=2, username="elonmusk")], ignore_index=True)
    store = LocalFeatureStore(tmp_path)
    with pytest.raises(ValidationError, match=f"mix the invented sample account @{SAMPLE_USERNAME} with real accounts"):
        write_tweets(store, TweetLoad("mixed", mixed, 10), "history")
    assert not store.exists(TWEETS)


def test_a_store_of_the_sample_under_a_real_name_from_an_earlier_version_is_recognised(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path)
    old = generate_corpus(SAMPLE_TWEETS, seed=SAMPLE_SEED, username="elonmusk")  # as the sample was generated before
    write_tweets(store, TweetLoad("old sample", old, len(old)), "history")
    with pytest.raises(ValidationError, match=r"holds the sample corpus as an earlier version wrote it, under the name of @elonmusk"):
        run_feature_pipeline(store, source="sample")
