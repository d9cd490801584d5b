"""Data that used to change silently: each bad row is cleaned with a count or rejected with a count,
its file and its line, and the report says which; one bad row never refuses the whole ingest."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.data.test_kaggle import NEW_HEADER, T0, Tweet, new_row, write_csv
from tests.fakes.frames import tweets_frame
from tests.reliability.processes import run_cli
from tweetgen.pipelines.features import run_feature_pipeline, write_tweets
from tweetgen.pipelines.training import read_tweet_texts
from tweetgen.schema import MAX_TEXT_CHARS, RAW_COLUMNS, TWEETS
from tweetgen.sources.csv_chunks import MAX_FIELD_CHARS
from tweetgen.sources.kaggle import REJECT_FIELD, REJECT_SHAPE
from tweetgen.sources.port import TweetLoad
from tweetgen.sources.screening import (
    CLEAN_NUL,
    REJECT_ACCOUNT,
    REJECT_BEFORE_X,
    REJECT_FUTURE,
    REJECT_ID,
    REJECT_NEGATIVE,
    REJECT_TOO_LONG,
)
from tweetgen.store.local import LocalFeatureStore

ZERO_WIDTH = "\u200b\u200d\u2060\ufeff"
OTHER = REJECT_ACCOUNT.format(username="elonmusk")


def tweet(hours: int, **fields) -> Tweet:
    return Tweet(T0 + timedelta(hours=hours), **fields)


# (what the row is, its tweet, overrides of its cells, "kept" | reason it is rejected)
ROWS = [
    ("good", tweet(1, text="Rockets are hard"), {}, "kept"),
    ("nul", tweet(2, text="before\x00after the NUL"), {}, "kept"),
    ("multi-line", tweet(3, text="first line\nsecond line"), {}, "kept"),
    ("zero-width only", tweet(4, text=ZERO_WIDTH), {}, "kept"),
    ("1999", Tweet(datetime(1999, 6, 1, 12, tzinfo=UTC), id=1_100_000_000_000_000_001), {}, REJECT_BEFORE_X),
    ("2031", tweet(5), {"date": "2031-01-02", "time": "10:00:00", "timezone": "+0000"}, REJECT_FUTURE),
    ("another account", tweet(6), {"username": "someone_else"}, OTHER),
    ("over-long", tweet(7, text="x" * (MAX_TEXT_CHARS + 1)), {}, REJECT_TOO_LONG),
    ("good after", tweet(8, text="Still ingested"), {}, "kept"),
    *[(f"filler {i}", tweet(10 + i, text=f"Filler tweet number {i}"), {}, "kept") for i in range(6)],
]
KEPT = sum(1 for *_, outcome in ROWS if outcome == "kept")


def write_bad_csv(path: Path) -> tuple[Path, dict[str, int]]:
    """The rows above in the 2021 layout, plus a row cut to 10 of 36 fields; returns each row's first line."""
    lines, line = {}, 2
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=NEW_HEADER, lineterminator="\n")
        writer.writeheader()
        for name, t, overrides, _ in ROWS:
            writer.writerow({c: "" for c in NEW_HEADER} | new_row(t, offset="+0000", **overrides))
            lines[name] = line
            line += 1 + t.text.count("\n")
            if name == "multi-line":
                handle.write(",".join(new_row(tweet(9)).get(c, "") for c in NEW_HEADER[:10]) + "\n")  # 10 of 36 fields
                lines["cut row"] = line
                line += 1
    return path, lines


