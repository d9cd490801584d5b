"""Data contracts of the feature groups, in one place.

A ``GroupSpec`` names a feature group, its version, its primary key, its event time and the Arrow
schema every write must match. Names and descriptions follow the Hopsworks backend's rules
(``FeaturestoreConstants``: ``FEATURESTORE_REGEX``, ``FEATURESTORE_ENTITY_DESCRIPTION_MAX_LENGTH``):
a name is 1-63 characters of ``[a-z0-9_]`` starting with a letter, a description at most 256
characters. A spec that breaks them fails when it is defined, not on the first cloud write.
Timestamps are UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

NAME_PATTERN = re.compile(r"^(?=.{1,63}$)[a-z][a-z0-9_]*$")
DESCRIPTION_MAX_CHARS = 256  # feature groups, feature views and training datasets
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
                raise ValueError(
                    f"{name!r} is not a valid feature group or feature name (1-63 of [a-z0-9_], starting with a letter)."
                )
        if len(self.description) > DESCRIPTION_MAX_CHARS:
            raise ValueError(
                f"{self.name}: the description has {len(self.description)} characters; Hopsworks accepts at most "
                f"{DESCRIPTION_MAX_CHARS}."
            )
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
            # Measures: bits per character of the real tweet under the model, lengths, the longest
            # run of words copied from training tweets, VADER sentiment.
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
    # What Hopsworks shows (at most 256 characters); the columns are explained above and in README.
    description=(
        "Monitor group: one row per batch inference run and model arm: the newest real tweet, its "
        "two-word prompt, a prompt-seeded and a random generation, model version, sampling settings "
        "and quality measures. Key (tweet_id, model_name, model_version)."
    ),
    filled_by="python batch_inference.py",
)
ARMS = ("champion", "challenger")

#: Every feature group the project defines, by name (``query`` exposes them as SQL tables).
GROUPS: dict[str, GroupSpec] = {spec.name: spec for spec in (TWEETS, GENERATED_TWEETS)}
