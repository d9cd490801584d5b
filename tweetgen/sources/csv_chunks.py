"""Read a CSV file once, in chunks of rows, in bounded memory, accounting for every physical line.

Every cell is read as text, exactly as written. Python's ``csv`` module does the parsing (quoted
fields may span lines); this module adds what a loader that must account for every line needs:

* the file is opened once and read front to back, so a named pipe or a process substitution
  (``<(unzip -p tweets.zip 2021.csv)``) reads like a file;
* each row's data row number (1 = the first row after the header; blank lines are not rows)
  and the physical lines it spans, so a rejected row can be found in an editor, and
  ``LineCounts`` that add up to every line of the file (header, blank lines, lines in rows);
* rows whose number of fields differs from the header's (a line cut short, a stray delimiter)
  are set apart, not padded with empty cells;
* a stray quote (``"`` opening a field that never closes on its line) makes the parser run on
  into the following lines as one long field. Such a row, which spans several lines and has the
  wrong number of fields, is read again line by line: the line with the stray quote is set apart
  (saying how many lines it had swallowed) and the rows it swallowed are kept;
* NUL characters are removed from the cells and the rows they were in are marked (a NUL used to
  cut the rest of the text off);
* a field longer than ``MAX_FIELD_CHARS`` sets its row apart instead of ending the read;
* a file that is not UTF-8 raises ``SourceError`` naming the byte offset and the line.

Memory holds one chunk of rows and one row's lines at a time, whatever the file's size.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from tweetgen.errors import SourceError
from tweetgen.sources.port import LineCounts

MAX_FIELD_CHARS = 10_000_000  # no cell of a tweet export comes near; such a row is set apart
CHUNK_ROWS = 50_000
BOM = b"\xef\xbb\xbf"
LONE_CR = re.compile(r"(?<=\r)(?!\n)")  # an old Mac line end: a line of its own, as in text mode

# Why a row is set apart (``SetApart.why``).
SHAPE = "shape"  # another number of fields than the header
FIELD = "field"  # a field longer than MAX_FIELD_CHARS
QUOTE = "quote"  # a stray quote that swallowed the lines after it
BLANK = "blank"  # a blank line found when a swallowed region is read again (not a row)


@dataclass(frozen=True)
class SetApart:
    """A row not put into a chunk's frame: its data row number, its lines and why (``SHAPE``...).

    ``swallowed`` counts the lines a ``QUOTE`` row had run into (they are read again as rows).
    """

    row: int
    first_line: int
    last_line: int
    why: str
    swallowed: int = 0

    def where(self, path: Path) -> str:
        """Its place for a report: ``a.csv line 7``, ``a.csv lines 7-9 (3 lines)``."""
        if self.swallowed:
            after = self.first_line + 1
            lines = f"line {after}" if self.swallowed == 1 else f"lines {after}-{self.first_line + self.swallowed}"
            return f"{path} line {self.first_line} (it ran into {lines}, read again as rows)"
        if self.last_line > self.first_line:
            return f"{path} lines {self.first_line}-{self.last_line} ({self.last_line - self.first_line + 1} lines)"
        return f"{path} line {self.first_line}"


@dataclass
class Chunk:
    """Consecutive rows of one file.

    Attributes:
        frame: the rows with as many fields as the header, one text column per wanted header
            name, indexed by data row number.
        lines: the physical line each row of ``frame`` starts on (same index).
        nul_rows: data row numbers of ``frame`` rows from which NUL characters were removed.
        set_apart: the rows not in ``frame``, with their lines and why.
    """

    frame: pd.DataFrame
    lines: pd.Series
    nul_rows: list[int] = field(default_factory=list)
    set_apart: list[SetApart] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.set_apart)


class CsvFile:
    """One CSV file, opened once: ``header`` first, then ``chunks`` of its rows, then ``counts``.

    Use as a context manager::

        with CsvFile(path) as reader:
            columns = reader.header
            for chunk in reader.chunks(["id", "tweet"]): ...
        reader.counts  # every line of the file, accounted for

    Raises (on entering, or while reading chunks):
        SourceError: the file cannot be read, is empty (or blank), or is not UTF-8.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.counts = LineCounts()
        self.header: list[str] = []
        self._handle: BinaryIO | None = None
        self._lines: _Lines | None = None

    def __enter__(self) -> CsvFile:
        csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
        try:
            self._handle = open(self.path, "rb")  # noqa: SIM115 - closed by __exit__
        except OSError as error:
            raise SourceError(f"Cannot read {self.path} ({error.strerror}); check that it is a readable file.") from None
        self._lines = _Lines(self._handle, self.path, self.counts)
        self._records = _records(self._lines, self.path)
        try:
            self.header = self._read_header()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _read_header(self) -> list[str]:
        for lines, _, fields in self._records:
            if fields is not _OVERLONG and any(cell.strip() for cell in fields):
                self.counts.header += len(lines)
                return [name.strip() for name in fields]
            self.counts.blank += len(lines)
        raise SourceError(f"{self.path} is empty; download the year file again or remove it from the folder.")

    def chunks(self, columns: list[str], rows_per_chunk: int = CHUNK_ROWS) -> Iterator[Chunk]:
        """The data rows, ``rows_per_chunk`` at a time, keeping the header columns ``columns``."""
        width, positions = len(self.header), [self.header.index(name) for name in columns]
        counts = self.counts
        chunk, pending = _new_chunk(columns), []
        for lines, saw_nul, fields in self._records:
            if not fields:
                counts.blank += len(lines)  # a blank line is not a row
                continue
            counts.in_rows += len(lines)
            first = lines[0]
            if fields is _OVERLONG:
                parts = [(first, first + len(lines) - 1, None, FIELD, 0)]
            elif len(fields) == width and not (len(lines) > 1 and _holds_rows(self._lines.record, width)):
                parts = [(first, first + len(lines) - 1, fields, "", 0)]
            elif len(lines) > 1:
                parts = _read_again([text for _, text in self._lines.record], first, width)
                counts.reread += sum(1 for part in parts if part[2] is not None)
                counts.blank += sum(1 for part in parts if part[3] == BLANK)
                counts.in_rows -= sum(1 for part in parts if part[3] == BLANK)
                parts = [part for part in parts if part[3] != BLANK]
            else:
                parts = [(first, first, None, SHAPE, 0)]
            for first_line, last_line, cells, why, swallowed in parts:
                counts.rows += 1
                counts.multi_line_rows += last_line > first_line
                if cells is None:
                    chunk.set_apart.append(SetApart(counts.rows, first_line, last_line, why, swallowed))
                else:
                    pending.append((counts.rows, first_line, [cells[i] for i in positions], saw_nul))
            if len(pending) + len(chunk.set_apart) >= rows_per_chunk:
                yield _fill(chunk, pending, columns)
                chunk, pending = _new_chunk(columns), []
        if pending or chunk.set_apart:
            yield _fill(chunk, pending, columns)