@pytest.fixture
def bad_csv(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    return write_bad_csv(tmp_path / "2021.csv")


def test_every_bad_row_is_counted_with_its_place_and_the_rest_is_ingested(tmp_path, bad_csv) -> None:
    path, lines = bad_csv
    store = LocalFeatureStore(tmp_path / "store")
    report = run_feature_pipeline(store, source="kaggle", paths=[path], holdout=0)  # every kept row into tweets
    expected_rejects = {reason for _, _, _, reason in ROWS if reason != "kept"} | {REJECT_SHAPE}
    assert report.rejected == {reason: 1 for reason in expected_rejects}
    assert report.cleaned == {CLEAN_NUL: 1}
    assert report.rows_read == len(ROWS) + 1 and report.inserted == KEPT
    where = {issue.reason: issue.where for issue in report.issues}
    for name, _, _, reason in ROWS:
        if reason != "kept":
            assert where[reason] == f"{path} line {lines[name]}", name
    assert where[REJECT_SHAPE] == f"{path} line {lines['cut row']}"
    assert where[CLEAN_NUL] == f"{path} line {lines['nul']}"

    stored = store.read(TWEETS).set_index("tweet_id")
    by_name = {name: t.id for name, t, _, _ in ROWS}
    assert stored.loc[by_name["nul"], "text"] == "beforeafter the NUL"  # not cut at the NUL
    assert stored.loc[by_name["zero-width only"], "text"] == ZERO_WIDTH  # kept as published ...
    assert stored.loc[by_name["zero-width only"], "clean_text"] == ""  # ... but nothing to train on
    assert report.invisible_only == 1 and report.empty_clean_text == 1
    assert by_name["zero-width only"] not in set(read_tweet_texts(store)[0]["tweet_id"])
    assert (stored["username"] == "elonmusk").all()


def test_the_report_says_which_rows_were_rejected_and_which_cleaned(tmp_path, bad_csv) -> None:
    path, lines = bad_csv
    result = run_cli(["features", "--source", "kaggle", "--path", str(path), "--holdout", "0"], tmp_path / "data")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert "rows rejected                 5  (not written)" in out
    assert f"{'':<22}        1  {REJECT_TOO_LONG}: {path} line {lines['over-long']}" in out
    assert f"{'':<22}        1  {REJECT_SHAPE}: {path} line {lines['cut row']}" in out
    assert "rows cleaned                  1  (written, changed)" in out
    assert f"{'':<22}        1  {CLEAN_NUL}: {path} line {lines['nul']}" in out
    assert f"{'':<22}        1  of them, only invisible characters (zero-width)" in out
    assert f"rows inserted         {KEPT:>9}" in out


def test_a_tweet_over_the_bound_from_any_source_rejects_only_its_row(tmp_path: Path) -> None:
    frame = tweets_frame(range(-1, 4))[RAW_COLUMNS]  # ids -1 and 0 are no tweet's
    frame.loc[3, "text"] = "y" * (MAX_TEXT_CHARS + 1)
    frame.loc[4, "likes"] = -5
    store = LocalFeatureStore(tmp_path / "store")
    report = write_tweets(store, TweetLoad("replay", frame, 5), source_label="live")
    assert report.inserted == 1
    assert report.rejected == {REJECT_ID: 2, REJECT_TOO_LONG: 1, REJECT_NEGATIVE: 1}
    assert store.read(TWEETS)["tweet_id"].tolist() == [1]


def test_times_are_checked_against_the_clock_not_the_ingestion_time(tmp_path: Path) -> None:
    now = pd.Timestamp.now(tz="UTC")
    frame = tweets_frame(range(1, 4), created_at=[now - pd.Timedelta(days=1), now + pd.Timedelta(days=2),
                                             pd.Timestamp("2006-03-20 23:59", tz="UTC")])[RAW_COLUMNS]
    frame["created_at"] = frame["created_at"].astype("datetime64[us, UTC]")
    report = write_tweets(LocalFeatureStore(tmp_path / "s"), TweetLoad("x api", frame, 3), "live",
                          now=datetime(2020, 1, 1, tzinfo=UTC))
    assert report.inserted == 1 and report.rejected == {REJECT_FUTURE: 1, REJECT_BEFORE_X: 1}


def test_a_giant_field_rejects_its_row_not_the_file(tmp_path: Path) -> None:
    rows = [new_row(tweet(1)), new_row(tweet(2), tweet="g" * (MAX_FIELD_CHARS + 1)), new_row(tweet(3))]
    path = write_csv(tmp_path / "2021.csv", NEW_HEADER, rows)
    report = run_feature_pipeline(LocalFeatureStore(tmp_path / "store"), source="kaggle", paths=[path])
    assert report.inserted == 2 and report.rejected == {REJECT_FIELD: 1}
    assert [issue.where for issue in report.issues] == [f"{path} line 3"]
