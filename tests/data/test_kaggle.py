"""The Kaggle CSV loader against fixtures written here in the exact column layouts of the real files.

Every tweet below is invented; ids are real snowflakes made from the invented times, so the loader's
time recovery from an id can be checked exactly.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tweetgen.errors import SourceError
from tweetgen.schema import RAW_COLUMNS
from tweetgen.sources.kaggle import (
    REJECT_CREATED_DATE,
    REJECT_ID_MISMATCH,
    REJECT_NO_ID,
    REJECT_PRE_SNOWFLAKE,
    REJECT_RETWEET,
    REJECT_SHAPE,
    REJECT_SNOWFLAKE_DATE,
    SNOWFLAKE_EPOCH_MS,
    find_csv_files,
    load_kaggle,
)

# --- fixture makers: the three header layouts as published --------------------------------------

# 2010-2019: twint export saved by pandas (unnamed index column first), epoch-ms created_at, UTC date.
OLD_HEADER_LINE = (
    ",id,conversation_id,created_at,date,timezone,place,tweet,language,hashtags,cashtags,user_id,"
    "user_id_str,username,name,day,hour,link,urls,photos,video,thumbnail,retweet,nlikes,nreplies,"
    "nretweets,quote_url,search,near,geo,source,user_rt_id,user_rt,retweet_id,reply_to,retweet_date,"
    "translate,trans_src,trans_dest"
)
OLD_HEADER = next(csv.reader([OLD_HEADER_LINE]))
# 2020: the same export after a spreadsheet: no timezone/place, ids and created_at in E notation.
SPREADSHEET_HEADER = [c for c in OLD_HEADER if c not in ("timezone", "place")]
# 2021-2022: a later twint version; local date + time + offset, *_count columns, no index column.
NEW_HEADER_LINE = (
    "id,conversation_id,created_at,date,time,timezone,user_id,username,name,place,tweet,language,"
    "mentions,urls,photos,replies_count,retweets_count,likes_count,hashtags,cashtags,link,retweet,"
    "quote_url,video,thumbnail,near,geo,source,user_rt_id,user_rt,retweet_id,reply_to,retweet_date,"
    "translate,trans_src,trans_dest"
)
NEW_HEADER = next(csv.reader([NEW_HEADER_LINE]))

ACCOUNT = "elonmusk"
T0 = datetime(2019, 3, 14, 15, 9, 26, 535_000, tzinfo=UTC)


def snowflake(when: datetime, sequence: int = 7) -> int:
    """The tweet id Twitter would give a tweet posted at ``when`` (ms in the top bits)."""
    return ((int(when.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS) << 22) | sequence


@dataclass(frozen=True)
class Tweet:
    """An invented tweet; ``row`` helpers render it in each layout."""

    when: datetime
    text: str = "Rockets are hard, but worth it"
    likes: int = 120
    retweets: int = 8
    replies: int = 15
    reply_to: tuple[str, ...] = ()
    quote_url: str = ""
    retweet: bool = False
    language: str = "en"
    id: int = field(default=0)

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", snowflake(self.when))

    @property
    def link(self) -> str:
        return f"https://twitter.com/{ACCOUNT}/status/{self.id}"

    @property
    def reply_to_text(self) -> str:
        return str([{"screen_name": n, "name": n.title(), "id": str(1000 + i)} for i, n in enumerate(self.reply_to)])


def old_row(t: Tweet, **overrides: str) -> dict[str, str]:
    ms = int(t.when.timestamp()) * 1000  # twint's created_at has whole seconds
    row = {
        "id": str(t.id), "conversation_id": str(t.id), "created_at": f"{ms}.0",
        "date": t.when.strftime("%Y-%m-%d %H:%M:%S"), "timezone": "+0000", "tweet": t.text, "language": t.language,
        "hashtags": "[]", "cashtags": "[]", "user_id": "44196397", "user_id_str": "44196397", "username": ACCOUNT,
        "name": "Invented Name", "day": str(t.when.isoweekday()), "hour": str(t.when.hour), "link": t.link,
        "urls": "[]", "photos": "[]", "video": "0", "retweet": str(t.retweet), "nlikes": str(t.likes),
        "nreplies": str(t.replies), "nretweets": str(t.retweets), "quote_url": t.quote_url, "search": "None",
        "reply_to": t.reply_to_text,
    }  # fmt: skip
    return {**row, **overrides}


def spreadsheet_row(t: Tweet, **overrides: str) -> dict[str, str]:
    """A row as 2020.csv has it: E-notation ids and created_at, a day-first date without time."""
    row = old_row(t)
    del row["timezone"]  # the spreadsheet's copy lost the timezone and place columns
    ms = int(t.when.timestamp() * 1000)
    row.update(id=f"{t.id:.2E}", conversation_id=f"{t.id:.2E}", created_at=f"{ms:.2E}")
    row.update(date=t.when.strftime("%d-%m-%Y 00:00"), retweet=str(t.retweet).upper())
    return {**row, **overrides}


def new_row(t: Tweet, offset: str = "+0400", **overrides: str) -> dict[str, str]:
    sign = 1 if offset[0] == "+" else -1
    local = t.when + sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
    row = {
        "id": str(t.id), "conversation_id": str(t.id),
        "created_at": local.strftime("%Y-%m-%d %H:%M:%S") + " Arabian Standard Time",
        "date": local.strftime("%Y-%m-%d"), "time": local.strftime("%H:%M:%S"), "timezone": offset,
        "user_id": "44196397", "username": ACCOUNT, "name": "Invented Name", "tweet": t.text,
        "language": t.language, "mentions": "[]", "urls": "[]", "photos": "[]", "replies_count": str(t.replies),
        "retweets_count": str(t.retweets), "likes_count": str(t.likes), "hashtags": "[]", "cashtags": "[]",
        "link": t.link, "retweet": str(t.retweet), "quote_url": t.quote_url, "video": "0",
        "reply_to": t.reply_to_text,
    }  # fmt: skip
    return {**row, **overrides}


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    """Write rows under ``header`` as twint/pandas did: quoted only where needed, '\\n' line ends."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for index, row in enumerate(rows):
            writer.writerow({c: "" for c in header} | ({"": str(index)} if "" in header else {}) | row)
    return path


