"""Reading an uploaded contact file: CSV in any common dialect and encoding, XLSX, XLS or ODS.

The format comes from the file's bytes, not its name, because exports arrive misnamed (a "csv"
that Excel saved as XLSX, an "xls" that is tab-separated text). `detect` checks the whole file
once, when it is uploaded (format, encoding, NUL bytes, zip bombs, a header row), so that `rows`
can stream it later, for the preview and the import job, without surprises. CSV is never read
whole into memory (`text_files`); spreadsheets are loaded a sheet at a time by python-calamine
(`spreadsheets`).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import closing
from datetime import date
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from coterie.errors import Invalid
from coterie.transfer import spreadsheets, text_files
from coterie.transfer.tables import Cell, Source

__all__ = ["Cell", "Row", "Source", "Table", "count_rows", "detect", "rows"]

ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a member first, or an empty archive
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class Row(NamedTuple):
    """One data row, exactly as wide as the header; `problem` says what did not fit. A named
    tuple: made for every row of a file, a frozen dataclass cost a tenth of reading a sheet."""

    number: int
    cells: tuple[Cell, ...]
    problem: str | None


def detect(
    path: Path, *, file_name: str, sheet: str | None = None, max_expanded_bytes: int
) -> tuple[Source, list[str]]:
    """Recognise the file, check it can be read whole and name its columns; raises Invalid or
    TooLarge if not. A spreadsheet is parsed once for all three (see `Table`)."""
    with path.open("rb") as file:
        head = file.read(text_files.SAMPLE)
    if not head:
        raise Invalid(f"{file_name} is empty", field="file")
    if head.startswith(ZIP):
        kind = spreadsheets.zip_kind(path, file_name, max_expanded_bytes)
        source, header = spreadsheets.spreadsheet_source(path, kind, file_name, sheet)
        return source, _names(header)
    if head.startswith(OLE2):
        source, header = spreadsheets.spreadsheet_source(path, "xls", file_name, sheet)
        return source, _names(header)
    source = text_files.csv_source(path, head, file_name)
    return source, Table(path, source).headers()


class Table:
    """An uploaded file opened to be read, as many times as a stage needs (count, then rows).

    calamine parses a sheet only whole, which is most of the cost of reading a spreadsheet:
    the sheet is parsed once, when the table is opened, and kept while it is read. A CSV file
    is streamed again on each pass and never held in memory.
    """

    def __init__(self, path: Path, source: Source) -> None:
        self.path, self.source = path, source
        self._sheet = None if source.format == "csv" else spreadsheets.load(path, source)

    def _records(self) -> Generator[list[Cell], None, None]:
        """Every row that holds something, header included, as cleaned cells."""
        if self._sheet is None:
            return text_files.csv_records(self.path, self.source)
        return spreadsheets.records(self._sheet)

    def headers(self) -> list[str]:
        """The column names: stripped, an empty one named "Column N", repeated ones numbered."""
        with closing(self._records()) as records:
            return _names(_header(records))

    def rows(self, *, start: int = 0) -> Iterator[Row]:
        """The data rows after the header, from data row `start + 1` on (to resume a job)."""
        with closing(self._records()) as records:
            width = len(_names(_header(records)))
            for number, cells in enumerate(islice(records, start, None), start + 1):
                if len(cells) == width:
                    yield Row(number, tuple(cells), None)
                else:
                    yield _shape(number, cells, width)

    def count(self) -> int:
        """How many data rows `rows` yields (empty rows are not counted)."""
        if self._sheet is not None:
            return max(spreadsheets.count(self._sheet) - 1, 0)  # less the header
        with closing(self._records()) as records:
            _header(records)
            return sum(1 for _ in records)


def rows(path: Path, source: Source, *, start: int = 0) -> Iterator[Row]:
    """The data rows after the header, for a single pass over the file."""
    return Table(path, source).rows(start=start)


def count_rows(path: Path, source: Source) -> int:
    """How many data rows the file has, for a single pass over it."""
    return Table(path, source).count()


def _header(records: Iterator[list[Cell]]) -> list[Cell]:
    header = next(records, None)
    if header is None:
        raise Invalid("The file has no header row", field="file")
    return header


def _names(header: list[Cell]) -> list[str]:
    """Unique column names; trailing empty header cells are not columns."""
    width = len(header)
    while width and header[width - 1] is None:
        width -= 1
    names = [_label(cell) or f"Column {n}" for n, cell in enumerate(header[:width], 1)]
    reserved = {name.casefold() for name in names}
    seen: set[str] = set()
    unique = []
    for name in names:
        candidate, copy = name, 1
        while candidate.casefold() in seen or (copy > 1 and candidate.casefold() in reserved):
            copy += 1
            candidate = f"{name} ({copy})"
        seen.add(candidate.casefold())
        unique.append(candidate)
    return unique


def _label(cell: Cell) -> str:
    """A header cell as text, whitespace (line breaks in a spreadsheet header) collapsed."""
    if cell is None:
        return ""
    text = cell.isoformat() if isinstance(cell, date) else str(cell)
    return " ".join(text.replace("\ufeff", "").split())


def _shape(number: int, cells: list[Cell], width: int) -> Row:
    """Pads a short row; cuts a long one, reporting it only when the cut cells held data."""
    size = len(cells)
    if size <= width:
        return Row(number, (*cells, *(None,) * (width - size)), None)
    extra = cells[width:]
    if extra.count(None) == len(extra):
        return Row(number, tuple(cells[:width]), None)
    while cells[size - 1] is None:
        size -= 1
    return Row(
        number, tuple(cells[:width]), f"this row has {size} cells but the header has {width}"
    )
