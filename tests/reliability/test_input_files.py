"""Input files as people pass them: a named pipe or ``<(...)`` is read once like a file, every
physical line is accounted for, a stray quote loses one line (not the rows after it), and a
time of any size or an id that is no tweet's rejects its row, not the file."""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.data.test_kaggle import NEW_HEADER, OLD_HEADER, T0, Tweet, new_row, old_row, write_csv
from tests.reliability.processes import PYTHON, cli_env, run_cli
from tweetgen.sources.kaggle import REJECT_QUOTE, REJECT_SHAPE, load_kaggle
from tweetgen.sources.screening import REJECT_BEFORE_X, REJECT_FUTURE, REJECT_ID

ROWS = 50


def tweets(n: int = ROWS) -> list[Tweet]:
    """``n`` tweets an hour apart; tweet 20 holds a comma, so the writer quotes its text."""
    return [Tweet(T0 + timedelta(hours=i), text=f"Tweet number {i}" + (", with a comma" if i == 20 else "")) for i in range(n)]


def test_a_named_pipe_is_read_once_like_a_file(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "2021.csv", NEW_HEADER, [new_row(t) for t in tweets()]).read_bytes()
    pipe = tmp_path / "2021-pipe.csv"
    os.mkfifo(pipe)

    def feed() -> None:  # a writer that, like `cat`, writes the data once and closes
        try:
            with open(pipe, "wb") as handle:
                handle.write(data)
        except BrokenPipeError:
            pass  # the reader closed early (the behaviour this test rules out)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    result = run_cli(["features", "--source", "kaggle", "--path", str(pipe), "--holdout", "0"], tmp_path / "data", timeout=90)
    writer.join(timeout=5)
    assert result.returncode == 0, result.stderr
    assert f"rows inserted         {ROWS:>9}" in result.stdout.splitlines()


def test_process_substitution_is_read_like_a_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "2021.csv", NEW_HEADER, [new_row(t) for t in tweets()])
    command = f"{shlex.quote(PYTHON)} -m tweetgen features --source kaggle --path <(cat {shlex.quote(str(path))}) --holdout 0"
    result = subprocess.run(["bash", "-c", command], env=cli_env(tmp_path / "data"), cwd=tmp_path,
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert f"rows inserted         {ROWS:>9}" in out
    assert f"lines read            {ROWS + 1:>9}  (1 header, 0 blank, {ROWS} in rows)" in out


def with_stray_quote(path: Path, row: int) -> Path:
    """Open a quote in data row ``row``'s text that never closes on its line (as a hand edit leaves it)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    text = f",Tweet number {row - 1},"
    assert lines[row].count(text) == 1  # the premise: that row holds its text unquoted
    lines[row] = lines[row].replace(text, f',"Tweet number {row - 1},')
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_a_stray_quote_loses_its_line_not_the_rows_it_ran_into(tmp_path: Path) -> None:
    path = with_stray_quote(write_csv(tmp_path / "2021.csv", NEW_HEADER, [new_row(t) for t in tweets()]), row=10)
    # The premise: Python's csv module reads data row 10 on through the quoted text of data row 21.
    loaded = load_kaggle([path])
    assert loaded.rows_read == ROWS
    assert loaded.rejected == {REJECT_QUOTE: 1}
    assert [issue.where for issue in loaded.issues] == [f"{path} line 11 (it ran into lines 12-22, read again as rows)"]
    assert len(loaded.frame) == ROWS - 1
    assert "Tweet number 20, with a comma" in set(loaded.frame["text"])
    counts = loaded.lines
    assert (counts.lines, counts.header, counts.blank, counts.in_rows, counts.rows, counts.reread) == (ROWS + 1, 1, 0, ROWS, ROWS, 11)


def test_every_line_is_in_the_report_with_rows_that_span_lines(tmp_path: Path) -> None:
    rows = [new_row(t) for t in tweets(6)]
    rows[2]["tweet"] = "first line\nsecond line\nthird line"
    path = write_csv(tmp_path / "2021.csv", NEW_HEADER, rows)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n\n1,2,3\n")  # two blank lines, then a row cut to 3 fields
    result = run_cli(["features", "--source", "kaggle", "--path", str(path), "--holdout", "0"], tmp_path / "data")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    # 1 header + 8 lines of 6 rows (one spans 3) + 2 blank + the cut row
    assert f"lines read            {12:>9}  (1 header, 2 blank, 9 in rows; 1 rows span several lines)" in out
    assert f"rows read             {7:>9}" in out
    assert f"{'':<22}        1  {REJECT_SHAPE}: {path} line 12" in out


@pytest.mark.parametrize(
    ("header", "make_row", "change", "reason"),
    [
        (OLD_HEADER, old_row, {"created_at": "5680281600000.0"}, REJECT_FUTURE),  # 2150
        (OLD_HEADER, old_row, {"created_at": "1e30"}, REJECT_FUTURE),
        (OLD_HEADER, old_row, {"created_at": "-86400000.0"}, REJECT_BEFORE_X),  # 1969
        (OLD_HEADER, old_row, {"date": "9999-12-31 23:59:59"}, REJECT_FUTURE),
        (OLD_HEADER, old_row, {"date": "0001-01-01 00:00:00"}, REJECT_BEFORE_X),
        (NEW_HEADER, new_row, {"date": "2150-01-02"}, REJECT_FUTURE),
        (NEW_HEADER, new_row, {"date": "9999-01-02"}, REJECT_FUTURE),
        (NEW_HEADER, new_row, {"id": "0", "link": "https://twitter.com/elonmusk/status/0"}, REJECT_ID),
    ],
)
def test_a_time_of_any_size_or_a_zero_id_rejects_its_row_not_the_file(tmp_path, header, make_row, change, reason) -> None:
    rows = [make_row(t) for t in tweets(5)]
    rows[2] = make_row(tweets(5)[2], **change)
    loaded = load_kaggle([write_csv(tmp_path / "2021.csv", header, rows)], now=datetime(2026, 1, 1, tzinfo=UTC))
    assert loaded.rejected == {reason: 1}
    assert [issue.where for issue in loaded.issues] == [f"{tmp_path / '2021.csv'} line 4"]
    assert len(loaded.frame) == 4 and tweets(5)[2].id not in set(loaded.frame["tweet_id"])


def test_a_stray_quote_closed_in_the_same_column_still_loses_only_its_line(tmp_path: Path) -> None:
    rows = [new_row(t) for t in tweets(30)]
    rows[20]["tweet"] = 'He said "hi"'  # quoted by the writer for its quotes, not a comma: the field count stays right
    path = with_stray_quote(write_csv(tmp_path / "2021.csv", NEW_HEADER, rows), row=10)
    loaded = load_kaggle([path])
    assert loaded.rejected == {REJECT_QUOTE: 1}
    assert [issue.where for issue in loaded.issues] == [f"{path} line 11 (it ran into lines 12-22, read again as rows)"]
    assert len(loaded.frame) == 29 and 'He said "hi"' in set(loaded.frame["text"])
    assert loaded.lines.multi_line_rows == 0 and loaded.lines.rows == 30