def write_old(folder: Path, name: str, tweets: list[Tweet]) -> Path:
    return write_csv(folder / name, OLD_HEADER, [old_row(t) for t in tweets])


# --- both layouts --------------------------------------------------------------------------------


def test_old_layout_gives_raw_columns_with_exact_values(tmp_path: Path) -> None:
    reply = Tweet(T0, text="@someone Sounds good &amp; fast", reply_to=("someone",), likes=3, retweets=1, replies=2)
    quote = Tweet(T0 + timedelta(hours=5), text="Exactly", quote_url="https://twitter.com/x/status/1", language="und")
    csv_path = write_old(tmp_path, "2019.csv", [reply, quote])

    loaded = load_kaggle([csv_path])

    frame = loaded.frame
    assert list(frame.columns) == RAW_COLUMNS
    assert frame.dtypes.astype(str).to_dict() == {
        "tweet_id": "int64", "created_at": "datetime64[us, UTC]", "text": "string", "username": "string",
        "is_reply": "bool", "is_quote": "bool", "lang": "string", "likes": "int64", "retweets": "int64",
        "replies": "int64",
    }  # fmt: skip
    assert loaded.rows_read == 2 and loaded.rejected == {} and loaded.files == [csv_path]
    first, second = frame.to_dict("records")
    assert first == {
        "tweet_id": reply.id, "created_at": pd.Timestamp("2019-03-14 15:09:26", tz="UTC"),
        "text": "@someone Sounds good &amp; fast", "username": ACCOUNT, "is_reply": True, "is_quote": False,
        "lang": "en", "likes": 3, "retweets": 1, "replies": 2,
    }  # fmt: skip
    assert (second["tweet_id"], second["is_reply"], second["is_quote"], second["lang"]) == (
        quote.id,
        False,
        True,
        "und",
    )
    assert second["created_at"] == pd.Timestamp("2019-03-14 20:09:26", tz="UTC")


