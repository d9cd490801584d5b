"""The retrain job: the rule (new tweets, drift), the drift figure, and the job end to end."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from tests.code.test_training_pipeline import TINY
from tests.fakes.tweet_texts import invented_tweets, tweets_with_texts
from tweetgen.cli import main
from tweetgen.config import Settings
from tweetgen.pipelines.drift import Drift, rolling_drift, weighted_bits_per_char
from tweetgen.pipelines.jobs import retrain_job
from tweetgen.pipelines.retrain import RetrainRule, eval_start, tweets_since
from tweetgen.pipelines.runs import job_health, read_runs
from tweetgen.pipelines.training import run_training
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.registry.port import ModelVersion
from tweetgen.schema import TWEETS
from tweetgen.store.local import LocalFeatureStore

# Its data ended at tweet 20 (tests.fakes.frames: tweet n is created n minutes after 2021-03-01 12:00 UTC).
CHAMPION = ModelVersion("m", 3, {"eval_bits_per_char": 2.0}, {"newest_tweet_id": 20, "newest_tweet_at": "2021-03-01T12:20:00+00:00"})


@pytest.mark.parametrize(
    ("new", "drift", "retrains"),
    [(99, None, False), (100, None, True),  # the threshold, at its boundary
     (10, Drift(3, 30, 2.26, 2.0), True), (10, Drift(3, 30, 2.25, 2.0), False),  # the margin, at its boundary
     (10, Drift(3, 4, 3.0, 2.0), False),  # too few scored tweets to call it drift
     (0, Drift(3, 30, 3.0, 2.0), False)],  # nothing new to learn from
)
def test_the_rule_retrains_on_enough_new_tweets_or_drift(new, drift, retrains) -> None:
    rule = RetrainRule(min_new_tweets=100, drift_margin=0.25)
    assert (rule.reason_to_retrain(new, drift) is not None) == retrains


def test_the_drift_figure_is_the_champions_char_weighted_score_on_its_newest_tweets() -> None:
    rows = pd.DataFrame({
        "tweet_id": [1, 2, 3, 4, 5],
        "tweet_created_at": pd.to_datetime([f"2030-01-0{d}" for d in range(1, 6)], utc=True),
        "arm": ["champion", "champion", "champion", "challenger", "champion"],
        "model_name": "m", "model_version": [3, 3, 3, 3, 2],
        "real_bits_per_char": [9.0, 2.0, 3.0, 7.0, 8.0], "real_chars": [9, 9, 19, 9, 9],
    })
    drift = rolling_drift(rows, CHAMPION, window=2)  # tweets 3 and 2: v2's and the challenger's rows do not count
    assert drift == Drift(3, 2, (2.0 * 10 + 3.0 * 20) / 30, 2.0)
    assert drift.gap == pytest.approx(0.6667, abs=1e-4)
    assert Drift.from_counts(json.loads(json.dumps(drift.counts()))) == Drift(3, 2, 2.667, 2.0)
    assert rolling_drift(rows[rows["model_version"] == 2], CHAMPION, window=2) is None
    assert weighted_bits_per_char(pd.Series([1.0]), pd.Series([0])) == 1.0


def test_new_tweets_are_those_after_the_champions_data_and_the_newest_half_is_the_eval_set() -> None:
    tweets = tweets_with_texts(invented_tweets(30))  # ids 1..30, one minute apart
    new = tweets_since(tweets, CHAMPION)
    assert new["tweet_id"].tolist() == list(range(21, 31))
    same_time = tweets_with_texts(["a later id at the same minute"], first_id=20).assign(tweet_id=19, created_at=tweets["created_at"].iloc[19])
    assert tweets_since(pd.concat([tweets, same_time.assign(tweet_id=25_000)]), CHAMPION)["tweet_id"].iloc[0] == 25_000
    assert tweets_since(same_time, CHAMPION).empty  # same minute, lower id: part of the champion's data
    assert eval_start(new) == new["created_at"].iloc[5]  # tweets 26..30: the newest half
    with pytest.raises(Exception, match="does not record the newest tweet of its data"):
        tweets_since(tweets, dataclasses.replace(CHAMPION, card={}))


def test_the_retrain_job_skips_then_continues_the_champion_and_says_so(capsys) -> None:
    settings = Settings.load().with_overrides(retrain_min_new_tweets=40)
    store, registry = LocalFeatureStore(settings.feature_store_dir), LocalModelRegistry.from_settings(settings)
    store.insert(TWEETS, tweets_with_texts(invented_tweets(300)))
    first = run_training(store, registry, dataclasses.replace(TINY, model_name=settings.model_name))

    assert main(["retrain"]) == 0  # nothing new yet: the CLI says so and trains nothing
    out = capsys.readouterr().out
    assert "Skipped: 0 new tweets since the champion's data (version 1), below the threshold of 100" in out
    store.insert(TWEETS, tweets_with_texts(invented_tweets(339, seed=1)[300:], first_id=1_000))  # 39 new: one short
    assert retrain_job(settings).training is None

    store.insert(TWEETS, tweets_with_texts(["The robot will fly again"], first_id=2_000))  # 40: the threshold
    warm = dataclasses.replace(TINY, family=None, n_layer=None, n_embd=None, hidden_size=None, learning_rate=None, max_steps=10)
    report = retrain_job(settings, warm)
    training = report.training
    assert training is not None and training.version.card["parent_version"] == 1
    assert training.n_eval == 20 and training.version.card["newest_tweet_id"] == 2_000  # the newest half of the 40
    assert "re-scored on eval set" in training.decision.reason  # the champion judged on the same new tweets
    assert report.lines()[0].startswith("Retrained v1 -> v2 (40 new tweets reach the threshold of 40): ")
    runs = read_runs(store).sort_values("started_at")
    assert runs["job"].tolist() == ["retrain"] * 3 and runs["status"].tolist() == ["ok"] * 3
    assert [json.loads(c)["retrained"] for c in runs["counts"]] == [0, 0, 1]
    assert json.loads(runs["counts"].iloc[-1])["model_version"] == 2 and first.version.version == 1
    from tweetgen.pipelines.jobs import retrain_needs_gpu

    assert not retrain_needs_gpu(settings)  # an LSTM champion


def test_health_shows_the_drift_the_daily_job_recorded() -> None:
    drift = Drift(3, 30, 2.4, 2.1)
    now = datetime(2030, 1, 2, tzinfo=UTC)
    runs = pd.DataFrame([{"run_id": "inference-1", "job": "inference", "runner": "modal", "status": "ok",
                          "started_at": pd.Timestamp("2030-01-01 06:00", tz="UTC"), "ended_at": pd.Timestamp("2030-01-01 06:01", tz="UTC"),
                          "duration_s": 60.0, "counts": json.dumps({"rows_written": 2, **drift.counts()}), "error": ""}])
    health = job_health(runs, now)
    assert health.as_dict()["drift"] == {"champion_version": 3, "tweets": 30, "bits_per_char": 2.4, "eval_bits_per_char": 2.1, "gap": 0.3}
    from tweetgen.ui.views import health_markdown

    assert "Drift: The champion (v3) scores 2.400 bits/char on the last 30 real tweets, +0.300 over its eval figure 2.100." in health_markdown(health)
    no_drift = runs.assign(counts=json.dumps({"rows_written": 2}))
    assert job_health(no_drift, now).as_dict()["drift"] is None


def test_a_gpt2_champion_retrains_on_the_gpu_function_an_lstm_or_none_on_the_cpu() -> None:
    from tests.fakes.tiny_model import register_tiny_champion
    from tweetgen.pipelines.jobs import retrain_needs_gpu

    settings = Settings.load()
    assert not retrain_needs_gpu(settings)  # no champion: the CPU function says so
    register_tiny_champion(settings.data_dir, settings.model_name)  # a one-layer GPT-2 under <data_dir>/models
    assert retrain_needs_gpu(settings)
