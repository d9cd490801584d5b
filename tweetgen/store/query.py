"""SQL over the feature groups with DuckDB.

Each feature group named in the query is exposed as a table under its name (``tweets``) and
under its name and version (``tweets_v1``). On the local backend DuckDB scans the Delta tables
through Arrow datasets, so only the columns and rows a query needs are read; on Hopsworks the
group is read first, then DuckDB filters it in memory.

A query sees the feature groups and nothing else: once they are registered, the connection
switches external access off and locks its configuration, so no statement can read or write a
file (``read_text``, ``COPY ... TO``, ``ATTACH``), install or load an extension, or turn access
back on. The text table escapes control characters, so a tweet cannot send escape sequences to
the terminal that prints it.

A query is bounded: DuckDB may use at most ``memory_mb`` of memory (it spills nothing to disk)
and the result, fetched in chunks, may not grow past it either; a query still running after
``timeout_s`` is interrupted. Each bound that is hit is refused with one sentence naming the
setting that raises it (``TWEETGEN_QUERY_MEMORY_MB``, ``TWEETGEN_QUERY_TIMEOUT_S``).
"""

from __future__ import annotations

import io
import re
import threading

import duckdb
import pandas as pd

from tweetgen.errors import TweetgenError
from tweetgen.schema import GROUPS, GroupSpec
from tweetgen.store.port import FeatureStore, GroupNotFoundError

FORMATS = ("table", "csv", "json")
QUERY_MEMORY_MB = 1024  # TWEETGEN_QUERY_MEMORY_MB: what DuckDB and the result may take
QUERY_TIMEOUT_S = 60.0  # TWEETGEN_QUERY_TIMEOUT_S
FETCH_VECTORS = 64  # result chunks of 64 x 2,048 rows

# Ready-made questions about the monitor group (the same SQL runs on both backends). A row's time is
# its run's (generated_at); the tweet it answered has its own (tweet_created_at), shown next to it.
# A run of the daily job writes one row per arm (champion, challenger), all with the run's
# generated_at: the last N runs are the rows of the N newest generated_at values.
LAST_RUNS_SQL = """
SELECT generated_at, tweet_created_at AS answered_tweet_at, model_version, model_family AS family, arm, tweet_clean_text AS real_tweet, prompt, prompted_text, random_text,
       round(real_bits_per_char, 3) AS real_bpc
FROM generated_tweets
WHERE generated_at IN (SELECT DISTINCT generated_at FROM generated_tweets ORDER BY generated_at DESC LIMIT {n})
ORDER BY generated_at DESC, arm <> 'champion', family, model_version
"""
# The A/B test of the model families: per family, arm and version, what its runs measured, in
# the order the versions first ran (so the families can be followed over time).
ARMS_SQL = """
SELECT model_family AS family, arm, model_version, count(*) AS runs,
       min(generated_at) AS first_run, max(generated_at) AS last_run,
       round(avg(real_bits_per_char), 3) AS real_bpc,
       round(avg(prompted_copy_words), 1) AS prompted_copy_words, round(avg(random_copy_words), 1) AS random_copy_words,
       round(avg(random_chars), 0) AS random_chars, round(avg(abs(prompted_sentiment - real_sentiment)), 3) AS sentiment_gap
FROM generated_tweets GROUP BY model_family, arm, model_version ORDER BY first_run, family, model_version
"""
# How the measures moved, per day (of the run, UTC) and model family: the real tweets' bits per
# character under the model and its change from the family's previous day, and the generations'
# lengths, copied words and sentiment next to the real tweets'.
DRIFT_SQL = """
SELECT CAST(generated_at AT TIME ZONE 'UTC' AS DATE) AS day, model_family AS family, count(*) AS runs,
       round(avg(real_bits_per_char), 3) AS real_bpc,
       round(avg(real_bits_per_char) - lag(avg(real_bits_per_char)) OVER (PARTITION BY model_family ORDER BY day), 3) AS real_bpc_change,
       round(avg(real_chars), 0) AS real_chars, round(avg(prompted_chars), 0) AS prompted_chars, round(avg(random_chars), 0) AS random_chars,
       round(avg(prompted_copy_words), 1) AS prompted_copy_words, round(avg(random_copy_words), 1) AS random_copy_words,
       round(avg(real_sentiment), 3) AS real_sentiment, round(avg(prompted_sentiment), 3) AS prompted_sentiment,
       round(avg(random_sentiment), 3) AS random_sentiment
FROM generated_tweets GROUP BY day, family ORDER BY day, family
"""
MAX_CELL_CHARS = 60
# What a terminal acts on instead of printing: C0 and C1 controls (ESC starts CSI/OSC sequences,
# BEL ends OSC ones, 0x9b and 0x9d are their 8-bit forms) and DEL; and the bidirectional
# overrides and isolates, which reorder what is shown around them.
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def run_query(
    store: FeatureStore, sql: str, memory_mb: int = QUERY_MEMORY_MB, timeout_s: float = QUERY_TIMEOUT_S
) -> pd.DataFrame:
    """Run ``sql`` over the feature groups it names and return the result.

    Args:
        memory_mb: the most memory the query and its result may take.
        timeout_s: the longest the query may run (its result's fetching included).

    Raises:
        GroupNotFoundError: the query names a group that has never been written.
        TweetgenError: the SQL is invalid (DuckDB's message, one line), or a bound was hit.
    """
    # No spilling to disk either: a query too large for memory fails as such, not as a file access.
    connection = duckdb.connect(
        config={"python_enable_replacements": False, "temp_directory": "", "memory_limit": f"{int(memory_mb)}MB"}
    )
    timer = threading.Timer(timeout_s, connection.interrupt)
    timer.daemon = True
    try:
        for alias, spec in _referenced_groups(sql).items():
            if not store.exists(spec):
                raise GroupNotFoundError(spec, store.where)
            connection.register(alias, store.scan(spec))
        _seal(connection)
        timer.start()
        return _fetch_within(connection.execute(sql), memory_mb)
    except duckdb.InterruptException:
        raise TweetgenError(
            f"The query ran longer than {timeout_s:g} s and was stopped; narrow it (a WHERE, a LIMIT), "
            "or raise TWEETGEN_QUERY_TIMEOUT_S."
        ) from None
    except duckdb.OutOfMemoryException:
        raise TweetgenError(_too_big(memory_mb)) from None
    except duckdb.CatalogException as error:
        raise TweetgenError(_unknown_name(error)) from None
    except duckdb.PermissionException:
        raise TweetgenError(
            f"The query tried to reach outside the feature groups; queries may only read {', '.join(GROUPS)}."
        ) from None
    except duckdb.Error as error:
        if _is_locked_setting(error):
            raise TweetgenError("The query tried to change a setting; queries may only read the feature groups.") from None
        first_line = escape_controls(str(error).strip().splitlines()[0])
        raise TweetgenError(f"The query failed: {first_line}") from None
    finally:
        timer.cancel()
        connection.close()


