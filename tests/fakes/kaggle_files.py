"""Kaggle year files written by the project in the published layouts (every tweet invented)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.data.test_kaggle import NEW_HEADER, OLD_HEADER, T0, Tweet, new_row, old_row, write_csv


def kaggle_tweets(n: int) -> list[Tweet]:
    """``n`` invented tweets of the Kaggle account, one every 13 hours from ``T0``, oldest first."""
    return [Tweet(T0 + timedelta(hours=13 * i), text=f"Invented tweet number {i} about rockets and roadsters")
            for i in range(n)]


def write_kaggle_years(folder: Path, n: int = 40) -> list[Tweet]:
    """Write ``kaggle_tweets(n)`` into ``folder`` as two year files: the older half in the 2010-2020
    layout (2019.csv), the newer half in the 2021-2022 layout (2021.csv). Returns the tweets."""
    folder.mkdir(parents=True, exist_ok=True)
    tweets = kaggle_tweets(n)
    write_csv(folder / "2019.csv", OLD_HEADER, [old_row(t) for t in tweets[: n // 2]])
    write_csv(folder / "2021.csv", NEW_HEADER, [new_row(t) for t in tweets[n // 2 :]])
    return tweets
