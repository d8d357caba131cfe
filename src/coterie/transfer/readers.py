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
from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path

from coterie.errors import Invalid
from coterie.transfer import spreadsheets, text_files
from coterie.transfer.tables import Cell, Source

__all__ = ["Cell", "Row", "Source", "count_rows", "detect", "headers", "rows"]

ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a member first, or an empty archive
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class Row:
    """One data row, exactly as wide as the header; `problem` says what did not fit."""

    number: int
    cells: tuple[Cell, ...]
    problem: str | None


def detect(
    path: Path, *, file_name: str, sheet: str | None = None, max_expanded_bytes: int
) -> Source:
    """Recognise the file and check it can be read whole; raises Invalid or TooLarge if not."""
    with path.open("rb") as file:
        head = file.read(text_files.SAMPLE)
    if not head:
        raise Invalid(f"{file_name} is empty", field="file")
    if head.startswith(ZIP):
        kind = spreadsheets.zip_kind(path, file_name, max_expanded_bytes)
        return spreadsheets.spreadsheet_source(path, kind, file_name, sheet)
    if head.startswith(OLE2):
        return spreadsheets.spreadsheet_source(path, "xls", file_name, sheet)
    return text_files.csv_source(path, head, file_name)


def headers(path: Path, source: Source) -> list[str]:
    """The column names: stripped, an empty one named "Column N", repeated ones numbered."""
    with closing(_records(path, source)) as records:
        return _names(_header(records))


def rows(path: Path, source: Source, *, start: int = 0) -> Iterator[Row]:
    """The data rows after the header, from data row `start + 1` on (to resume a job)."""
    with closing(_records(path, source)) as records:
        width = len(_names(_header(records)))
        for number, cells in enumerate(islice(records, start, None), start + 1):
            if len(cells) == width:
                yield Row(number, tuple(cells), None)
            else:
                yield _shape(number, cells, width)


def count_rows(path: Path, source: Source) -> int:
    """How many data rows `rows` yields (empty rows are not counted)."""
    with closing(_records(path, source)) as records:
        _header(records)
        return sum(1 for _ in records)


def _records(path: Path, source: Source) -> Generator[list[Cell], None, None]:
    """Every row that holds something, header included, as cleaned cells."""
    if source.format == "csv":
        return text_files.csv_records(path, source)
    return spreadsheets.sheet_records(path, source)


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