def _fetch_within(result: duckdb.DuckDBPyConnection, memory_mb: int) -> pd.DataFrame:
    """The whole result as one frame, fetched in chunks; refused once it passes ``memory_mb``."""
    chunks, size = [], 0
    while True:
        chunk = result.fetch_df_chunk(FETCH_VECTORS)
        if chunks and chunk.empty:
            break
        size += int(chunk.memory_usage(index=False, deep=True).sum())
        if size > memory_mb * 2**20:
            raise TweetgenError(_too_big(memory_mb))
        chunks.append(chunk)
        if chunk.empty:
            break
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def _too_big(memory_mb: int) -> str:
    return (
        f"The query needed more than {memory_mb:,} MB of memory and was stopped; narrow it (fewer columns or rows, "
        "a LIMIT), or raise TWEETGEN_QUERY_MEMORY_MB."
    )


def _unknown_name(error: duckdb.CatalogException) -> str:
    """DuckDB's first line, and for a table it does not know, the tables a query can read."""
    message = str(error).splitlines()[0].removeprefix("Catalog Error: ").rstrip(".!")
    if "Table with name" not in message:
        return f"{message}."
    tables = ", ".join(f"{spec.name} (or {spec.name}_v{spec.version})" for spec in GROUPS.values())
    return f"{message}; the tables are {tables}."


def _seal(connection: duckdb.DuckDBPyConnection) -> None:
    """Switch off every way out of the registered groups (files, extensions, settings)."""
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")


def _is_locked_setting(error: duckdb.Error) -> bool:
    return isinstance(error, duckdb.InvalidInputException) and "configuration has been locked" in str(error)


def _referenced_groups(sql: str) -> dict[str, GroupSpec]:
    words = set(re.findall(r"[a-z_][a-z0-9_]*", sql.lower()))
    aliases: dict[str, GroupSpec] = {}
    for spec in GROUPS.values():
        for alias in (spec.name, f"{spec.name}_v{spec.version}"):
            if alias in words:
                aliases[alias] = spec
    return aliases


def format_result(frame: pd.DataFrame, fmt: str = "table") -> str:
    """Render a query result as an aligned text table, CSV or JSON (one object per row)."""
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        buffer = io.StringIO()
        frame.to_json(buffer, orient="records", date_format="iso", force_ascii=False, lines=True)
        return buffer.getvalue()
    if fmt != "table":
        raise TweetgenError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    frame = frame.rename(columns=lambda name: escape_controls(str(name)))
    if frame.empty:
        return "(no rows)\n" if len(frame.columns) else "(no result)\n"
    shown = frame.map(_short)
    return shown.to_string(index=False) + f"\n({len(frame):,} rows)\n"


def escape_controls(text: str) -> str:
    """``text`` with every character of ``CONTROLS`` written as a Python escape (ESC as ``\\x1b``)."""
    return CONTROLS.sub(lambda match: repr(match.group())[1:-1], text)


def _short(value: object) -> object:
    """A cell as the text table shows it: one line, control characters escaped, at most ``MAX_CELL_CHARS``."""
    if isinstance(value, str):
        value = escape_controls(value.replace("\n", " "))
        return value if len(value) <= MAX_CELL_CHARS else value[: MAX_CELL_CHARS - 1] + "…"
    return value
