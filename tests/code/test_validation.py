from datetime import UTC, datetime

import pandas as pd
import pytest

from tweetgen.errors import ValidationError
from tweetgen.features import build_tweet_features
from tweetgen.schema import TWEETS
from tweetgen.store.validation import validate


def tweets_frame(n: int = 3) -> pd.DataFrame:
    raw = pd.DataFrame(
        {
            "tweet_id": pd.Series(range(100, 100 + n), dtype="int64"),
            "created_at": pd.Series(pd.date_range("2022-05-01", periods=n, freq="D", tz="UTC"), dtype="datetime64[us, UTC]"),
            "text": [f"Tweet number {i} 🚀" for i in range(n)],
            "username": "someone",
            "is_reply": False,
            "is_quote": False,
            "lang": "en",
            "likes": pd.Series([10] * n, dtype="int64"),
            "retweets": pd.Series([1] * n, dtype="int64"),
            "replies": pd.Series([2] * n, dtype="int64"),
        }
    )
    return build_tweet_features(raw, "history", datetime(2026, 1, 1, tzinfo=UTC))


def test_valid_frame_becomes_a_table_of_the_contract() -> None:
    table = validate(TWEETS, tweets_frame())
    assert table.schema.equals(TWEETS.schema, check_metadata=False)
    assert table.column("tweet_id").to_pylist() == [100, 101, 102]


def test_missing_and_extra_columns_are_named() -> None:
    frame = tweets_frame().drop(columns=["lang"]).assign(colour="red")
    with pytest.raises(ValidationError, match=r"missing \['lang'\], unexpected \['colour'\]"):
        validate(TWEETS, frame)


def test_naive_timestamps_are_refused() -> None:
    frame = tweets_frame()
    frame["created_at"] = frame["created_at"].dt.tz_localize(None)
    with pytest.raises(ValidationError, match="'created_at' must hold UTC-aware timestamps"):
        validate(TWEETS, frame)


def test_other_time_zones_are_refused() -> None:
    frame = tweets_frame()
    frame["created_at"] = frame["created_at"].dt.tz_convert("Asia/Dubai")
    with pytest.raises(ValidationError, match="UTC-aware"):
        validate(TWEETS, frame)


def test_duplicate_key_names_the_row() -> None:
    frame = tweets_frame()
    frame.loc[2, "tweet_id"] = 100
    with pytest.raises(ValidationError, match=r"\{'tweet_id': 100\} appears more than once \(row 2\)"):
        validate(TWEETS, frame)


def test_empty_id_is_refused() -> None:
    frame = tweets_frame()
    frame["tweet_id"] = frame["tweet_id"].astype("Int64")
    frame.loc[1, "tweet_id"] = pd.NA
    with pytest.raises(ValidationError, match="'tweet_id' is empty in row 1"):
        validate(TWEETS, frame)


def test_wrong_type_is_refused() -> None:
    frame = tweets_frame()
    frame["likes"] = ["many", "few", "none"]
    with pytest.raises(ValidationError, match="wrong type"):
        validate(TWEETS, frame)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("text", "x" * 25_001, "longer than 25,000"),
        ("source", "rumour", "'source' in row 0 is 'rumour'"),
        ("likes", -1, "'likes' in row 0 is negative"),
    ],
)
def test_tweet_rules(column: str, value: object, message: str) -> None:
    frame = tweets_frame()
    frame.loc[0, column] = value
    with pytest.raises(ValidationError, match=message):
        validate(TWEETS, frame)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("arm", "canary", "'arm' in row 1 is 'canary', not one of"),
        ("random_text", "x" * 281, "'random_text' in row 1 is longer than a tweet \\(280 characters\\)"),
    ],
)
def test_monitor_rules(column: str, value: object, message: str) -> None:
    from tests.fakes.monitor_rows import monitor_frame
    from tweetgen.schema import GENERATED_TWEETS

    frame = monitor_frame(n_runs=2)
    validate(GENERATED_TWEETS, frame)  # valid as made
    frame.loc[1, column] = value
    with pytest.raises(ValidationError, match=message):
        validate(GENERATED_TWEETS, frame)


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_a_tweets_text_holds_up_to_max_text_chars(extra: int) -> None:
    from tweetgen.schema import MAX_TEXT_CHARS

    frame = tweets_frame()
    frame.loc[2, "text"] = "é" * (MAX_TEXT_CHARS + extra)  # characters, not bytes
    if extra <= 0:
        assert validate(TWEETS, frame).column("text")[2].as_py() == "é" * (MAX_TEXT_CHARS + extra)
    else:
        with pytest.raises(ValidationError, match=f"'text' in row 2 is longer than {MAX_TEXT_CHARS:,} characters"):
            validate(TWEETS, frame)


