"""Expectations on the invented sample corpus: schema, ids, determinism and the share of each quirk."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tweetgen.schema import RAW_COLUMNS, RAW_SCHEMA, SAMPLE_USERNAME
from tweetgen.sources.corpus import generate_corpus

SNOWFLAKE_EPOCH_MS = 1288834974657  # written out here so the test checks the module's constant too
LEADING_MENTIONS = re.compile(r"^(?:@\w{1,15} ){1,3}")
LINK = re.compile(r"https://t\.co/[A-Za-z0-9]{10}(?![A-Za-z0-9])")
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\U0001f1e6-\U0001f1ff]")
ENTITY = re.compile(r"&(?:amp|lt|gt);")


@pytest.fixture(scope="module")
def corpus() -> pd.DataFrame:
    return generate_corpus()


def body(text: str) -> str:
    """The text without its leading reply mentions."""
    return LEADING_MENTIONS.sub("", text)


def is_one_word(text: str) -> bool:
    words = body(text).split()
    return len(words) == 1 and any(c.isalpha() for c in words[0]) and not LINK.fullmatch(words[0])


# --- determinism, schema, size ------------------------------------------------------------------


def test_same_seed_gives_an_identical_frame() -> None:
    first, second = generate_corpus(500, seed=3), generate_corpus(500, seed=3)
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    assert pd.util.hash_pandas_object(first).tolist() == pd.util.hash_pandas_object(second).tolist()


def test_another_seed_gives_another_frame() -> None:
    first, second = generate_corpus(500, seed=3), generate_corpus(500, seed=4)
    assert not first.equals(second)
    assert (first["text"] != second["text"]).mean() > 0.5
    assert not set(first["tweet_id"]) & set(second["tweet_id"])


def test_columns_and_dtypes_match_the_raw_schema(corpus: pd.DataFrame) -> None:
    assert list(corpus.columns) == RAW_COLUMNS
    assert {name: str(dtype) for name, dtype in corpus.dtypes.items()} == {
        "tweet_id": "int64",
        "created_at": "datetime64[us, UTC]",
        "text": "object",
        "username": "object",
        "is_reply": "bool",
        "is_quote": "bool",
        "lang": "object",
        "likes": "int64",
        "retweets": "int64",
        "replies": "int64",
    }
    for column in ("text", "username", "lang"):
        assert corpus[column].map(type).eq(str).all(), column
    table = pa.Table.from_pandas(corpus, schema=RAW_SCHEMA, preserve_index=False, safe=True)
    assert table.schema.equals(RAW_SCHEMA)
    assert corpus.notna().all().all()


def test_size_is_what_was_asked() -> None:
    assert len(generate_corpus()) == 3600
    assert len(generate_corpus(17)) == 17
    empty = generate_corpus(0)
    assert empty.empty and list(empty.columns) == RAW_COLUMNS
    assert str(empty["created_at"].dtype) == "datetime64[us, UTC]" and str(empty["tweet_id"].dtype) == "int64"


def test_username_and_span_are_respected() -> None:
    start, end = datetime(2020, 3, 1, tzinfo=UTC), datetime(2020, 3, 8, tzinfo=UTC)
    frame = generate_corpus(300, seed=1, username="someone", start=start, end=end)
    assert set(frame["username"]) == {"someone"}
    assert frame["created_at"].min() >= pd.Timestamp(start) and frame["created_at"].max() < pd.Timestamp(end)
    assert frame["text"].str.startswith("@someone ").sum() > 0  # threads reply to the account itself


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_tweets": -1}, "n_tweets"),
        ({"start": datetime(2015, 1, 1)}, "timezone-aware"),
        ({"end": datetime(2016, 1, 1)}, "timezone-aware"),
        ({"start": datetime(2009, 1, 1, tzinfo=UTC)}, "snowflake epoch"),
        ({"start": datetime(2020, 1, 1, tzinfo=UTC), "end": datetime(2020, 1, 1, tzinfo=UTC)}, "after start"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_corpus(**kwargs)


# --- time and ids ---------------------------------------------------------------------------------


def test_sorted_by_time_with_unique_increasing_ids(corpus: pd.DataFrame) -> None:
    assert corpus["created_at"].is_monotonic_increasing
    assert corpus["tweet_id"].is_unique
    assert (np.diff(corpus["tweet_id"].to_numpy()) > 0).all()


def test_ids_are_snowflakes_of_created_at(corpus: pd.DataFrame) -> None:
    ids = corpus["tweet_id"].to_numpy()
    created_ms = corpus["created_at"].astype("int64").to_numpy() // 1000  # microseconds -> ms
    assert ((ids >> 22) + SNOWFLAKE_EPOCH_MS).tolist() == created_ms.tolist()
    assert (corpus["created_at"].astype("int64") % 1000 == 0).all()  # millisecond precision
    assert ((ids & (2**22 - 1)) < 4096).all()  # a small sequence number in the low bits
    # Snowflakes of 2015-01-01 and 2026-06-30, worked out by hand: 131235425343 << 22 and 493942625343 << 22.
    assert ids[0] >= 550_441_269_457_846_272 and ids[-1] < 2_071_745_529_246_646_272


def test_ids_of_tweets_in_the_same_millisecond_stay_unique() -> None:
    start = datetime(2021, 1, 1, tzinfo=UTC)
    frame = generate_corpus(2000, seed=5, start=start, end=datetime(2021, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC))
    assert frame["created_at"].duplicated().any()  # 2,000 tweets in 500 ms must share milliseconds
    assert frame["tweet_id"].is_unique and frame["tweet_id"].is_monotonic_increasing
    decoded = (frame["tweet_id"].to_numpy() >> 22) + SNOWFLAKE_EPOCH_MS
    assert decoded.tolist() == (frame["created_at"].astype("int64") // 1000).tolist()


def test_span_covers_the_years_and_activity_grows(corpus: pd.DataFrame) -> None:
    assert corpus["created_at"].min() >= pd.Timestamp("2015-01-01", tz="UTC")
    assert corpus["created_at"].max() < pd.Timestamp("2026-06-30", tz="UTC")
    per_year = corpus.groupby(corpus["created_at"].dt.year).size()
    assert list(per_year.index) == list(range(2015, 2027))
    assert per_year[2025] > 4 * per_year[2015]
    assert per_year.loc[2021:2025].sum() > 2 * per_year.loc[2015:2019].sum()


# --- text -----------------------------------------------------------------------------------------


def test_no_text_is_empty_or_over_280_characters(corpus: pd.DataFrame) -> None:
    lengths = corpus["text"].str.len()
    assert lengths.min() >= 1 and lengths.max() <= 280
    assert (corpus["text"].str.strip() == corpus["text"]).all()
    assert (lengths <= 30).mean() > 0.25  # many short replies
    assert (lengths > 150).mean() > 0.05  # and some long tweets
    assert 30 <= lengths.median() <= 90


SHARES = {
    # quirk: (predicate on one row, lower bound, upper bound) on the default corpus
    "reply": (lambda row: row.is_reply, 0.60, 0.70),
    "link": (lambda row: "https://t.co/" in row.text, 0.06, 0.20),
    "link_only": (lambda row: bool(LINK.fullmatch(body(row.text))), 0.02, 0.08),
    "entity": (lambda row: bool(ENTITY.search(row.text)), 0.04, 0.20),
    "emoji": (lambda row: bool(EMOJI.search(row.text)), 0.10, 0.30),
    "non_english": (lambda row: row.lang not in ("en", "und"), 0.02, 0.08),
    "und": (lambda row: row.lang == "und", 0.07, 0.14),
    "one_word": (lambda row: is_one_word(row.text), 0.07, 0.20),
    "multi_line": (lambda row: "\n" in row.text, 0.03, 0.10),
    "quote": (lambda row: row.is_quote, 0.03, 0.08),
    "self_reply": (lambda row: row.text.startswith(f"@{SAMPLE_USERNAME} "), 0.01, 0.08),
    "accent": (lambda row: bool(re.search("[éèàüöäßñçãí]", row.text)), 0.01, 0.10),
    "dash": (lambda row: "—" in row.text or "–" in row.text, 0.01, 0.10),
    "curly_quote": (lambda row: bool(re.search("[’“”]", row.text)), 0.02, 0.15),
    "variation_selector": (lambda row: "\ufe0f" in row.text, 0.005, 0.08),
    "zero_width_joiner": (lambda row: "\u200d" in row.text, 0.002, 0.05),
}


@pytest.mark.parametrize("quirk", list(SHARES))
def test_share_of_each_quirk_is_within_bounds(corpus: pd.DataFrame, quirk: str) -> None:
    predicate, low, high = SHARES[quirk]
    share = sum(bool(predicate(row)) for row in corpus.itertuples()) / len(corpus)
    assert low <= share <= high, f"{quirk}: {share:.3f} not in [{low}, {high}]"


def test_replies_start_with_one_to_three_mentions(corpus: pd.DataFrame) -> None:
    starts_with_mention = corpus["text"].str.startswith("@")
    assert (starts_with_mention == corpus["is_reply"]).all()
    counts = corpus.loc[corpus["is_reply"], "text"].map(lambda t: LEADING_MENTIONS.match(t).group(0).count("@"))
    assert set(counts) == {1, 2, 3}
    assert (counts == 1).mean() > 0.6
    handles = corpus.loc[corpus["is_reply"], "text"].str.extract(r"^@(\w+)")[0]
    assert handles.str.fullmatch(r"[A-Za-z0-9_]{1,15}").all()
    assert 50 < handles.nunique() < 400  # a recurring crowd, not one handle and not all distinct


def test_links_and_entities_look_like_the_x_api(corpus: pd.DataFrame) -> None:
    text = corpus["text"]
    assert text.str.count("https://t.co/").sum() == text.map(lambda t: len(LINK.findall(t))).sum()
    mid_text = text.map(lambda t: any(m.end() < len(t) for m in LINK.finditer(t)))
    assert mid_text.sum() > 0  # links are sometimes followed by more text
    assert not text.str.contains("[<>]").any()  # "<" and ">" only as &lt; and &gt;
    assert (text.str.count("&") == text.str.count(ENTITY.pattern)).all()  # every "&" starts an entity
    for entity in ("&amp;", "&lt;", "&gt;"):
        assert text.str.contains(entity, regex=False).any(), entity


def test_languages_match_the_text(corpus: pd.DataFrame) -> None:
    assert set(corpus["lang"]) == {"en", "und", "de", "es", "fr", "ja"}
    und = corpus.loc[corpus["lang"] == "und", "text"].map(lambda t: LINK.sub("", body(t)))
    assert not und.map(lambda t: any(c.isalpha() for c in t)).any()  # und: emoji or links only
    japanese = corpus.loc[corpus["lang"] == "ja", "text"]
    assert japanese.str.contains("[\u3040-\u30ff]").all()


def test_text_is_varied_but_repetitive_enough_to_learn(corpus: pd.DataFrame) -> None:
    bodies = corpus["text"].map(body)
    assert bodies.nunique() > 0.4 * len(corpus)
    words = pd.Series(" ".join(bodies).split())
    assert 300 < words.nunique() < 5000


# --- counts ---------------------------------------------------------------------------------------


def test_counts_are_heavy_tailed_and_grow(corpus: pd.DataFrame) -> None:
    for column in ("likes", "retweets", "replies"):
        assert (corpus[column] >= 0).all(), column
    likes = corpus["likes"]
    assert likes.mean() > 2 * likes.median() and likes.max() > 50 * likes.median()
    median_by_year = likes.groupby(corpus["created_at"].dt.year).median()
    assert median_by_year.loc[2024:2026].min() > 5 * median_by_year.loc[2015:2016].max()
    by_kind = likes.groupby(corpus["is_reply"]).median()
    assert by_kind[True] < 0.3 * by_kind[False]
    assert corpus["retweets"].median() < likes.median() and corpus["replies"].median() < likes.median()


# --- scale ----------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_hundred_thousand_tweets_have_unique_ids() -> None:
    frame = generate_corpus(100_000, seed=11)
    assert len(frame) == 100_000
    assert frame["tweet_id"].is_unique and frame["tweet_id"].is_monotonic_increasing
    assert frame["text"].str.len().max() <= 280


def test_the_default_corpus_is_written_by_the_invented_account() -> None:
    frame = generate_corpus(200, seed=2)
    assert set(frame["username"]) == {SAMPLE_USERNAME}
    assert not frame["text"].str.contains("elonmusk", case=False).any()
