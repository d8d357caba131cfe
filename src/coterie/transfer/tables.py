"""The types the reader modules share: a cell, how to read a file, and the refusal of a non-table.

They sit apart from `readers` so that `text_files` and `spreadsheets` can use them while `readers`
imports those two, without an import cycle; `readers` re-exports the public ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from coterie.errors import Invalid

Cell = str | int | float | bool | date | datetime | None
SheetFormat = Literal["xlsx", "xls", "ods"]


@dataclass(frozen=True)
class Source:
    """How to read one uploaded file, as `detect` found it; kept on the import job."""

    format: Literal["csv", "xlsx", "xls", "ods"]
    encoding: str | None
    delimiter: str | None
    sheets: tuple[str, ...]
    sheet: str | None


def not_readable(file_name: str, what: str | None) -> Invalid:
    """The refusal of a file that is none of the formats read, naming what it seems to be."""
    looks = f" (it looks like {what})" if what else ""
    return Invalid(f"{file_name} is not a CSV, XLSX, XLS or ODS file{looks}", field="file")
