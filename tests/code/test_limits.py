"""Limits at their boundary: each one at the limit, one below and one above, and each check of a
setting with the variants a user may type (spaces, signs, Unicode digits and look-alike letters).

The limits of the app's requests, the query sandbox and the row checks are tested beside them
(tests/reliability/test_app_requests.py, test_query_sandbox.py, tests/code/test_validation.py).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from tests.fakes.frames import tweets_frame
from tweetgen.config import Settings
from tweetgen.errors import ConfigError, TweetgenError
from tweetgen.files import STALE_AFTER_S, remove_abandoned
from tweetgen.pipelines.training import MIN_TWEETS, read_tweet_texts
from tweetgen.schema import DESCRIPTION_MAX_CHARS, MAX_TEXT_CHARS, TWEETS, GroupSpec
from tweetgen.sources.replay import MAX_HOLDOUT_SHARE, REPLAY_HOLDOUT, holdout_size
from tweetgen.sources.screening import (
    CLOCK_SLACK,
    FIRST_TWEET_DAY,
    REJECT_ACCOUNT,
    REJECT_BEFORE_X,
    REJECT_FUTURE,
    REJECT_ID,
    REJECT_NEGATIVE,
    REJECT_TOO_LONG,
    screen_tweets,
)
from tweetgen.sources.x_api import check_username
from tweetgen.store.local import LocalFeatureStore


@pytest.mark.parametrize("name", ["TWEETGEN_SMTP_PORT", "GRADIO_SERVER_PORT"])
@pytest.mark.parametrize(("text", "port"), [
    ("1", 1), ("65535", 65535), (" 587 ", 587), ("0587", 587),  # in range, as typed
    ("0", None), ("65536", None), ("-1", None), ("+587", None), ("5e2", None), ("587.0", None),
    ("²", None), ("٥٨٧", None), ("５８７", None),  # Unicode digits: str.isdigit takes them, a port is ASCII
])
def test_a_port_is_1_to_65535_in_ascii_digits(name: str, text: str, port: int | None) -> None:
    mapping = {name: text} | ({"TWEETGEN_SMTP_HOST": "smtp.example.com", "TWEETGEN_NOTIFY_EMAIL": "a@example.com"}
                              if name == "TWEETGEN_SMTP_PORT" else {})
    if port is None:
        with pytest.raises(ConfigError, match=f"^{re.escape(name)} is '{re.escape(text.strip())}'; set it to a port number"):
            Settings.from_mapping(mapping)
    else:
        settings = Settings.from_mapping(mapping)
        assert (settings.smtp_port if name == "TWEETGEN_SMTP_PORT" else settings.server_port) == port


@pytest.mark.parametrize(("text", "user_id"), [
    ("1", 1), ("44196397", 44196397), ("9223372036854775807", 2**63 - 1),
    ("0", None), ("00", None), ("-1", None), ("²", None), ("٤٤١٩٦٣٩٧", None), ("elonmusk", None),
])
def test_x_user_id_is_a_positive_number_in_ascii_digits(text: str, user_id: int | None) -> None:
    if user_id is None:
        with pytest.raises(ConfigError, match=f"^X_USER_ID is '{re.escape(text)}'; set it to the account's numeric X user id"):
            Settings.from_mapping({"X_USER_ID": text})
    else:
        assert Settings.from_mapping({"X_USER_ID": text}).x_user_id == user_id


@pytest.mark.parametrize(("name", "ok"), [
    ("a", True), ("a" * 15, True), ("@" + "a" * 15, True), ("A_1" * 5, True),
    ("", False), ("@", False), ("a" * 16, False), ("a-b", False), ("a b", False),
    ("еlonmusk", False), ("ｅlonmusk", False), ("elonmusk\u200b", False),  # Cyrillic е, fullwidth ｅ, zero-width space
])
def test_an_x_username_is_1_to_15_ascii_letters_digits_or_underscores(name: str, ok: bool) -> None:
    if ok:
        assert check_username(name) == name.removeprefix("@").lower()
    else:
        with pytest.raises(ConfigError, match="which is not an X username"):
            check_username(name)


@pytest.mark.parametrize(("n_tweets", "held"), [
    (0, 0), (9, 0), (10, 1), (11, 1), (19, 1), (20, 2),
    (1999, 199), (2000, REPLAY_HOLDOUT), (2001, REPLAY_HOLDOUT), (10**6, REPLAY_HOLDOUT),
])
def test_the_holdout_is_a_tenth_of_the_history_up_to_its_size(n_tweets: int, held: int) -> None:
    assert MAX_HOLDOUT_SHARE == 0.1 and holdout_size(n_tweets) == held


@pytest.mark.parametrize("n_with_text", [MIN_TWEETS - 1, MIN_TWEETS, MIN_TWEETS + 1])
def test_training_needs_min_tweets_with_text_and_blank_ones_do_not_count(tmp_path: Path, n_with_text: int) -> None:
    store = LocalFeatureStore(tmp_path)
    ids = range(n_with_text + 3)
    store.insert(TWEETS, tweets_frame(ids, clean_text=[f"tweet {i}" if i < n_with_text else " \n" for i in ids]))
    if n_with_text < MIN_TWEETS:
        with pytest.raises(TweetgenError, match=f"at least {MIN_TWEETS} tweets with text, but 'tweets' in .* has {n_with_text} "
                                                r"\(3 empty after cleaning\)"):
            read_tweet_texts(store)
    else:
        kept, read, dropped, _ = read_tweet_texts(store)
        assert (len(kept), read, dropped) == (n_with_text, n_with_text + 3, 3)


@pytest.mark.parametrize("length", [DESCRIPTION_MAX_CHARS - 1, DESCRIPTION_MAX_CHARS, DESCRIPTION_MAX_CHARS + 1])
def test_a_group_description_holds_at_most_what_hopsworks_accepts(length: int) -> None:
    def spec() -> GroupSpec:
        return GroupSpec("g", 1, ("k",), "t", pa.schema([("k", pa.int64()), ("t", pa.timestamp("us", "UTC"))]), "d" * length)

    if length <= DESCRIPTION_MAX_CHARS:
        assert len(spec().description) == length
    else:
        with pytest.raises(ValueError, match=f"the description has {length} characters; Hopsworks accepts at most {DESCRIPTION_MAX_CHARS}"):
            spec()


@pytest.mark.parametrize(("age_s", "removed"), [(STALE_AFTER_S - 60, False), (STALE_AFTER_S + 60, True)])
def test_an_unlocked_scratch_folder_is_abandoned_only_past_its_age(tmp_path: Path, age_s: float, removed: bool) -> None:
    folder = tmp_path / ".incoming-x"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"half")
    then = time.time() - age_s  # a minute either side of the limit: the test's own run time cannot matter
    os.utime(folder, (then, then))
    assert remove_abandoned(tmp_path, ".incoming-") == ([folder] if removed else [])
    assert folder.exists() is not removed


@pytest.mark.parametrize(("url", "ok"), [
    ("https://hooks.slack.com/services/T0/B0/x", True), ("HTTPS://hooks.slack.com/x", True), ("http://127.0.0.1:8080/hook", True),
    ("  https://ntfy.sh/topic  ", True),  # as pasted, with spaces around
    ("hooks.slack.com/x", False), ("https:/hooks.slack.com/x", False), ("ftp://hooks.example.com/x", False),
    ("javascript:alert(1)", False), ("//hooks.example.com/x", False), ("ｈttps://hooks.example.com/x", False),
])
def test_the_webhook_is_an_http_or_https_url_in_any_case(url: str, ok: bool) -> None:
    if ok:
        assert Settings.from_mapping({"TWEETGEN_NOTIFY_WEBHOOK": url}).notify_webhook == url.strip()
    else:
        with pytest.raises(ConfigError, match="^TWEETGEN_NOTIFY_WEBHOOK is not an http\\(s\\) URL"):
            Settings.from_mapping({"TWEETGEN_NOTIFY_WEBHOOK": url})


NOW = pd.Timestamp("2026-03-01 15:00:00", tz="UTC")


def raw_rows(**column: list) -> pd.DataFrame:
    """Raw rows (``RAW_COLUMNS``) of @elonmusk, one per value of the given column."""
    n = len(next(iter(column.values())))
    frame = pd.DataFrame({
        "tweet_id": pd.Series(range(1, n + 1), dtype="int64"), "created_at": pd.Series([NOW - pd.Timedelta(days=1)] * n),
        "text": ["a tweet"] * n, "username": ["elonmusk"] * n, "is_reply": [False] * n, "is_quote": [False] * n,
        "lang": ["en"] * n, "likes": [0] * n, "retweets": [0] * n, "replies": [0] * n,
    })
    for name, values in column.items():
        frame[name] = pd.Series(values, dtype=frame[name].dtype if name != "created_at" else "datetime64[us, UTC]")
    return frame


def reasons(frame: pd.DataFrame, username: str | None = "elonmusk") -> list[str | None]:
    return [None if pd.isna(r) else r for r in screen_tweets(frame, username, now=NOW.to_pydatetime()).rejected]


def test_a_time_up_to_the_clock_slack_ahead_is_kept_and_one_microsecond_more_is_not() -> None:
    times = [NOW, NOW + CLOCK_SLACK - pd.Timedelta(microseconds=1), NOW + CLOCK_SLACK, NOW + CLOCK_SLACK + pd.Timedelta(microseconds=1)]
    assert reasons(raw_rows(created_at=times)) == [None, None, None, REJECT_FUTURE]


def test_a_time_from_the_first_tweet_day_on_is_kept() -> None:
    times = [FIRST_TWEET_DAY - pd.Timedelta(microseconds=1), FIRST_TWEET_DAY, FIRST_TWEET_DAY + pd.Timedelta(microseconds=1)]
    assert reasons(raw_rows(created_at=times)) == [REJECT_BEFORE_X, None, None]


def test_a_text_of_max_text_chars_is_kept_and_one_more_is_not() -> None:
    texts = ["🚀" * (MAX_TEXT_CHARS - 1), "🚀" * MAX_TEXT_CHARS, "🚀" * (MAX_TEXT_CHARS + 1)]
    assert reasons(raw_rows(text=texts)) == [None, None, REJECT_TOO_LONG]


def test_ids_and_counts_at_their_bounds() -> None:
    assert reasons(raw_rows(tweet_id=[-1, 0, 1])) == [REJECT_ID, REJECT_ID, None]
    for count in ("likes", "retweets", "replies"):
        assert reasons(raw_rows(**{count: [-1, 0, 1]})) == [REJECT_NEGATIVE, None, None], count


def test_the_account_is_matched_as_x_writes_handles_and_look_alikes_are_not() -> None:
    names = ["elonmusk", "ElonMusk", "@elonmusk", " elonmusk ", "еlonmusk", "elonmusk2", "", None]
    assert reasons(raw_rows(username=names)) == [None] * 4 + [REJECT_ACCOUNT.format(username="elonmusk")] * 4
