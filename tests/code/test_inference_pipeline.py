"""Batch inference end to end on the local backend, with tiny models the tests register."""

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO
from tests.fakes.frames import tweets_frame
from tests.fakes.models import MODEL_NAME, register_tiny_model
from tweetgen.config import DEFAULT_MODEL_NAME, FORMER_DEFAULT_MODEL_NAME
from tweetgen.errors import TweetgenError
from tweetgen.pipelines.inference import Sampling, choose_prompt, clip_tweet, newest_tweet, run_batch_inference
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.schema import GENERATED_TWEETS, TWEETS
from tweetgen.store.local import LocalFeatureStore
from tweetgen.store.query import run_query

NOW = datetime(2026, 3, 25, 6, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> LocalFeatureStore:
    store = LocalFeatureStore(tmp_path / "store")
    history = tweets_frame([10, 11, 12], text=["Rockets are hard", "Mars base soon", "Cars go fast"])
    live = tweets_frame([5], text=["@friend Launch window opens tomorrow 🚀"], source="live",
                        clean_text="Launch window opens tomorrow 🚀")
    store.insert(TWEETS, pd.concat([history, live], ignore_index=True))
    return store


@pytest.fixture
def registry(tmp_path: Path) -> LocalModelRegistry:
    registry = LocalModelRegistry(tmp_path / "models")
    register_tiny_model(registry)
    return registry


@pytest.mark.parametrize(
    ("clean_text", "prompt"),
    [("Launch window opens tomorrow", "Launch window"), ("Wow", "Wow"), ("", ""), ("  two   words  ", "two words")],
)
def test_prompt_is_the_first_two_words(clean_text: str, prompt: str) -> None:
    assert choose_prompt(clean_text) == prompt


def test_clip_tweet_keeps_280_characters_at_a_word_boundary() -> None:
    text = "word " * 100
    clipped = clip_tweet(text)
    assert len(clipped) <= 280 and clipped.endswith("word…") and " word word" in clipped
    assert clip_tweet("x" * 400) == "x" * 279 + "…"  # one word longer than a tweet: the only cut inside a word
    assert clip_tweet("short") == "short"


def test_newest_tweet_prefers_live_then_event_time() -> None:
    tweets = tweets_frame([1, 2, 3], source=["history", "live", "history"])
    tweets.loc[0, "created_at"] = pd.Timestamp("2030-01-01", tz="UTC")  # a newer history tweet
    assert newest_tweet(tweets)["tweet_id"] == 2
    assert newest_tweet(tweets.assign(source="history"))["tweet_id"] == 1
    as_of = tweets.loc[2, "created_at"].to_pydatetime()
    assert newest_tweet(tweets.assign(source="history"), as_of=as_of)["tweet_id"] == 3


def test_one_row_with_both_generations_and_measures(store: LocalFeatureStore, registry: LocalModelRegistry) -> None:
    report = run_batch_inference(store, registry, MODEL_NAME, now=NOW)
    rows = store.read(GENERATED_TWEETS)
    assert report.inserted == 1 and len(rows) == 1
    row = rows.iloc[0]
    assert row["tweet_id"] == 5 and row["prompt"] == "Launch window" and row["arm"] == "champion"
    assert row["prompted_text"].startswith("Launch window")
    assert 0 < len(row["random_text"]) <= 280 and len(row["prompted_text"]) <= 280
    assert row["random_chars"] == len(row["random_text"]) and row["real_chars"] == len(row["tweet_clean_text"])
    assert row["real_bits_per_char"] > 0 and row["seed"] == 5 and row["temperature"] == 0.9
    assert row["generated_at"] == pd.Timestamp(NOW)
    assert -1 <= row["real_sentiment"] <= 1


def test_same_seed_same_tweets(store: LocalFeatureStore, registry: LocalModelRegistry, tmp_path: Path) -> None:
    def generate(seed: int, folder: str) -> pd.DataFrame:
        fresh = LocalFeatureStore(tmp_path / folder)
        fresh.insert(TWEETS, store.read(TWEETS))
        return run_batch_inference(fresh, registry, MODEL_NAME, Sampling(seed=seed), now=NOW).rows

    first, again, other = generate(42, "a"), generate(42, "b"), generate(7, "c")
    texts = ["prompted_text", "random_text"]
    assert first[texts].values.tolist() == again[texts].values.tolist()
    assert first[texts].values.tolist() != other[texts].values.tolist()
    assert first["seed"].tolist() == [42]


def test_rerun_adds_nothing_and_the_other_familys_best_version_adds_a_challenger_row(
    store: LocalFeatureStore, registry: LocalModelRegistry
) -> None:
    run_batch_inference(store, registry, MODEL_NAME, now=NOW)
    again = run_batch_inference(store, registry, MODEL_NAME, now=NOW)
    assert again.inserted == 0 and again.skipped_arms == ["champion v1"]
    register_tiny_model(registry, bits_per_char=3.5, seed=1, family="gpt2")  # the champion's family: no arm of its own
    register_tiny_model(registry, bits_per_char=5.0, family="lstm")  # v3: worse than the champion
    register_tiny_model(registry, bits_per_char=4.0, seed=1, family="lstm")  # v4: the best LSTM, still not champion
    register_tiny_model(registry, bits_per_char=3.9, seed=2, family="lstm", eval_set="sha256:other")  # not comparable
    third = run_batch_inference(store, registry, MODEL_NAME, now=NOW)
    rows = store.read(GENERATED_TWEETS).sort_values("model_version")
    assert third.inserted == 1 and registry.champion(MODEL_NAME).version == 1
    assert rows[["model_version", "model_family", "arm"]].values.tolist() == [[1, "gpt2", "champion"], [4, "lstm", "challenger"]]
    lstm_row = rows.iloc[1]
    assert lstm_row["max_new_tokens"] == 280 and rows.iloc[0]["max_new_tokens"] == 80  # a whole tweet in each tokenizer
    assert lstm_row["prompted_text"].startswith("Launch window") and lstm_row["real_bits_per_char"] > 0


def test_an_empty_tweet_yields_only_the_random_tweet(tmp_path: Path, registry: LocalModelRegistry) -> None:
    store = LocalFeatureStore(tmp_path / "s")
    store.insert(TWEETS, tweets_frame([1], text=["https://t.co/abcdefghij"], clean_text="", source="live"))
    report = run_batch_inference(store, registry, MODEL_NAME, now=NOW)
    row = report.rows.iloc[0]
    assert row["prompt"] == "" and row["prompted_text"] == "" and row["random_text"] != ""
    assert "random tweet only" in "\n".join(report.lines())
    stored = store.read(GENERATED_TWEETS).iloc[0]  # nothing to score: no number, not the end token's cost
    assert stored["real_chars"] == 0 and pd.isna(stored["real_bits_per_char"])
    assert run_query(store, "SELECT count(real_bits_per_char) AS n FROM generated_tweets")["n"].iloc[0] == 0  # a null, not NaN


def test_no_champion_or_no_tweets_writes_nothing(tmp_path: Path, store: LocalFeatureStore) -> None:
    with pytest.raises(TweetgenError, match="python -m tweetgen train"):
        run_batch_inference(store, LocalModelRegistry(tmp_path / "empty"), MODEL_NAME, now=NOW)
    assert not store.exists(GENERATED_TWEETS)
    registry = LocalModelRegistry(tmp_path / "models2")
    register_tiny_model(registry)
    with pytest.raises(TweetgenError, match="python feature_engineering.py"):
        run_batch_inference(LocalFeatureStore(tmp_path / "nothing"), registry, MODEL_NAME, now=NOW)


def test_a_registry_of_the_former_default_name_gets_a_way_forward(tmp_path: Path, store: LocalFeatureStore) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    register_tiny_model(registry, name=FORMER_DEFAULT_MODEL_NAME)  # trained when the default name was tweet_gpt2
    with pytest.raises(TweetgenError) as caught:
        run_batch_inference(store, registry, DEFAULT_MODEL_NAME, now=NOW)
    assert str(caught.value).endswith(
        "run `python -m tweetgen train` first. The registry holds 1 version(s) under the former default name 'tweet_gpt2': "
        "set TWEETGEN_MODEL_NAME=tweet_gpt2 (in .env or the environment) to keep using them.")
    with pytest.raises(TweetgenError) as other:  # a name of the user's own choosing: no hint
        run_batch_inference(store, registry, "my_model", now=NOW)
    assert "former default" not in str(other.value)
    assert len(run_batch_inference(store, registry, FORMER_DEFAULT_MODEL_NAME, now=NOW).rows) == 1  # and the way works


def test_script_without_a_model_is_one_sentence() -> None:
    result = subprocess.run([sys.executable, "batch_inference.py"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("error: There is no champion model 'tweet_model'") and "Traceback" not in result.stderr
