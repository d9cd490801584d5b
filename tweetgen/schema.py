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
#: The invented account of the sample corpus (``tweetgen.sources.corpus``). A row with this username
#: is invented, never a real tweet: the app never shows it under a real account's name, and a group
#: never holds invented and real tweets together (``tweetgen.pipelines.provenance``).
SAMPLE_USERNAME = "tweetgen_sample"
SAMPLE_DISPLAY_NAME = "Sample Founder (invented)"
MAX_TEXT_CHARS = 25_000  # X long posts (what real tweets may hold)
MAX_TWEET_CHARS = 280  # a classic tweet: the bound on every generated text

HELD_OUT_TWEETS = GroupSpec(
    name="held_out_tweets",
    version=1,
    primary_key=("tweet_id",),
    event_time="created_at",
    schema=pa.schema([*RAW_SCHEMA, ("ingested_at", UTC_TIMESTAMP)]),
    description=(
        "The newest tweets of the history, held back at ingest: the replay releases them into tweets "
        "a few per run, oldest first, as if new. Raw columns as a source reads them. Primary key "
        "tweet_id, event time created_at (UTC)."
    ),
    filled_by="python feature_engineering.py",
)

GENERATED_TWEETS = GroupSpec(
    name="generated_tweets",
    version=2,  # 2 added model_family (the A/B test of model families); version 1's table is left as it was
    primary_key=("tweet_id", "model_name", "model_version"),
    event_time="generated_at",
    schema=pa.schema(
        [
            # The real tweet the run answered: the newest one when the job ran. Its time is its own
            # column: the row's time (event time) is the run's, generated_at.
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
            ("model_family", pa.string()),  # lstm, gpt2, ... (the version's card): arms compare families
            ("arm", pa.string()),  # champion, or challenger: the best version of another family
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
            # The run's time, shared by its arms: when the daily job ran, or for a row the demo
            # backfilled, the morning of the daily run it stands for (tweetgen.pipelines.demo).
            ("generated_at", UTC_TIMESTAMP),
        ]
    ),
    # What Hopsworks shows (at most 256 characters); the columns are explained above and in docs/data-contracts.md.
    description=(
        "Monitor group: one row per batch inference run and model arm (champion, best of another "
        "family): the newest real tweet, its two-word prompt, two generations, model version and "
        "family, sampling settings, measures. Key (tweet_id, model_name, model_version)."
    ),
    filled_by="python batch_inference.py",
)
ARMS = ("champion", "challenger")
FAMILY_PATTERN = r"[a-z][a-z0-9_]{0,62}"  # model_family: lstm, gpt2, or a pretrained model's type

JOB_RUNS = GroupSpec(
    name="job_runs",
    version=1,
    primary_key=("run_id",),
    event_time="started_at",
    schema=pa.schema(
        [
            ("run_id", pa.string()),  # "<job>-<start, UTC, to the second>-<6 hex digits>"
            ("job", pa.string()),  # features, scrape, train, inference, ...
            ("runner", pa.string()),  # RUNNERS: where it ran
            ("status", pa.string()),  # RUN_STATUSES
            ("started_at", UTC_TIMESTAMP),
            ("ended_at", UTC_TIMESTAMP),
            ("duration_s", pa.float64()),
            # What the job counted, as a JSON object of count name -> integer (0 or more), e.g.
            # {"rows_read": 4, "inserted": 4}: every job reports other counts, so one text
            # column keeps the contract stable when a job is added (DuckDB: counts->>'inserted').
            ("counts", pa.string()),
            ("error", pa.string()),  # the one-sentence error of a failed run; "" when ok
        ]
    ),
    description=(
        "One row per run of every job (features, scrape, train, inference): run_id (key), job, "
        "runner (local, scheduler, modal), status (ok, failed), start and end (UTC), counts as a "
        "JSON object of integers, and the error sentence of a failed run."
    ),
    filled_by="any job, e.g. python -m tweetgen scrape",
)
RUNNERS = ("local", "scheduler", "modal")
RUN_STATUSES = ("ok", "failed")
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
GROUPS: dict[str, GroupSpec] = {spec.name: spec for spec in (TWEETS, HELD_OUT_TWEETS, GENERATED_TWEETS, JOB_RUNS, X_CURSOR)}
