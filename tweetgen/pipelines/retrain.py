"""The retrain job: the champion keeps up with the account by continuing on its new tweets.

Steps: find the champion and where its data ended (``newest_tweet_id`` / ``newest_tweet_at`` on
its card) -> count the tweets since -> read the drift figure (``tweetgen.pipelines.drift``) ->
decide. With at least ``min_new_tweets`` new tweets, or a drift past ``drift_margin``, it runs a
warm-start training (``tweetgen.pipelines.warm_start``) whose eval set is the newest half of the
new tweets: tweets neither the champion nor the new version trained on, so the champion rule
compares the two fairly (the champion is re-scored on them). Otherwise it skips, and says why.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from tweetgen.errors import TweetgenError
from tweetgen.pipelines.drift import DRIFT_COLUMNS, Drift, rolling_drift
from tweetgen.registry.port import ModelRegistry, ModelVersion
from tweetgen.schema import GENERATED_TWEETS, TWEETS
from tweetgen.store.port import FeatureStore

if TYPE_CHECKING:
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.training import TrainReport


@dataclass(frozen=True)
class RetrainRule:
    """When the retrain job retrains: ``min_new_tweets`` new tweets since the champion's data,
    or its drift figure over ``drift_window`` tweets past ``drift_margin`` bits/char."""

    min_new_tweets: int = 100
    drift_window: int = 30
    drift_margin: float = 0.25

    def reason_to_retrain(self, new_tweets: int, drift: Drift | None) -> str | None:
        """Why to retrain, in a few words, or None to skip."""
        if new_tweets >= self.min_new_tweets:
            return f"{new_tweets} new tweets reach the threshold of {self.min_new_tweets}"
        if drift is not None and new_tweets and drift.is_drifting(self.drift_margin):
            return f"drift {drift.gap:+.3f} bits/char is past the margin of {self.drift_margin:.2f}"
        return None


@dataclass
class RetrainReport:
    """What one run of the retrain job found and decided; ``training`` is None when it skipped."""

    champion: int
    new_tweets: int
    rule: RetrainRule
    drift: Drift | None
    reason: str | None
    training: TrainReport | None = None

    def counts(self) -> dict[str, int]:
        """The counts a ``job_runs`` row records."""
        counts = {"champion_version": self.champion, "new_tweets": self.new_tweets, "retrained": int(self.training is not None)}
        if self.training is not None:
            counts |= {"model_version": self.training.version.version, "promoted": int(self.training.decision.promoted)}
        return counts

    def lines(self) -> list[str]:
        """What was decided, for a terminal."""
        drift = [f"Drift: {self.drift.sentence()}"] if self.drift else []
        if self.training is None:
            return [f"Skipped: {self.new_tweets} new tweets since the champion's data (version {self.champion}), below the "
                    f"threshold of {self.rule.min_new_tweets}, and no drift past {self.rule.drift_margin:.2f} bits/char.", *drift]
        decision = self.training.decision
        outcome = "the new champion" if decision.promoted else "not champion"
        return [f"Retrained v{self.champion} -> v{self.training.version.version} ({self.reason}): {outcome}. {decision.reason}",
                *drift, *self.training.summary().splitlines()]


def run_retrain(store: FeatureStore, registry: ModelRegistry, config: TrainConfig, rule: RetrainRule = RetrainRule()) -> RetrainReport:
    """Retrain ``config.model_name``'s champion by warm start if ``rule`` says so (module docstring).

    Raises:
        TweetgenError: there is no champion, or its card does not say where its data ended.
    """
    champion = registry.champion(config.model_name)
    if champion is None:
        raise TweetgenError(f"There is no champion of '{config.model_name}' in {registry.where} to retrain; run `python -m tweetgen train` first.")
    tweets = store.read(TWEETS, columns=["tweet_id", "created_at"])
    new = tweets_since(tweets, champion)
    drift = read_drift(store, champion, rule.drift_window)
    reason = rule.reason_to_retrain(len(new), drift)
    if reason is None:
        return RetrainReport(champion.version, len(new), rule, drift, None)
    from tweetgen.pipelines.training import run_training

    warm = dataclasses.replace(config, warm_start=True, eval_since=eval_start(new).to_pydatetime(), eval_fraction=0.1)
    return RetrainReport(champion.version, len(new), rule, drift, reason, run_training(store, registry, warm))


def tweets_since(tweets: pd.DataFrame, champion: ModelVersion) -> pd.DataFrame:
    """The tweets newer than the newest of the champion's data (by time, then id), oldest first.

    Raises:
        TweetgenError: the champion's card does not record its newest tweet (a version trained
            before lineage was recorded).
    """
    newest_id, newest_at = champion.card.get("newest_tweet_id"), champion.card.get("newest_tweet_at")
    if newest_id is None or newest_at is None:
        raise TweetgenError(
            f"The champion, version {champion.version}, does not record the newest tweet of its data, so the new tweets "
            "cannot be counted; run `python -m tweetgen train --warm-start` once by hand."
        )
    at = pd.Timestamp(newest_at)
    created = pd.to_datetime(tweets["created_at"], utc=True)
    newer = (created > at) | ((created == at) & (tweets["tweet_id"] > int(newest_id)))
    return tweets[newer].assign(created_at=created[newer]).sort_values(["created_at", "tweet_id"], kind="stable")


def eval_start(new: pd.DataFrame) -> pd.Timestamp:
    """When the eval set of a retrain begins: the newest half of the new tweets (at least one)."""
    return new["created_at"].iloc[len(new) - max(1, math.ceil(len(new) / 2))]


def read_drift(store: FeatureStore, champion: ModelVersion, window: int) -> Drift | None:
    """The champion's drift figure from the monitor rows (None before any daily run scored one)."""
    if not store.exists(GENERATED_TWEETS):
        return None
    return rolling_drift(store.read(GENERATED_TWEETS, columns=DRIFT_COLUMNS), champion, window)