@pytest.mark.parametrize(
    ("offset", "utc"),
    [("+0400", "2021-12-30 21:11:23"), ("-0500", "2021-12-31 06:11:23"), ("+0530", "2021-12-30 19:41:23")],
)
def test_new_layout_converts_local_date_and_time_to_utc(tmp_path: Path, offset: str, utc: str) -> None:
    t = Tweet(datetime(2021, 12, 1, tzinfo=UTC))  # date and time below are written by hand
    row = new_row(t, offset=offset, date="2021-12-31", time="01:11:23")
    loaded = load_kaggle([write_csv(tmp_path / "2021.csv", NEW_HEADER, [row])])
    assert loaded.frame["created_at"].tolist() == [pd.Timestamp(utc, tz="UTC")]
    assert loaded.frame["tweet_id"].tolist() == [t.id]


def test_new_layout_reads_counts_flags_and_language(tmp_path: Path) -> None:
    t = Tweet(T0, text="@a @b Yes", reply_to=("a", "b"), likes=13468, retweets=364, replies=793, language="und")
    loaded = load_kaggle([write_csv(tmp_path / "2021.csv", NEW_HEADER, [new_row(t)])])
    row = loaded.frame.iloc[0]
    assert (row.likes, row.retweets, row.replies, row.lang, row.is_reply) == (13468, 364, 793, "und", True)
    assert row.created_at == pd.Timestamp("2019-03-14 15:09:26", tz="UTC")


def test_layout_is_detected_per_file(tmp_path: Path) -> None:
    a, b = Tweet(T0), Tweet(T0 + timedelta(days=400))
    write_old(tmp_path, "2019.csv", [a])
    write_csv(tmp_path / "2021.csv", NEW_HEADER, [new_row(b)])
    loaded = load_kaggle([tmp_path])
    assert loaded.frame["tweet_id"].tolist() == [a.id, b.id]
    assert loaded.frame["created_at"].tolist() == [pd.Timestamp(t.when.replace(microsecond=0)) for t in (a, b)]


# --- overlap and duplicates ----------------------------------------------------------------------


def test_overlapping_files_keep_every_row_with_the_best_row_first(tmp_path: Path) -> None:
    shared = Tweet(T0, likes=10)
    early, late = Tweet(T0 - timedelta(days=30)), Tweet(T0 + timedelta(days=30))
    write_old(tmp_path, "2018.csv", [shared, early])
    write_old(tmp_path, "2019.csv", [replace(shared, likes=50), late])  # counted later: more likes
    twice = Tweet(datetime(2022, 3, 5, 8, 47, 21, tzinfo=UTC))
    write_csv(tmp_path / "2022.csv", NEW_HEADER, [new_row(twice), new_row(twice)])  # as 2022.csv: every row twice

    loaded = load_kaggle([tmp_path])

    assert loaded.rows_read == 6 and len(loaded.frame) == 6 and loaded.rejected == {}
    assert [p.name for p in loaded.files] == ["2018.csv", "2019.csv", "2022.csv"]
    distinct = loaded.frame.drop_duplicates("tweet_id")
    assert distinct["tweet_id"].tolist() == [early.id, shared.id, late.id, twice.id]  # in id (time) order
    assert distinct.set_index("tweet_id").loc[shared.id, "likes"] == 50


def test_undamaged_row_comes_before_the_damaged_row_of_the_same_tweet(tmp_path: Path) -> None:
    t = Tweet(datetime(2020, 12, 28, 19, 42, 11, 123_000, tzinfo=UTC), likes=5)
    write_old(tmp_path, "2019.csv", [t])
    write_csv(tmp_path / "2020.csv", SPREADSHEET_HEADER, [spreadsheet_row(replace(t, likes=900))])

    frame = load_kaggle([tmp_path]).frame

    assert frame["tweet_id"].tolist() == [t.id, t.id]
    assert frame["likes"].tolist() == [5, 900]  # the spreadsheet's row loses despite more likes
    assert frame["created_at"].nunique() == 1  # time recovered from the id equals the published one


# --- the spreadsheet-damaged file ----------------------------------------------------------------


def test_scientific_notation_id_is_recovered_from_link_and_time_from_the_id(tmp_path: Path) -> None:
    t = Tweet(
        datetime(2020, 12, 28, 19, 42, 11, 123_000, tzinfo=UTC), text="@someone Absolutely", reply_to=("someone",)
    )
    row = spreadsheet_row(t)
    assert row["id"] == "1.34E+18" and int(float(row["id"])) != t.id  # the fixture really is lossy
    loaded = load_kaggle([write_csv(tmp_path / "2020.csv", SPREADSHEET_HEADER, [row])])
    got = loaded.frame.iloc[0]
    assert got.tweet_id == t.id
    assert got.created_at == pd.Timestamp("2020-12-28 19:42:11", tz="UTC")
    assert (got.is_reply, got.likes, loaded.rejected) == (True, t.likes, {})


