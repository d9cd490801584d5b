"""Read a CSV file in chunks of rows, in bounded memory, knowing the line each row starts on.

Every cell is read as text, exactly as written. Python's ``csv`` module does the parsing (quoted
fields may span lines); this module adds what a loader that must account for every row needs:

* each row's data row number (1 = the first row after the header; blank lines are not rows)
  and the physical line it starts on, so a rejected row can be found in an editor;
* rows whose number of fields differs from the header's (a line cut short, a stray delimiter)
  are set apart, not padded with empty cells;
* NUL characters are removed from the cells and the rows they were in are marked (a NUL used to
  cut the rest of the text off);
* a field longer than ``MAX_FIELD_CHARS`` sets its row apart instead of ending the read;
* a file that is not UTF-8 raises ``SourceError`` naming the byte offset and the line.

Memory holds one chunk of rows and one line at a time, whatever the file's size.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tweetgen.errors import SourceError

MAX_FIELD_CHARS = 10_000_000  # no cell of a tweet export comes near; such a row is set apart
CHUNK_ROWS = 50_000


@dataclass
class Chunk:
    """Consecutive rows of one file.

    Attributes:
        frame: the rows with as many fields as the header, one text column per wanted header
            name, indexed by data row number.
        lines: the physical line each row of ``frame`` starts on (same index).
        nul_rows: data row numbers of ``frame`` rows from which NUL characters were removed.
        misshapen: ``(data row, line)`` of rows with another number of fields than the header.
        overlong: ``(data row, line)`` of rows with a field longer than ``MAX_FIELD_CHARS``.
    """

    frame: pd.DataFrame
    lines: pd.Series
    nul_rows: list[int] = field(default_factory=list)
    misshapen: list[tuple[int, int]] = field(default_factory=list)
    overlong: list[tuple[int, int]] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.misshapen) + len(self.overlong)


class _Lines:
    """The file's lines with NULs removed; remembers whether the current row had any."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.saw_nul = False

    def __iter__(self) -> Iterator[str]:
        for line in self.handle:
            if "\x00" in line:
                self.saw_nul = True
                line = line.replace("\x00", "")
            yield line


def read_header(path: Path) -> list[str]:
    """The file's header (its first non-blank row, names stripped of spaces).

    Raises:
        SourceError: the file is empty (or blank), cannot be read or is not UTF-8.
    """
    with contextlib.closing(_records(path)) as records:
        header = _first_nonblank(records)
    if header is None:
        raise SourceError(f"{path} is empty; download the year file again or remove it from the folder.")
    return header


def read_chunks(path: Path, columns: list[str], rows_per_chunk: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """The file's data rows, ``rows_per_chunk`` at a time, keeping the header columns ``columns``.

    Raises:
        SourceError: the file cannot be read, is empty or is not UTF-8 (may come after some chunks).
    """
    with contextlib.closing(_records(path)) as records:
        header = _first_nonblank(records)
        if header is None:
            raise SourceError(f"{path} is empty; download the year file again or remove it from the folder.")
        positions = [header.index(name) for name in columns]
        chunk, pending, row = _new_chunk(columns), [], 0
        for line, saw_nul, fields in records:
            if not fields:
                continue  # a blank line is not a row
            row += 1
            if fields is _OVERLONG:
                chunk.overlong.append((row, line))
            elif len(fields) != len(header):
                chunk.misshapen.append((row, line))
            else:
                pending.append((row, line, [fields[i] for i in positions], saw_nul))
            if len(pending) + len(chunk.misshapen) + len(chunk.overlong) >= rows_per_chunk:
                yield _fill(chunk, pending, columns)
                chunk, pending = _new_chunk(columns), []
        if pending or chunk.misshapen or chunk.overlong:
            yield _fill(chunk, pending, columns)


_OVERLONG: list[str] = ["<a field longer than MAX_FIELD_CHARS>"]  # stands for a row set apart


def _first_nonblank(records: Iterator[tuple[int, bool, list[str]]]) -> list[str] | None:
    for _, _, fields in records:
        if fields is not _OVERLONG and any(cell.strip() for cell in fields):
            return [name.strip() for name in fields]
    return None


def _records(path: Path) -> Iterator[tuple[int, bool, list[str]]]:
    """``(first line, had NULs, fields)`` for each record, the header included."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    try:
        with open(path, encoding="utf-8-sig", newline="", errors="strict") as handle:
            lines = _Lines(handle)
            reader = csv.reader(lines)
            previous_end = 0
            while True:
                lines.saw_nul = False
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    if "field larger than field limit" not in str(error):
                        raise SourceError(f"{path} is not a well-formed CSV ({error}); download the year file again.") from None
                    fields = _OVERLONG
                yield previous_end + 1, lines.saw_nul, fields
                previous_end = reader.line_num
    except UnicodeDecodeError:
        raise SourceError(_not_utf8(path)) from None
    except OSError as error:
        raise SourceError(f"Cannot read {path} ({error.strerror}); check that it is a readable file.") from None


def _new_chunk(columns: list[str]) -> Chunk:
    return Chunk(pd.DataFrame(columns=columns), pd.Series(dtype="int64"))


def _fill(chunk: Chunk, pending: list[tuple[int, int, list[str], bool]], columns: list[str]) -> Chunk:
    """Put the well-shaped rows into ``chunk`` as one frame of text cells, indexed by data row."""
    index = pd.Index([row for row, _, _, _ in pending], dtype="int64")
    cells = list(zip(*(values for _, _, values, _ in pending), strict=True)) or [() for _ in columns]
    chunk.frame = pd.DataFrame(dict(zip(columns, cells, strict=True)), index=index, dtype=object)
    chunk.lines = pd.Series([line for _, line, _, _ in pending], index=index, dtype="int64")
    chunk.nul_rows = [row for row, _, _, nul in pending if nul]
    return chunk


def _not_utf8(path: Path) -> str:
    """The sentence for a file that is not UTF-8, naming the first bad byte's offset and line."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    consumed, newlines = 0, 0  # bytes and line ends before the decoder's buffered bytes
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            buffered = decoder.getstate()[0]
            try:
                decoder.decode(block)
            except UnicodeDecodeError as error:
                data = error.object  # the buffered bytes, then this block
                offset = consumed - len(buffered) + error.start
                line = newlines + data.count(b"\n", 0, error.start) + 1
                return (
                    f"{path} is not UTF-8: byte offset {offset} (line {line}) is {data[error.start:error.start + 1]!r}; "
                    "re-save the file as UTF-8 or download it again."
                )
            consumed += len(block)
            newlines += block.count(b"\n")
    return f"{path} is not UTF-8; re-save the file as UTF-8 or download it again."
