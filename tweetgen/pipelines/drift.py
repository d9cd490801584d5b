"""Drift: how much worse the champion does on the account's newest real tweets than on its eval set.

The daily batch job scores each day's real tweet under the champion (``real_bits_per_char`` in
``generated_tweets``). The drift figure is the rolling bits per character of the champion's last
``window`` scored tweets (weighted by characters, as ``evaluate`` counts them: each text plus one
for its end), next to the champion's own ``eval_bits_per_char``. The account moves on (topics,
names, style) and the gap grows; past ``margin`` the retrain job retrains whatever the count of
new tweets. Only the current champion's scores count: another version's say nothing about it.

The daily job records the figure in its ``job_runs`` counts (whole numbers: thousandths of a bit
per character), so ``/api/health`` and the app's health panel show it without loading a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from tweetgen.registry.port import ModelVersion

MIN_TWEETS = 5  # fewer scored tweets are too few to call anything drift
#: The monitor columns the figure is computed from.
DRIFT_COLUMNS = ["tweet_id", "tweet_created_at", "arm", "model_name", "model_version", "real_bits_per_char", "real_chars"]


@dataclass(frozen=True)
class Drift:
    """The champion's rolling bits/char on its last ``tweets`` scored real tweets, and its own eval figure."""

    version: int
    tweets: int
    bits_per_char: float
    eval_bits_per_char: float

    @property
    def gap(self) -> float:
        """How many bits/char worse the newest tweets score than the eval set (negative: better)."""
        return self.bits_per_char - self.eval_bits_per_char

    def is_drifting(self, margin: float) -> bool:
        """Whether the gap is over ``margin`` on at least ``MIN_TWEETS`` tweets."""
        return self.tweets >= MIN_TWEETS and self.gap > margin

    def sentence(self) -> str:
        """One line: "The champion (v3) scores 2.412 bits/char on the last 30 real tweets, +0.312 over its eval figure 2.100." """
        return (f"The champion (v{self.version}) scores {self.bits_per_char:.3f} bits/char on the last {self.tweets} real tweets, "
                f"{self.gap:+.3f} over its eval figure {self.eval_bits_per_char:.3f}.")

    def counts(self) -> dict[str, int]:
        """The figure as ``job_runs`` counts (thousandths of a bit per character)."""
        return {"drift_version": self.version, "drift_tweets": self.tweets, "drift_millibits_per_char": round(1000 * self.bits_per_char),
                "champion_eval_millibits_per_char": round(1000 * self.eval_bits_per_char)}

    @classmethod
    def from_counts(cls, counts: dict[str, Any]) -> Drift | None:
        """The figure a ``job_runs`` row recorded (``counts``), or None if it recorded none."""
        keys = ("drift_version", "drift_tweets", "drift_millibits_per_char", "champion_eval_millibits_per_char")
        if not all(key in counts for key in keys):
            return None
        return cls(int(counts["drift_version"]), int(counts["drift_tweets"]), counts["drift_millibits_per_char"] / 1000,
                   counts["champion_eval_millibits_per_char"] / 1000)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form for ``GET /api/health``."""
        return {"champion_version": self.version, "tweets": self.tweets, "bits_per_char": round(self.bits_per_char, 4),
                "eval_bits_per_char": round(self.eval_bits_per_char, 4), "gap": round(self.gap, 4)}


def rolling_drift(rows: pd.DataFrame, champion: ModelVersion, window: int) -> Drift | None:
    """The drift figure of ``champion`` from monitor rows (``generated_tweets``: its ``champion``
    arm's ``real_bits_per_char`` and ``real_chars``), over its ``window`` newest scored tweets;
    None when it has none or no eval figure."""
    if champion.score is None or rows.empty:
        return None
    mine = rows[(rows["arm"] == "champion") & (rows["model_name"] == champion.name)
                & (rows["model_version"] == champion.version) & rows["real_bits_per_char"].notna()]
    newest = mine.sort_values(["tweet_created_at", "tweet_id"], ascending=False, kind="stable").head(window)
    if newest.empty:
        return None
    return Drift(champion.version, len(newest), weighted_bits_per_char(newest["real_bits_per_char"], newest["real_chars"]), champion.score)


def weighted_bits_per_char(bits_per_char: pd.Series, chars: pd.Series) -> float:
    """Bits per character of several texts together: each text's figure weighted by its
    characters plus one (its end), the denominator ``evaluate`` uses."""
    weights = chars.astype(float) + 1
    return float((bits_per_char.astype(float) * weights).sum() / weights.sum())