def test_damage_is_detected_per_row_not_by_file_name(tmp_path: Path) -> None:
    good, lossy = Tweet(datetime(2020, 6, 1, tzinfo=UTC)), Tweet(datetime(2020, 6, 2, 3, 4, 5, tzinfo=UTC))
    rows = [old_row(good), spreadsheet_row(lossy)]
    frame = load_kaggle([write_csv(tmp_path / "anything.csv", OLD_HEADER, rows)]).frame
    assert frame["tweet_id"].tolist() == [good.id, lossy.id]
    assert frame["created_at"].tolist() == [
        pd.Timestamp("2020-06-01", tz="UTC"),
        pd.Timestamp("2020-06-02 03:04:05", tz="UTC"),
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"link": "https://twitter.com/elonmusk"}, REJECT_NO_ID),
        ({"link": ""}, REJECT_NO_ID),
        ({"id": "1.20E+18"}, REJECT_ID_MISMATCH),  # the lossy id and the link disagree
        ({"date": "18-12-2020 00:00"}, REJECT_SNOWFLAKE_DATE),  # ten days before the id's time
        ({"id": "1.23E+10", "link": "https://twitter.com/elonmusk/status/12345678901"}, REJECT_PRE_SNOWFLAKE),
    ],
)
def test_unrecoverable_damaged_row_is_rejected_and_counted(tmp_path: Path, change: dict[str, str], reason: str) -> None:
    bad, good = Tweet(datetime(2020, 12, 28, 10, tzinfo=UTC)), Tweet(datetime(2020, 12, 29, 10, tzinfo=UTC))
    rows = [spreadsheet_row(bad, **change), spreadsheet_row(good)]
    loaded = load_kaggle([write_csv(tmp_path / "2020.csv", SPREADSHEET_HEADER, rows)])
    assert loaded.rows_read == 2
    assert loaded.rejected == {reason: 1}
    assert loaded.frame["tweet_id"].tolist() == [good.id]


def test_plain_id_that_disagrees_with_its_link_is_rejected(tmp_path: Path) -> None:
    t = Tweet(T0)
    row = old_row(t, link=f"https://twitter.com/elonmusk/status/{t.id + 1}")
    loaded = load_kaggle([write_csv(tmp_path / "2019.csv", OLD_HEADER, [row])])
    assert loaded.rejected == {REJECT_ID_MISMATCH: 1} and loaded.frame.empty


def test_rounded_created_at_in_an_otherwise_plain_row_is_rejected(tmp_path: Path) -> None:
    t = Tweet(T0)
    row = old_row(t, created_at=f"{T0.timestamp() * 1000:.2E}")  # 1.55E+12: weeks away from the date
    loaded = load_kaggle([write_csv(tmp_path / "2019.csv", OLD_HEADER, [row])])
    assert loaded.rejected == {REJECT_CREATED_DATE: 1} and loaded.frame.empty


# --- what rows mean ------------------------------------------------------------------------------


def test_retweets_are_rejected_and_counted_in_every_layout(tmp_path: Path) -> None:
    own, rt = Tweet(T0), Tweet(T0 + timedelta(hours=1), retweet=True)
    write_old(tmp_path, "2019.csv", [own, rt])
    write_csv(tmp_path / "2020.csv", SPREADSHEET_HEADER, [spreadsheet_row(replace(rt, id=rt.id + 1))])
    write_csv(tmp_path / "2021.csv", NEW_HEADER, [new_row(replace(rt, id=rt.id + 2))])
    loaded = load_kaggle([tmp_path])
    assert loaded.rejected == {REJECT_RETWEET: 3}
    assert loaded.frame["tweet_id"].tolist() == [own.id]


