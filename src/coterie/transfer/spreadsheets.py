"""XLSX, XLS and ODS workbooks: zip bombs refused, the sheet chosen, then its rows read by calamine.

Kept apart from `readers` because spreadsheets bring their own hazards (a zip archive's declared
sizes, hidden and empty sheets, calamine's cell types) that CSV files do not have.
"""

from __future__ import annotations

import zipfile
from collections.abc import Generator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import python_calamine

from coterie.errors import Invalid, TooLarge
from coterie.transfer.tables import Cell, SheetFormat, Source, not_readable

RawCell = int | float | str | bool | time | date | datetime | timedelta  # what calamine gives
MAX_RATIO = 100  # compression ratio refused for zip members over RATIO_FLOOR bytes
RATIO_FLOOR = 1024 * 1024
ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"


def zip_kind(path: Path, file_name: str, max_expanded_bytes: int) -> SheetFormat:
    """XLSX or ODS from the archive's members, after refusing a zip bomb."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_expansion(members, file_name, max_expanded_bytes)
            names = {member.filename for member in members}
            mime = None
            if "mimetype" in names and archive.getinfo("mimetype").file_size <= 200:
                mime = archive.read("mimetype").strip()
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError) as error:
        raise Invalid(f"{file_name} is a damaged zip file: {error}", field="file") from error
    xlsx = any(name.startswith("xl/") for name in names)
    ods = mime.startswith(ODS_MIME) if mime else "content.xml" in names
    if xlsx and ods:
        return "ods" if file_name.lower().endswith((".ods", ".ots")) else "xlsx"
    if xlsx or ods:
        return "xlsx" if xlsx else "ods"
    raise not_readable(file_name, "a zip archive of something else")


def _check_expansion(members: list[zipfile.ZipInfo], file_name: str, limit: int) -> None:
    """Refuses an archive that would expand too much, from the sizes its directory declares.

    calamine's zip reader stops at a member's declared size, so the declaration can be trusted.
    """
    total = sum(member.file_size for member in members)
    if total > limit:
        raise TooLarge(
            f"{file_name} expands too much when unzipped ({_mb(total)} MB, over the "
            f"{_mb(limit)} MB limit)"
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise TooLarge(
                f"{file_name} expands too much when unzipped ({member.filename} is compressed "
                f"{ratio:.0f} to 1): it looks like a zip bomb"
            )


def spreadsheet_source(
    path: Path, kind: SheetFormat, file_name: str, sheet: str | None
) -> tuple[Source, list[Cell]]:
    """The sheets of the workbook, the one to read (the one asked for, or the first used) and
    its header row: finding the first used sheet loads it, so its first row comes for free."""
    try:
        with python_calamine.CalamineWorkbook.from_path(path) as book:
            sheets = tuple(book.sheet_names)
            hidden = {
                meta.name
                for meta in book.sheets_metadata
                if meta.visible != python_calamine.SheetVisibleEnum.Visible
            }
            if sheet is not None:
                if sheet not in sheets:
                    raise Invalid(
                        f"{file_name} has no sheet named {sheet!r}; its sheets are: "
                        + ", ".join(sheets),
                        field="sheet",
                    )
                header = _first_row(book.get_sheet_by_name(sheet))
                if header is None:
                    raise Invalid(f"The sheet {sheet!r} of {file_name} is empty", field="sheet")
                return Source(kind, None, None, sheets, sheet), header
            ordered = [name for name in sheets if name not in hidden]
            ordered += [name for name in sheets if name in hidden]
            for name in ordered:
                header = _first_row(book.get_sheet_by_name(name))
                if header is not None:
                    return Source(kind, None, None, sheets, name), header
    except python_calamine.CalamineError as error:
        raise _damaged(file_name, kind, error) from error
    raise Invalid(f"{file_name} has no header row: all its sheets are empty", field="file")


def _first_row(sheet: python_calamine.CalamineSheet) -> list[Cell] | None:
    return next(records(sheet), None)


def load(path: Path, source: Source) -> python_calamine.CalamineSheet:
    """The chosen sheet (the first, for a Source without one), parsed whole: calamine parses a
    sheet only whole, and that is most of the cost of reading it, so it is done once a pass
    over the file is needed however many times the sheet is then read."""
    try:
        with python_calamine.CalamineWorkbook.from_path(path) as book:
            if source.sheet is None:
                return book.get_sheet_by_index(0)
            return book.get_sheet_by_name(source.sheet)
    except python_calamine.CalamineError as error:
        raise _damaged("The file", source.format, error) from error


def records(sheet: python_calamine.CalamineSheet) -> Generator[list[Cell], None, None]:
    """The non-empty rows of a loaded sheet, as cleaned cells."""
    for raw in sheet.iter_rows():
        # Text, most cells, is converted inline: a call a cell was a third of the reading.
        cells = [v.strip() or None if v.__class__ is str else _sheet_cell(v) for v in raw]
        if cells.count(None) != len(cells):
            yield cells


def count(sheet: python_calamine.CalamineSheet) -> int:
    """How many rows `records` yields, without converting their cells."""
    return sum(map(_has_data, sheet.iter_rows()))


def _has_data(raw: list[RawCell]) -> bool:
    """Whether `records` keeps the row: any cell but an empty or blank text."""
    for value in raw:  # noqa: SIM110 (the loop is a fifth faster than any() over a generator)
        if type(value) is not str or value.strip():
            return True
    return False


def _sheet_cell(value: RawCell) -> Cell:
    """calamine's value as a Cell: blanks (calamine's "") None, whole numbers int, dates date."""
    if type(value) is str:
        return value.strip() or None
    if type(value) is float:
        return int(value) if value.is_integer() else value
    if isinstance(value, datetime):
        return value.date() if value.time() == time() and value.tzinfo is None else value
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return value


def _damaged(name: str, kind: str, error: Exception) -> Invalid:
    return Invalid(f"{name} cannot be read as {kind.upper()}: {error}", field="file")


def _mb(size: int) -> str:
    return f"{size / 1_000_000:,.0f}"
