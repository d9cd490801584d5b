"""Batch inference: the daily job that writes generated tweets next to the newest real one.

Steps: find the arms (the champion, and as challenger the best version of each other model
family: an A/B test of the LSTM against GPT-2) -> take the newest real tweet -> prompt with its
first two words -> generate a prompt-seeded and a random tweet per arm -> measure -> write every
arm's row, with its model family, in one insert into ``generated_tweets`` -> the drift figure
(``tweetgen.pipelines.drift``: the champion on its last real tweets). Rows are keyed by
(tweet_id, model_name, model_version), so rerunning for the same tweet and model adds nothing,
and a run that fails before the insert writes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from tweetgen.errors import TweetgenError
from tweetgen.model.ending import cut_at_limit
from tweetgen.model.generate import sample, tweet_tokens
from tweetgen.model.measures import CopyIndex, sentiment
from tweetgen.pipelines.drift import DRIFT_COLUMNS, Drift, rolling_drift
from tweetgen.registry.champion import challengers
from tweetgen.registry.port import ModelRegistry, ModelVersion, former_name_hint
from tweetgen.schema import GENERATED_TWEETS, MAX_TWEET_CHARS, TWEETS
from tweetgen.store.port import FeatureStore

PROMPT_WORDS = 2


@dataclass(frozen=True)
class Sampling:
    """How a generation is sampled; recorded in every row so it can be reproduced.

    ``seed`` None derives the seed from the tweet id, so each day's tweet gets its own draw. The
    prompt-seeded tweet is drawn with ``seed``, the random one with ``seed + 1`` (with one seed
    the two would share their random draws and look alike). ``max_new_tokens`` None is enough
    for a whole tweet in the model's tokenizer (``tweet_tokens``: 280 bytes, or 80 BPE tokens).
    """

    temperature: float = 0.9
    top_p: float = 0.95
    max_new_tokens: int | None = None
    seed: int | None = None

    def seed_for(self, tweet_id: int) -> int:
        return self.seed if self.seed is not None else tweet_id % 2_147_483_647


@dataclass
class InferenceReport:
    """What one run of the batch job did."""

    tweet_id: int
    prompt: str
    rows: pd.DataFrame
    inserted: int
    skipped_arms: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    drift: Drift | None = None

    def counts(self) -> dict[str, int]:
        """The counts a ``job_runs`` row records, with the drift figure's when there is one."""
        counts = {"tweet_id": self.tweet_id, "rows_written": self.inserted, "arms_skipped": len(self.skipped_arms)}
        return counts | (self.drift.counts() if self.drift else {})

    def lines(self) -> list[str]:
        """The report as lines for a terminal."""
        prompt = repr(self.prompt) if self.prompt else "(none: the tweet has no words left after cleaning; random tweet only)"
        lines = [f"real tweet        {self.tweet_id}", f"prompt            {prompt}"]
        for row in self.rows.itertuples():
            lines.append(f"{row.arm:<10} v{row.model_version} {row.model_family}: prompted {row.prompted_text!r}")
            lines.append(f"{'':<10} v{row.model_version} {row.model_family}: random   {row.random_text!r}")
        lines += [f"already done      {arm}" for arm in self.skipped_arms]
        lines += [f"drift             {self.drift.sentence()}"] if self.drift else []
        lines += [
            f"rows written      {self.inserted} to {GENERATED_TWEETS.name} v{GENERATED_TWEETS.version}",
            f"elapsed           {self.elapsed_s:.2f} s",
        ]
        return lines


def run_batch_inference(
    store: FeatureStore,
    registry: ModelRegistry,
    model_name: str,
    sampling: Sampling = Sampling(),
    as_of: datetime | None = None,
    now: datetime | None = None,
    drift_window: int = 30,
) -> InferenceReport:
    """Generate for the newest real tweet (at or before ``as_of``) and write the monitor rows;
    report the champion's drift over its last ``drift_window`` scored tweets.

    Raises:
        TweetgenError: no champion model, or no tweets; nothing is written.
    """
    started = time.perf_counter()
    arms = model_arms(registry, model_name)
    tweets = read_tweets(store)
    tweet = newest_tweet(tweets, as_of)
    prompt = choose_prompt(tweet["clean_text"])
    todo, done = _pending_arms(store, int(tweet["tweet_id"]), arms)
    copy_index = CopyIndex(tweets.loc[tweets["tweet_id"] != tweet["tweet_id"], "clean_text"])
    generated_at = now or datetime.now(UTC)
    rows = [generate_row(registry, version, arm, tweet, prompt, sampling, copy_index, generated_at) for arm, version in todo]
    frame = pd.DataFrame(rows, columns=GENERATED_TWEETS.columns) if rows else _empty_rows()
    result = store.insert(GENERATED_TWEETS, _typed(frame))
    scored = store.read(GENERATED_TWEETS, columns=DRIFT_COLUMNS) if store.exists(GENERATED_TWEETS) else pd.DataFrame()
    drift = rolling_drift(scored, arms[0][1], drift_window)
    return InferenceReport(int(tweet["tweet_id"]), prompt, frame, result.inserted, done, time.perf_counter() - started, drift)