@pytest.mark.parametrize(
    ("text", "reply_to", "is_reply"),
    [
        ("@someone Agreed", (), True),  # older rows leave reply_to empty
        ("Agreed", ("someone",), True),
        ("More on this below", (ACCOUNT,), False),  # a thread of the account's own tweets
        ("More on this below", (ACCOUNT.upper(), "someone"), True),
        (".@someone said it first", (), False),
        ("Nothing to reply to", (), False),
    ],
)
def test_is_reply(tmp_path: Path, text: str, reply_to: tuple[str, ...], is_reply: bool) -> None:
    t = Tweet(T0, text=text, reply_to=reply_to)
    frame = load_kaggle([write_old(tmp_path, "2019.csv", [t])]).frame
    assert frame["is_reply"].tolist() == [is_reply]


def test_text_is_read_exactly_as_published(tmp_path: Path) -> None:
    texts = ["NaN", "None", "null", "", 'a, b "quoted"\nsecond line', "&amp; &lt;3 &gt;", "  spaced  ", "🚀 1.0E+3"]
    tweets = [Tweet(T0 + timedelta(minutes=i), text=s) for i, s in enumerate(texts)]
    frame = load_kaggle([write_old(tmp_path, "2019.csv", tweets)]).frame
    assert frame["text"].tolist() == texts
    assert all(type(s) is str for s in frame["text"])


def test_empty_count_is_zero_and_unparseable_count_is_rejected(tmp_path: Path) -> None:
    a, b, c = Tweet(T0), Tweet(T0 + timedelta(hours=1)), Tweet(T0 + timedelta(hours=2))
    rows = [old_row(a, nlikes="", nretweets="12.0"), old_row(b, nlikes="1.2E+05"), old_row(c, nreplies="n/a")]
    loaded = load_kaggle([write_csv(tmp_path / "2019.csv", OLD_HEADER, rows)])
    assert loaded.frame[["tweet_id", "likes", "retweets"]].values.tolist() == [[a.id, 0, 12]]
    assert loaded.rejected == {"likes is not a whole number": 1, "replies is not a whole number": 1}


def test_header_only_file_gives_no_rows_with_the_contract_dtypes(tmp_path: Path) -> None:
    loaded = load_kaggle([write_csv(tmp_path / "2021.csv", NEW_HEADER, [])])
    assert loaded.rows_read == 0 and loaded.frame.empty
    assert list(loaded.frame.columns) == RAW_COLUMNS
    assert str(loaded.frame["created_at"].dtype) == "datetime64[us, UTC]"


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "2021.csv", NEW_HEADER, [new_row(Tweet(T0))])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_kaggle([path]).frame["tweet_id"].tolist() == [Tweet(T0).id]


def test_progress_bar_counts_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_old(tmp_path, "2018.csv", [Tweet(T0)])
    write_old(tmp_path, "2019.csv", [Tweet(T0 + timedelta(days=1))])
    load_kaggle([tmp_path], progress=True)
    err = capsys.readouterr().err
    assert "Reading Kaggle CSVs" in err and "2/2" in err
    load_kaggle([tmp_path])
    assert capsys.readouterr().err == ""


# --- finding files -------------------------------------------------------------------------------


def test_folder_expands_to_its_csv_files_sorted(tmp_path: Path) -> None:
    for name in ("2019.csv", "2012.csv", "notes.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub.csv").mkdir()
    assert [p.name for p in find_csv_files([tmp_path])] == ["2012.csv", "2019.csv"]
    assert find_csv_files(str(tmp_path / "2019.csv")) == [tmp_path / "2019.csv"]  # one path, not a list
    assert [p.name for p in find_csv_files([tmp_path / "2019.csv", tmp_path])] == ["2019.csv", "2012.csv"]


def test_missing_path_raises_naming_it(tmp_path: Path) -> None:
    (tmp_path / "2019.csv").write_text("x")
    with pytest.raises(SourceError, match="nowhere.*does not exist"):
        find_csv_files([tmp_path, tmp_path / "nowhere"])
    with pytest.raises(SourceError, match="No Kaggle CSV path"):
        find_csv_files([])