@pytest.mark.parametrize("column", ["likes", "retweets", "replies", "n_chars", "n_words"])
@pytest.mark.parametrize("value", [-1, 0, 1])
def test_a_count_is_never_negative_and_zero_is_a_count(column: str, value: int) -> None:
    frame = tweets_frame()
    frame.loc[1, column] = value
    if value < 0:
        with pytest.raises(ValidationError, match=f"'{column}' in row 1 is negative"):
            validate(TWEETS, frame)
    else:
        assert validate(TWEETS, frame).column(column)[1].as_py() == value


@pytest.mark.parametrize("column", ["prompted_text", "random_text"])
@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_a_generated_text_holds_up_to_a_tweet(column: str, extra: int) -> None:
    from tests.fakes.monitor_rows import monitor_frame
    from tweetgen.schema import GENERATED_TWEETS, MAX_TWEET_CHARS

    frame = monitor_frame(n_runs=2)
    frame.loc[0, column] = "🚀" * (MAX_TWEET_CHARS + extra)
    if extra <= 0:
        assert len(validate(GENERATED_TWEETS, frame).column(column)[0].as_py()) == MAX_TWEET_CHARS + extra
    else:
        with pytest.raises(ValidationError, match=f"'{column}' in row 0 is longer than a tweet \\({MAX_TWEET_CHARS} characters\\)"):
            validate(GENERATED_TWEETS, frame)


@pytest.mark.parametrize(("ended_after", "ok"), [(pd.Timedelta(0), True), (pd.Timedelta(microseconds=1), True),
                                                 (pd.Timedelta(microseconds=-1), False)])
def test_a_run_ends_at_or_after_its_start(ended_after: pd.Timedelta, ok: bool) -> None:
    from tweetgen.pipelines.runs import JobRun
    from tweetgen.schema import JOB_RUNS

    start = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    frame = JobRun("scrape", "scrape-1", "local", start, start + ended_after, "ok", {"inserted": 4}).frame()
    if ok:
        assert validate(JOB_RUNS, frame).num_rows == 1
    else:
        with pytest.raises(ValidationError, match="'ended_at' in row 0 is before 'started_at'"):
            validate(JOB_RUNS, frame)


@pytest.mark.parametrize(("counts", "ok"), [
    ('{}', True), ('{"inserted": 4}', True), ('{"inserted": 0, "rejected": 0}', True), ('{"n": 12345678901234567890}', True),
    ('{"inserted": 4.0}', False), ('{"inserted": true}', False), ('{"inserted": "4"}', False), ('{"inserted": null}', False),
    ('[4]', False), ('4', False), ('null', False), ('', False), ('{"inserted": 4', False), ("{'inserted': 4}", False),
])
def test_counts_are_a_json_object_of_integers_only(counts: str, ok: bool) -> None:
    from tweetgen.pipelines.runs import JobRun
    from tweetgen.schema import JOB_RUNS

    start = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    frame = JobRun("scrape", "scrape-1", "local", start, start, "ok").frame().assign(counts=counts)
    if ok:
        assert validate(JOB_RUNS, frame).column("counts")[0].as_py() == counts
    else:
        with pytest.raises(ValidationError, match="'counts' in row 0 is not a JSON object of integers"):
            validate(JOB_RUNS, frame)


@pytest.mark.parametrize(("counts", "refused"), [
    ('{"inserted": 0}', None), ('{"inserted": -1}', '"inserted": -1'), ('{"inserted": 9223372036854775807}', None),
    ('{"inserted": 4, "rejected": -12345678901234567890, "held_out": -2}', '"rejected": -12345678901234567890'),
])
def test_a_count_is_0_or_more_however_large(counts: str, refused: str | None) -> None:
    from tweetgen.pipelines.runs import JobRun
    from tweetgen.schema import JOB_RUNS

    start = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    frame = JobRun("scrape", "scrape-1", "local", start, start, "ok").frame().assign(counts=counts)
    if refused is None:
        assert validate(JOB_RUNS, frame).column("counts")[0].as_py() == counts
    else:
        with pytest.raises(ValidationError) as error:
            validate(JOB_RUNS, frame)
        assert str(error.value) == f"feature group 'job_runs' v1: 'counts' in row 0 holds a negative count ({refused}); a count is 0 or more."


