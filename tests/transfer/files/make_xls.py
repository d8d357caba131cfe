"""Writes contacts.xls, the committed XLS fixture: `python tests/transfer/files/make_xls.py`.

It needs xlwt, the only library that writes the old binary format; the tests read the committed
file, so they do not need it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import xlwt  # type: ignore[import-untyped]

HERE = Path(__file__).parent


def main() -> None:
    book = xlwt.Workbook()
    day = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    sheet = book.add_sheet("Contacts")
    for column, title in enumerate(["Name", "Phone", "Born", "Notes"]):
        sheet.write(0, column, title)
    sheet.write(1, 0, "  Ana Lima  ")
    sheet.write(1, 1, 447700900123.0)
    sheet.write(1, 2, date(1990, 5, 17), day)
    sheet.write(1, 3, "VIP")
    sheet.write(2, 0, "Bo Chen")
    sheet.write(2, 1, 2.5)
    other = book.add_sheet("Notes")
    other.write(0, 0, "Note")
    other.write(1, 0, "second sheet")
    book.save(str(HERE / "contacts.xls"))


if __name__ == "__main__":
    main()
