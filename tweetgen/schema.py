"""Data contracts of the feature groups, in one place.

A ``GroupSpec`` names a feature group, its version, its primary key, its event time and the Arrow
schema every write must match. Column names follow Hopsworks' rules: 1-63 characters of
``[a-z0-9_]`` with at least one letter. Timestamps are UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

NAME_PATTERN = re.compile(r"^(?=.*[a-z])[a-z0-9_]{1,63}$")
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class GroupSpec:
    """A feature group's contract: name, version, keys and schema."""

    name: str
    version: int
    primary_key: tuple[str, ...]
    event_time: str
    schema: pa.Schema
    description: str
    filled_by: str = ""  # the command that writes this group, for "does not exist yet" messages

    def __post_init__(self) -> None:
        for name in (self.name, *self.schema.names):
            if not NAME_PATTERN.match(name):
                raise ValueError(f"{name!r} is not a valid feature group or feature name ([a-z0-9_], 1-63).")
        missing = {*self.primary_key, self.event_time} - set(self.schema.names)
        if missing:
            raise ValueError(f"{self.name}: key columns {sorted(missing)} are not in the schema.")

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)


# Columns every tweet source produces, before features are derived.
RAW_SCHEMA = pa.schema(
    [
        ("tweet_id", pa.int64()),
        ("created_at", UTC_TIMESTAMP),
        ("text", pa.string()),
        ("username", pa.string()),
        ("is_reply", pa.bool_()),
        ("is_quote", pa.bool_()),
        ("lang", pa.string()),
        ("likes", pa.int64()),
        ("retweets", pa.int64()),
        ("replies", pa.int64()),
    ]
)
RAW_COLUMNS = list(RAW_SCHEMA.names)

TWEETS = GroupSpec(
    name="tweets",
    version=1,
    primary_key=("tweet_id",),
    event_time="created_at",
    schema=pa.schema(
        [
            *RAW_SCHEMA,
            ("clean_text", pa.string()),
            ("n_chars", pa.int64()),
            ("n_words", pa.int64()),
            ("source", pa.string()),
            ("ingested_at", UTC_TIMESTAMP),
        ]
    ),
    description=(
        "Tweets of one account: raw text, clean_text for training (entities decoded, links and "
        "leading reply mentions removed, emoji kept), counts and flags. Primary key tweet_id, "
        "event time created_at (UTC). source is 'history' or 'live'."
    ),
    filled_by="python feature_engineering.py",
)

SOURCES = ("history", "live")
MAX_TEXT_CHARS = 25_000  # X long posts (what real tweets may hold)
MAX_TWEET_CHARS = 280  # a classic tweet: the bound on every generated text

GENERATED_TWEETS = GroupSpec(
    name="generated_tweets",
    version=1,
    primary_key=("tweet_id", "model_name", "model_version"),
    event_time="generated_at",
    schema=pa.schema(
        [
            # The real tweet the run answered: the newest one when the job ran.
            ("tweet_id", pa.int64()),
            ("tweet_created_at", UTC_TIMESTAMP),
            ("tweet_text", pa.string()),
            ("tweet_clean_text", pa.string()),
            # Its first two words, and the two generations.
            ("prompt", pa.string()),
            ("prompted_text", pa.string()),
            ("random_text", pa.string()),
            # The model and how it sampled (enough to reproduce the row).
            ("model_name", pa.string()),
            ("model_version", pa.int64()),
            ("arm", pa.string()),
            ("seed", pa.int64()),
            ("temperature", pa.float64()),
            ("top_p", pa.float64()),
            ("max_new_tokens", pa.int64()),
            # Measures.
            ("real_bits_per_char", pa.float64()),
            ("real_chars", pa.int64()),
            ("prompted_chars", pa.int64()),
            ("random_chars", pa.int64()),
            ("prompted_copy_words", pa.int64()),
            ("random_copy_words", pa.int64()),
            ("real_sentiment", pa.float64()),
            ("prompted_sentiment", pa.float64()),
            ("random_sentiment", pa.float64()),
            ("generated_at", UTC_TIMESTAMP),
        ]
    ),
    description=(
        "Monitor group: one row per batch inference run and model arm. The newest real tweet, the "
        "prompt (its first two words), a prompt-seeded and a random generation, the model version "
        "and sampling settings, and measures (bits per character of the real tweet under the "
        "model, lengths, longest run of words copied from training tweets, VADER sentiment). "
        "Primary key (tweet_id, model_name, model_version): rerunning adds nothing."
    ),
    filled_by="python batch_inference.py",
)
ARMS = ("champion", "challenger")

X_CURSOR = GroupSpec(
    name="x_cursor",
    version=1,
    primary_key=("username", "seq"),
    event_time="recorded_at",
    schema=pa.schema(
        [
            ("username", pa.string()),
            ("seq", pa.int64()),  # 1, 2, 3, ... per account: the row with the largest is the state
            ("user_id", pa.int64()),  # the account's X user id: looked up once (a paid call), then kept here
            # Posts with since_id < id < until_id are unread (X's own exclusive bounds); 0, 0 when none are.
            ("since_id", pa.int64()),
            ("until_id", pa.int64()),
            ("recorded_at", UTC_TIMESTAMP),
        ]
    ),
    description=(
        "Where the X API source resumes, per account: its user id and the posts a capped run left "
        "unread (since_id < id < until_id; 0, 0 when none). Rows are only added; the one with the "
        "largest seq is the state."
    ),
    filled_by="python scrape_live.py --source x",
)


#: Every feature group the project defines, by name (``query`` exposes them as SQL tables).
GROUPS: dict[str, GroupSpec] = {spec.name: spec for spec in (TWEETS, GENERATED_TWEETS, X_CURSOR)}