@pytest.mark.parametrize(("status", "error", "ok"), [("failed", "It broke.", True), ("failed", "", False), ("failed", " \n", False),
                                                     ("ok", "", True), ("running", "", False), ("OK", "", False)])
def test_a_failed_run_has_an_error_sentence_and_statuses_are_exact(status: str, error: str, ok: bool) -> None:
    from tweetgen.pipelines.runs import JobRun
    from tweetgen.schema import JOB_RUNS

    start = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    frame = JobRun("scrape", "scrape-1", "local", start, start, "ok").frame().assign(status=status, error=error)
    if ok:
        assert validate(JOB_RUNS, frame).num_rows == 1
    else:
        with pytest.raises(ValidationError, match="row 0 is a failed run without an error sentence|'status' in row 0 is"):
            validate(JOB_RUNS, frame)


def held_out_frame(n: int = 3) -> pd.DataFrame:
    """Valid ``held_out_tweets`` rows: the raw columns and when they were held back."""
    raw = tweets_frame(n)[["tweet_id", "created_at", "text", "username", "is_reply", "is_quote", "lang", "likes", "retweets", "replies"]]
    return raw.assign(ingested_at=pd.Timestamp("2026-01-01", tz="UTC"))


def generated_frame() -> pd.DataFrame:
    from tests.fakes.monitor_rows import monitor_frame

    return monitor_frame(n_runs=2)


def job_runs_frame() -> pd.DataFrame:
    from tweetgen.pipelines.runs import JobRun

    start = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    return JobRun("scrape", "scrape-1", "local", start, start, "ok", {"inserted": 4}).frame()


def _set(column: str, row: int, value: object):
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame[column] = frame[column].astype(object) if value is None else frame[column]
        frame.loc[row, column] = value
        return frame

    return change