_OVERLONG: list[str] = ["<a field longer than MAX_FIELD_CHARS>"]  # stands for a row set apart


class _Lines:
    """The file's lines, decoded, NULs removed; keeps the lines of the record being parsed.

    ``record`` holds the (line number, text) pairs read since ``start_record``; a record's lines
    are kept so that a row a stray quote ran on can be read again line by line.
    """

    def __init__(self, handle: BinaryIO, path: Path, counts: LineCounts) -> None:
        self.handle, self.path, self.counts = handle, path, counts
        self.saw_nul = False
        self.record: list[tuple[int, str]] = []
        self.offset = 0  # bytes read before the current line

    def start_record(self) -> None:
        self.saw_nul = False
        self.record = []

    def __iter__(self) -> Iterator[str]:
        for raw in self.handle:
            if self.counts.lines == 0 and raw.startswith(BOM):
                raw, self.offset = raw[len(BOM):], len(BOM)
            try:
                decoded = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise SourceError(
                    f"{self.path} is not UTF-8: byte offset {self.offset + error.start} (line {self.counts.lines + 1}) is "
                    f"{raw[error.start:error.start + 1]!r}; re-save the file as UTF-8 or download it again."
                ) from None
            self.offset += len(raw)
            if "\x00" in decoded:
                self.saw_nul = True
                decoded = decoded.replace("\x00", "")
            for line in LONE_CR.split(decoded) if "\r" in decoded else (decoded,):
                if line:
                    self.counts.lines += 1
                    self.record.append((self.counts.lines, line))
                    yield line


def _records(lines: _Lines, path: Path) -> Iterator[tuple[list[int], bool, list[str]]]:
    """``(its line numbers, had NULs, fields)`` for each record, the header included."""
    reader = csv.reader(lines)
    while True:
        lines.start_record()
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "field larger than field limit" not in str(error):
                raise SourceError(f"{path} is not a well-formed CSV ({error}); download the year file again.") from None
            fields = _OVERLONG
        except OSError as error:
            raise SourceError(f"Cannot read {path} ({error.strerror}); check that it is a readable file.") from None
        yield [number for number, _ in lines.record], lines.saw_nul, fields


def _holds_rows(record: list[tuple[int, str]], width: int) -> bool:
    """Whether a line after the first of a well-shaped multi-line row is a whole row by itself.

    The lines of a quoted field (a tweet written over several lines) are text, not rows of the
    header's width; finding one means a stray quote swallowed rows and a later quote happened to
    close it in the same column, so the row is read again like a misshapen one.
    """
    for _, text in record[1:]:
        try:
            fields = next(csv.reader([text]), [])
        except csv.Error:
            continue
        if len(fields) == width:
            return True
    return False


def _read_again(texts: list[str], first: int, width: int) -> list[tuple[int, int, list[str] | None, str, int]]:
    """Split the lines of a row a stray quote ran on into rows again.

    From each line, parse one record on its own; a record with the header's number of fields
    is a row, the lines it spans consumed, unless it is the whole of ``texts`` again (the stray
    quote closed by a later one in the same column). A line whose record is not a row is set apart
    alone, as ``QUOTE`` when it swallowed lines, else ``SHAPE``, and parsing starts again on the
    next line.
    """
    parts, index = [], 0
    while index < len(texts):
        used, fields = _first_record(texts, index)
        if index == 0 and used == len(texts) and fields is not None and len(fields) == width:
            fields = None  # the swallowing row itself
        if fields == []:
            parts.append((first + index, first + index, None, BLANK, 0))
            index += 1
        elif fields is not None and len(fields) == width:
            parts.append((first + index, first + index + used - 1, fields, "", 0))
            index += used
        else:
            swallowed = used - 1
            parts.append((first + index, first + index, None, QUOTE if swallowed else SHAPE, swallowed))
            index += 1
    return parts


def _first_record(texts: list[str], start: int) -> tuple[int, list[str] | None]:
    """How many lines of ``texts[start:]`` the first record spans, and its fields (None: unparsable)."""
    used = 0

    def feed() -> Iterator[str]:
        nonlocal used
        for position in range(start, len(texts)):
            used += 1
            yield texts[position]

    try:
        fields = next(csv.reader(feed()), [])
    except csv.Error:
        return max(used, 1), None
    return max(used, 1), fields


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
