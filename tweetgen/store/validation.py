"""Validation run before every write: schema, keys, UTC timestamps and per-group rules.

``validate`` turns a pandas frame into an Arrow table with exactly the group's schema, or raises
``ValidationError`` with one sentence naming the group, the column and the first bad row.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd
import pyarrow as pa

from tweetgen.errors import ValidationError
from tweetgen.schema import (
    ARMS,
    FAMILY_PATTERN,
    MAX_TEXT_CHARS,
    MAX_TWEET_CHARS,
    RUN_STATUSES,
    RUNNERS,
    SOURCES,
    GroupSpec,
)


def validate(spec: GroupSpec, frame: pd.DataFrame) -> pa.Table:
    """Check ``frame`` against ``spec`` and return it as an Arrow table of ``spec.schema``."""
    where = f"feature group '{spec.name}' v{spec.version}"
    _check_columns(spec, frame, where)
    for field in spec.schema:
        if pa.types.is_timestamp(field.type):
            _check_utc(frame[field.name], field.name, where)
    try:
        table = pa.Table.from_pandas(frame[spec.columns], schema=spec.schema, preserve_index=False, safe=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError) as error:
        raise ValidationError(f"{where}: a column has the wrong type ({error}); fix the source data.") from None
    _check_keys(spec, frame, where)
    for check in EXTRA_CHECKS.get(spec.name, ()):
        check(frame, where)
    return table


def _check_columns(spec: GroupSpec, frame: pd.DataFrame, where: str) -> None:
    missing = [c for c in spec.columns if c not in frame.columns]
    extra = [c for c in frame.columns if c not in spec.columns]
    if missing or extra:
        raise ValidationError(
            f"{where}: columns do not match the contract (missing {missing or 'none'}, unexpected {extra or 'none'})."
        )


def _check_utc(column: pd.Series, name: str, where: str) -> None:
    tz = getattr(column.dtype, "tz", None)
    if tz is None or str(tz) not in ("UTC", "utc"):
        raise ValidationError(f"{where}: column '{name}' must hold UTC-aware timestamps, not {column.dtype}.")
    _first_null(column, name, where)


def _check_keys(spec: GroupSpec, frame: pd.DataFrame, where: str) -> None:
    for key in spec.primary_key:
        _first_null(frame[key], key, where)
    keys = list(spec.primary_key)
    _refuse(
        frame.duplicated(keys, keep="first"), where,
        lambda row: f"primary key {frame.iloc[row][keys].to_dict()} appears more than once (row {row}); "
        "drop duplicates before inserting.",
    )


def _first_null(column: pd.Series, name: str, where: str) -> None:
    _refuse(column.isna(), where, lambda row: f"column '{name}' is empty in row {row}; every row needs one.")


def _refuse(bad: pd.Series, where: str, problem: Callable[[int], str]) -> None:
    """Raise ``ValidationError`` for the first row where ``bad`` holds, described by ``problem(row)``."""
    rows = bad.to_numpy().nonzero()[0]
    if len(rows):
        raise ValidationError(f"{where}: {problem(int(rows[0]))}")


def _check_tweets(frame: pd.DataFrame, where: str) -> None:
    if frame.empty:
        return
    _first_null(frame["text"], "text", where)
    _first_null(frame["clean_text"], "clean_text", where)
    _refuse(
        frame["text"].str.len() > MAX_TEXT_CHARS, where,
        lambda row: f"'text' in row {row} is longer than {MAX_TEXT_CHARS:,} characters.",
    )
    _refuse(
        ~frame["source"].isin(SOURCES), where,
        lambda row: f"'source' in row {row} is {frame['source'].iloc[row]!r}, not one of {SOURCES}.",
    )
    for column in ("likes", "retweets", "replies", "n_chars", "n_words"):
        _refuse(frame[column] < 0, where, lambda row, column=column: f"'{column}' in row {row} is negative.")


def _check_held_out(frame: pd.DataFrame, where: str) -> None:
    if frame.empty:
        return
    _first_null(frame["text"], "text", where)
    for column in ("likes", "retweets", "replies"):
        _refuse(frame[column] < 0, where, lambda row, column=column: f"'{column}' in row {row} is negative.")


def _check_generated(frame: pd.DataFrame, where: str) -> None:
    if frame.empty:
        return
    _refuse(
        ~frame["arm"].isin(ARMS), where,
        lambda row: f"'arm' in row {row} is {frame['arm'].iloc[row]!r}, not one of {ARMS}.",
    )
    _first_null(frame["model_family"], "model_family", where)
    _refuse(
        ~frame["model_family"].str.fullmatch(FAMILY_PATTERN), where,
        lambda row: f"'model_family' in row {row} is {frame['model_family'].iloc[row]!r}, not a family name such as lstm or gpt2.",
    )
    for column in ("prompted_text", "random_text"):
        _first_null(frame[column], column, where)
        _refuse(
            frame[column].str.len() > MAX_TWEET_CHARS, where,
            lambda row, column=column: f"'{column}' in row {row} is longer than a tweet ({MAX_TWEET_CHARS} characters).",
        )


def _check_job_runs(frame: pd.DataFrame, where: str) -> None:
    if frame.empty:
        return
    for column, allowed in (("status", RUN_STATUSES), ("runner", RUNNERS)):
        _refuse(
            ~frame[column].isin(allowed), where,
            lambda row, column=column, allowed=allowed: f"'{column}' in row {row} is {frame[column].iloc[row]!r}, not one of {allowed}.",
        )
    _refuse(frame["ended_at"] < frame["started_at"], where, lambda row: f"'ended_at' in row {row} is before 'started_at'.")
    _refuse(
        ~frame["counts"].map(_is_count_object), where,
        lambda row: f"'counts' in row {row} is not a JSON object of integers: {frame['counts'].iloc[row]!r}.",
    )
    negative = frame["counts"].map(_negative_counts)
    _refuse(
        negative.map(bool), where,
        lambda row: f"'counts' in row {row} holds a negative count ({negative.iloc[row][0]}); a count is 0 or more.",
    )
    failed_without_error = (frame["status"] == "failed") & (frame["error"].fillna("").str.strip() == "")
    _refuse(failed_without_error, where, lambda row: f"row {row} is a failed run without an error sentence.")


def _is_count_object(text: object) -> bool:
    """Whether ``text`` is a JSON object whose values are all integers (not booleans)."""
    try:
        value = json.loads(str(text))
    except ValueError:
        return False
    return isinstance(value, dict) and all(type(v) is int for v in value.values())


def _negative_counts(text: object) -> list[str]:
    """The ``"name": value`` pairs of a count object (``_is_count_object``) whose value is below 0."""
    return [f"{json.dumps(name)}: {value}" for name, value in json.loads(str(text)).items() if value < 0]


EXTRA_CHECKS: dict[str, tuple[Callable[[pd.DataFrame, str], None], ...]] = {
    "tweets": (_check_tweets,),
    "held_out_tweets": (_check_held_out,),
    "generated_tweets": (_check_generated,),
    "job_runs": (_check_job_runs,),
}