def _failed_without_error(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(status="failed", error=pd.Series([None], dtype=object))


@pytest.mark.parametrize(("group", "make", "change", "sentence"), [
    ("tweets", tweets_frame, _set("text", 1, None), "column 'text' is empty in row 1; every row needs one."),
    ("tweets", tweets_frame, _set("clean_text", 2, None), "column 'clean_text' is empty in row 2; every row needs one."),
    ("tweets", tweets_frame, _set("text", 0, "x" * 25_001), "'text' in row 0 is longer than 25,000 characters."),
    ("tweets", tweets_frame, _set("source", 0, "rumour"), "'source' in row 0 is 'rumour', not one of ('history', 'live')."),
    ("tweets", tweets_frame, _set("n_words", 2, -1), "'n_words' in row 2 is negative."),
    ("tweets", tweets_frame, _set("created_at", 1, pd.NaT), "column 'created_at' is empty in row 1; every row needs one."),
    ("tweets", tweets_frame, _set("tweet_id", 2, 100), "primary key {'tweet_id': 100} appears more than once (row 2); "
                                                       "drop duplicates before inserting."),
    ("generated_tweets", generated_frame, _set("model_name", 1, None), "column 'model_name' is empty in row 1; every row needs one."),
    ("job_runs", job_runs_frame, _failed_without_error, "row 0 is a failed run without an error sentence."),
    ("held_out_tweets", held_out_frame, _set("text", 2, None), "column 'text' is empty in row 2; every row needs one."),
    ("held_out_tweets", held_out_frame, _set("likes", 1, -1), "'likes' in row 1 is negative."),
    ("held_out_tweets", held_out_frame, _set("retweets", 0, -1), "'retweets' in row 0 is negative."),
    ("held_out_tweets", held_out_frame, _set("replies", 2, -1), "'replies' in row 2 is negative."),
    ("generated_tweets", generated_frame, _set("arm", 1, "canary"), "'arm' in row 1 is 'canary', not one of ('champion', 'challenger')."),
    ("generated_tweets", generated_frame, _set("model_family", 0, None), "column 'model_family' is empty in row 0; every row needs one."),
    ("generated_tweets", generated_frame, _set("model_family", 1, "GPT 2"),
     "'model_family' in row 1 is 'GPT 2', not a family name such as lstm or gpt2."),
    ("generated_tweets", generated_frame, _set("prompted_text", 1, None), "column 'prompted_text' is empty in row 1; every row needs one."),
    ("generated_tweets", generated_frame, _set("random_text", 0, None), "column 'random_text' is empty in row 0; every row needs one."),
    ("generated_tweets", generated_frame, _set("prompted_text", 1, "x" * 281),
     "'prompted_text' in row 1 is longer than a tweet (280 characters)."),
    ("job_runs", job_runs_frame, _set("status", 0, "done"), "'status' in row 0 is 'done', not one of ('ok', 'failed')."),
    ("job_runs", job_runs_frame, _set("runner", 0, "cron"), "'runner' in row 0 is 'cron', not one of ('local', 'scheduler', 'modal')."),
    ("job_runs", job_runs_frame, _set("counts", 0, "[1]"), "'counts' in row 0 is not a JSON object of integers: '[1]'."),
    ("job_runs", job_runs_frame, _set("ended_at", 0, pd.Timestamp("2026-03-01 05:59:59.999999", tz="UTC")),
     "'ended_at' in row 0 is before 'started_at'."),
])
def test_each_rule_of_a_group_refuses_with_its_exact_sentence(group: str, make, change, sentence: str) -> None:
    from tweetgen.schema import GROUPS

    spec, frame = GROUPS[group], make()
    assert validate(spec, frame).num_rows == len(frame)  # valid as made
    with pytest.raises(ValidationError) as refused:
        validate(spec, change(frame))
    assert str(refused.value) == f"feature group '{spec.name}' v{spec.version}: {sentence}"


@pytest.mark.parametrize("column", ["likes", "retweets", "replies"])
def test_a_held_out_tweet_may_have_no_likes_retweets_or_replies(column: str) -> None:
    from tweetgen.schema import HELD_OUT_TWEETS

    frame = held_out_frame().assign(**{column: 0})
    assert validate(HELD_OUT_TWEETS, frame).column(column).to_pylist() == [0, 0, 0]


@pytest.mark.parametrize(("drop", "add", "says"), [
    (["lang"], [], "missing ['lang'], unexpected none"),
    ([], ["colour"], "missing none, unexpected ['colour']"),
    (["lang", "likes"], ["colour"], "missing ['lang', 'likes'], unexpected ['colour']"),
])
def test_columns_that_do_not_match_are_named_exactly(drop: list[str], add: list[str], says: str) -> None:
    frame = tweets_frame().drop(columns=drop).assign(**{name: "x" for name in add})
    with pytest.raises(ValidationError) as refused:
        validate(TWEETS, frame)
    assert str(refused.value) == f"feature group 'tweets' v1: columns do not match the contract ({says})."


def test_a_naive_time_is_refused_with_its_exact_sentence() -> None:
    frame = tweets_frame()
    frame["created_at"] = frame["created_at"].dt.tz_localize(None)
    with pytest.raises(ValidationError) as refused:
        validate(TWEETS, frame)
    assert str(refused.value) == "feature group 'tweets' v1: column 'created_at' must hold UTC-aware timestamps, not datetime64[us]."


def test_a_lossy_number_is_refused_not_truncated() -> None:
    frame = tweets_frame().astype({"likes": "float64"})
    assert validate(TWEETS, frame).column("likes").to_pylist() == [10, 10, 10]  # whole numbers convert
    frame.loc[1, "likes"] = 10.5
    with pytest.raises(ValidationError, match=r"^feature group 'tweets' v1: a column has the wrong type \(.*\); fix the source data\.$"):
        validate(TWEETS, frame)


def test_the_frames_index_never_becomes_a_column() -> None:
    table = validate(TWEETS, tweets_frame().set_axis([10, 20, 30]))
    assert table.schema.names == TWEETS.schema.names and table.column("tweet_id").to_pylist() == [100, 101, 102]


def test_a_group_without_extra_rules_is_checked_for_its_contract_only() -> None:
    from tweetgen.schema import X_CURSOR

    row = {"username": "a", "seq": 1, "user_id": 1, "since_id": 0, "until_id": 0, "recorded_at": pd.Timestamp("2026-01-01", tz="UTC")}
    frame = pd.DataFrame([row]).astype({"recorded_at": "datetime64[us, UTC]"})
    assert validate(X_CURSOR, frame).to_pylist() == [row]