def model_arms(registry: ModelRegistry, model_name: str) -> list[tuple[str, ModelVersion]]:
    """The champion, then a challenger per other model family: its best version whose files are
    whole (``tweetgen.registry.champion.challengers``, ``ModelRegistry.check_files``).

    Raises:
        TweetgenError: there is no champion, or its files are broken (a new version replaces it).
    """
    champion = registry.champion(model_name)
    if champion is None:
        raise TweetgenError(
            f"There is no champion model '{model_name}' in {registry.where}; run `python -m tweetgen train` first."
            + former_name_hint(registry, model_name)
        )
    problem = registry.check_files(champion)
    if problem:
        raise TweetgenError(
            f"The champion, version {champion.version} of '{model_name}' in {registry.where}, cannot be loaded "
            f"({problem}); run `python -m tweetgen train`: a new version replaces a broken champion."
        )
    others = challengers(registry.versions(model_name), champion, lambda v: not registry.check_files(v))
    return [("champion", champion)] + [("challenger", version) for version in others]


def read_tweets(store: FeatureStore) -> pd.DataFrame:
    """The ``tweets`` group's columns batch inference needs; raises if there are none."""
    columns = ["tweet_id", "created_at", "text", "clean_text", "source", "likes", "retweets", "replies"]
    tweets = store.read(TWEETS, columns=columns)
    if tweets.empty:
        raise TweetgenError(f"The feature group 'tweets' in {store.where} is empty; run `{TWEETS.filled_by}` first.")
    return tweets


def newest_tweet(tweets: pd.DataFrame, as_of: datetime | None = None) -> pd.Series:
    """The newest tweet by event time at or before ``as_of``; live tweets before history ones."""
    if as_of is not None:
        tweets = tweets[tweets["created_at"] <= pd.Timestamp(as_of)]
        if tweets.empty:
            raise TweetgenError(f"No tweet in the feature group is as old as {as_of:%Y-%m-%d %H:%M} UTC; pick a later time.")
    ordered = tweets.assign(is_live=tweets["source"] == "live").sort_values(
        ["is_live", "created_at", "tweet_id"], ascending=False, kind="stable"
    )
    return ordered.iloc[0]


def choose_prompt(clean_text: str) -> str:
    """The first two words of a tweet's clean text (one word if it has one, "" if none)."""
    return " ".join(clean_text.split()[:PROMPT_WORDS])


def clip_tweet(text: str, limit: int = MAX_TWEET_CHARS) -> str:
    """``text`` stripped, and cut as an unfinished tweet (``tweetgen.model.ending.cut_at_limit``:
    a sentence end or a word boundary and "…") if it is longer than ``limit`` characters."""
    text = text.strip()
    return text if len(text) <= limit else cut_at_limit(text, limit)


def generate_row(
    registry: ModelRegistry,
    version: ModelVersion,
    arm: str,
    tweet: pd.Series,
    prompt: str,
    sampling: Sampling,
    copy_index: CopyIndex,
    generated_at: datetime,
) -> dict[str, object]:
    """One monitor row: both generations of ``version`` for ``tweet``, with its measures."""
    from tweetgen.model.evaluate import evaluate

    model, tokenizer = registry.load(version)
    seed = sampling.seed_for(int(tweet["tweet_id"]))
    max_new_tokens = sampling.max_new_tokens or tweet_tokens(tokenizer)
    settings = dict(n=1, max_new_tokens=max_new_tokens, seed=seed, temperature=sampling.temperature, top_p=sampling.top_p)
    prompted = clip_tweet(sample(model, tokenizer, prompt, **settings)[0]) if prompt else ""
    random = clip_tweet(sample(model, tokenizer, "", **{**settings, "seed": seed + 1})[0])
    real = str(tweet["clean_text"])
    return {
        "tweet_id": int(tweet["tweet_id"]), "tweet_created_at": tweet["created_at"],
        "tweet_text": str(tweet["text"]), "tweet_clean_text": real, "prompt": prompt,
        "prompted_text": prompted, "random_text": random,
        "model_name": version.name, "model_version": version.version, "model_family": version.family, "arm": arm, "seed": seed,
        "temperature": sampling.temperature, "top_p": sampling.top_p, "max_new_tokens": max_new_tokens,
        # An empty text has nothing to score: its end token alone, over one "character", is no measure of the model.
        "real_bits_per_char": evaluate(model, tokenizer, [real])["eval_bits_per_char"] if real else None,
        "real_chars": len(real), "prompted_chars": len(prompted), "random_chars": len(random),
        "prompted_copy_words": copy_index.longest_shared_run(prompted) if prompted else 0,
        "random_copy_words": copy_index.longest_shared_run(random),
        "real_sentiment": sentiment(real), "prompted_sentiment": sentiment(prompted),
        "random_sentiment": sentiment(random), "generated_at": generated_at,
    }


def _pending_arms(
    store: FeatureStore, tweet_id: int, arms: list[tuple[str, ModelVersion]]
) -> tuple[list[tuple[str, ModelVersion]], list[str]]:
    """Split the arms into those still to generate for ``tweet_id`` and those already written."""
    if not store.exists(GENERATED_TWEETS):
        return arms, []
    written = store.read(GENERATED_TWEETS, columns=["tweet_id", "model_name", "model_version"])
    keys = set(written.itertuples(index=False, name=None))
    todo = [(arm, v) for arm, v in arms if (tweet_id, v.name, v.version) not in keys]
    done = [f"{arm} v{v.version}" for arm, v in arms if (tweet_id, v.name, v.version) in keys]
    return todo, done


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast a frame of monitor rows to the contract's pandas dtypes (timestamps UTC, microseconds)."""
    frame = frame.copy()
    for column in ("tweet_created_at", "generated_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]")
    return frame


def _empty_rows() -> pd.DataFrame:
    return GENERATED_TWEETS.schema.empty_table().to_pandas()