def test_folder_without_csv_files_raises(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(SourceError, match="holds no .csv file") as caught:
        load_kaggle([tmp_path])
    assert str(tmp_path) in str(caught.value)


# --- bad input: one sentence naming the file (and row) -------------------------------------------


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_file_raises(tmp_path: Path, content: bytes) -> None:
    write_old(tmp_path, "2018.csv", [Tweet(T0)])
    (tmp_path / "2019.csv").write_bytes(content)
    with pytest.raises(SourceError, match=r"2019\.csv is empty"):
        load_kaggle([tmp_path])


def test_missing_columns_are_named(tmp_path: Path) -> None:
    header = [c for c in NEW_HEADER if c not in ("tweet", "likes_count")]
    rows = [{k: v for k, v in new_row(Tweet(T0)).items() if k in header}]
    with pytest.raises(SourceError, match=r"2021\.csv is missing the column\(s\) tweet, likes_count") as caught:
        load_kaggle([write_csv(tmp_path / "2021.csv", header, rows)])
    assert caught.value.args[0].count(".") >= 1 and "\n" not in caught.value.args[0]


def test_unknown_header_is_reported_against_the_closer_layout(tmp_path: Path) -> None:
    (tmp_path / "tweets.csv").write_text("id,tweet\n1,hello\n")
    with pytest.raises(SourceError, match=r"tweets\.csv is missing the column\(s\) date, language"):
        load_kaggle([tmp_path / "tweets.csv"])


@pytest.mark.parametrize(
    ("header", "make_row", "change", "message"),
    [
        (OLD_HEADER, old_row, {"date": "yesterday"}, "data row 2 (line 3): date is 'yesterday'"),
        (OLD_HEADER, old_row, {"created_at": "soon"}, "data row 2 (line 3): created_at is 'soon'"),
        (OLD_HEADER, old_row, {"created_at": "inf"}, "data row 2 (line 3): created_at is 'inf'"),
        (SPREADSHEET_HEADER, spreadsheet_row, {"date": "31-02-2020 00:00"}, "data row 2 (line 3): date is '31-02-2020 00:00'"),
        (NEW_HEADER, new_row, {"time": "25:61:00"}, "data row 2 (line 3): date and time is '2019-03-14 25:61:00'"),
        (NEW_HEADER, new_row, {"timezone": "Arabian Standard Time"}, "data row 2 (line 3): timezone is 'Arabian Standard Time'"),
        (OLD_HEADER, old_row, {"retweet": "maybe"}, "data row 2 (line 3): retweet is 'maybe'"),
    ],
)
def test_unparseable_value_raises_naming_file_and_row(tmp_path, header, make_row, change, message) -> None:
    rows = [make_row(Tweet(T0)), make_row(Tweet(T0 + timedelta(hours=1)), **change)]
    with pytest.raises(SourceError, match=r"bad\.csv, " + message.replace("(", r"\(").replace(")", r"\)")) as caught:
        load_kaggle([write_csv(tmp_path / "bad.csv", header, rows)])
    assert "fix or delete that row" in str(caught.value)


def test_bytes_that_are_not_utf8_raise_naming_file_and_offset(tmp_path: Path) -> None:
    path = write_old(tmp_path, "2019.csv", [Tweet(T0), Tweet(T0 + timedelta(hours=1), text="caf\u00e9")])
    data = path.read_bytes().replace("café".encode(), "café".encode("latin-1"))
    path.write_bytes(data)
    offset = data.index(b"caf\xe9") + 3
    with pytest.raises(SourceError, match=rf"2019\.csv is not UTF-8: byte offset {offset} \(line 3\)"):
        load_kaggle([path])


def test_a_row_with_another_number_of_fields_is_rejected_with_its_line(tmp_path: Path) -> None:
    path = write_old(tmp_path, "2019.csv", [Tweet(T0), Tweet(T0 + timedelta(hours=1))])
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "1,2,3" + "," * len(OLD_HEADER) + "\n" + "".join(lines[1:]) + "7,8,9\n")
    loaded = load_kaggle([path])
    assert loaded.rows_read == 4 and len(loaded.frame) == 2
    assert loaded.rejected == {REJECT_SHAPE: 2}
    assert [issue.where for issue in loaded.issues] == [f"{path} line 2", f"{path} line 5"]


def test_a_bad_file_anywhere_fails_the_whole_load(tmp_path: Path) -> None:
    write_old(tmp_path, "2018.csv", [Tweet(T0)])
    write_csv(tmp_path / "2019.csv", OLD_HEADER, [old_row(Tweet(T0), date="")])
    with pytest.raises(SourceError, match=r"2019\.csv, data row 1 \(line 2\): date is ''"):
        load_kaggle([tmp_path])
