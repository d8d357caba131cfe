"""Reading uploaded contact files: real files, written the way exporting programs write them."""

from __future__ import annotations

import codecs
import csv
import io
import random
import struct
import tracemalloc
import zipfile
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import escape, quoteattr

import pytest
import xlsxwriter  # type: ignore[import-untyped]

from coterie.errors import Invalid, TooLarge
from coterie.transfer import readers
from coterie.transfer.readers import Row, Source

FILES = Path(__file__).parent / "files"
LIMIT = 500_000_000
NOT_READABLE = "is not a CSV, XLSX, XLS or ODS file"


class Formula(NamedTuple):
    text: str
    cached: float


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def detect(path: Path, **options: str) -> Source:
    return readers.detect(path, file_name=path.name, max_expanded_bytes=LIMIT, **options)[0]


def read(path: Path, **options: str) -> tuple[Source, list[str], list[Row]]:
    source, headers = readers.detect(path, file_name=path.name, max_expanded_bytes=LIMIT, **options)
    return source, headers, list(readers.rows(path, source))


def cells(found: list[Row]) -> list[tuple[object, ...]]:
    return [row.cells for row in found]


def write_xlsx(path: Path, sheets: Mapping[str, Sequence[Sequence[object]]]) -> Path:
    book = xlsxwriter.Workbook(str(path))
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for name, table in sheets.items():
        sheet = book.add_worksheet(name)
        for r, values in enumerate(table):
            for c, value in enumerate(values):
                if isinstance(value, Formula):
                    sheet.write_formula(r, c, value.text, None, value.cached)
                elif isinstance(value, datetime):
                    sheet.write_datetime(r, c, value, stamp)
                elif isinstance(value, date):
                    sheet.write_datetime(r, c, value, day)
                elif value is not None:
                    sheet.write(r, c, value)
    book.close()
    return path


DATE, FLOAT, STRING = (f'office:value-type="{kind}"' for kind in ("date", "float", "string"))
MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def write_ods(path: Path, sheets: Mapping[str, Sequence[Sequence[object]]]) -> Path:
    """An ODS file as LibreOffice writes one: typed cells, cached formula values, a mimetype."""

    def cell(value: object) -> str:
        if value is None:
            return "<table:table-cell/>"
        if isinstance(value, Formula):
            return (
                f"<table:table-cell table:formula={quoteattr('of:' + value.text)} "
                f'{FLOAT} office:value="{value.cached}"/>'
            )
        if isinstance(value, date):
            return f'<table:table-cell {DATE} office:date-value="{value.isoformat()}"/>'
        if isinstance(value, int | float):
            return f'<table:table-cell {FLOAT} office:value="{value}"/>'
        return (
            f"<table:table-cell {STRING}><text:p>{escape(str(value))}</text:p></table:table-cell>"
        )

    tables = "".join(
        f"<table:table table:name={quoteattr(name)}>"
        + "".join(
            "<table:table-row>" + "".join(map(cell, values)) + "</table:table-row>"
            for values in table
        )
        + "</table:table>"
        for name, table in sheets.items()
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", MANIFEST, zipfile.ZIP_DEFLATED)
    return path


# CSV dialects and encodings ------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_recognised(tmp_path: Path, delimiter: str) -> None:
    table = [
        ["Name", "Phone", "Notes"],
        ["Lima, Ana", "+44 7700 900123", "likes; cats | dogs"],
        ["Bo Chen", "020 7946 0000", "tab\tinside"],
        ["Cy", "", "x"],
    ]
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter).writerows(table)
    source, names, found = read(write(tmp_path, "people.csv", text.getvalue()))
    assert source == Source("csv", "utf-8", delimiter, (), None)
    assert names == table[0]
    assert cells(found) == [
        ("Lima, Ana", "+44 7700 900123", "likes; cats | dogs"),
        ("Bo Chen", "020 7946 0000", "tab\tinside"),
        ("Cy", None, "x"),
    ]


def test_utf8_with_bom_and_semicolons_as_excel_saves_it(tmp_path: Path) -> None:
    text = "Nombre;Teléfono;Correo\r\nJosé Núñez;+34 600 000 000;jose@example.es\r\n"
    source, names, found = read(write(tmp_path, "c.csv", codecs.BOM_UTF8 + text.encode()))
    assert (source.encoding, source.delimiter) == ("utf-8-sig", ";")
    assert names == ["Nombre", "Teléfono", "Correo"]  # no BOM glued to the first header
    assert cells(found) == [("José Núñez", "+34 600 000 000", "jose@example.es")]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (codecs.BOM_UTF16_LE + "Name\tCity\r\nZoë\t東京\r\n".encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + "Name\tCity\r\nZoë\t東京\r\n".encode("utf-16-be"), "utf-16"),
        ("Name\tCity\r\nZoë\t東京\r\n".encode("utf-16-le"), "utf-16-le"),
    ],
    ids=["excel-unicode-text", "big-endian", "no-bom"],
)
def test_utf16_unicode_text(tmp_path: Path, data: bytes, encoding: str) -> None:
    source, names, found = read(write(tmp_path, "export.txt", data))
    assert (source.encoding, source.delimiter) == (encoding, "\t")
    assert names == ["Name", "City"]
    assert cells(found) == [("Zoë", "東京")]


def test_windows_1252_is_not_misread(tmp_path: Path) -> None:
    text = "Nombre;Ciudad;Precio\r\nJosé Núñez;Málaga;10 €\r\nFrançoise;Besançon;5 €\r\n"
    source, names, found = read(write(tmp_path, "c.csv", text.encode("cp1252")))
    assert source.encoding == "cp1252"  # not UTF-8 (it is not valid), nor mac_roman or cp1250
    assert names == ["Nombre", "Ciudad", "Precio"]
    assert cells(found) == [("José Núñez", "Málaga", "10 €"), ("Françoise", "Besançon", "5 €")]


def test_windows_1252_found_past_an_ascii_start(tmp_path: Path) -> None:
    rows = "".join(f"Person {n},{n}\n" for n in range(8000))  # over the 64 KB sample
    data = ("Name,Number\n" + rows + "Muñoz,1\n").encode("cp1252")
    path = write(tmp_path, "c.csv", data)
    source = detect(path)
    assert source.encoding == "cp1252"
    assert [row.cells for row in readers.rows(path, source, start=8000)] == [("Muñoz", "1")]


def test_bytes_undefined_in_windows_1252_read_as_latin_1(tmp_path: Path) -> None:
    source, _, found = read(write(tmp_path, "c.csv", b"Name,Code\nJos\xe9,\x8d\n"))
    assert source.encoding == "latin-1"
    assert cells(found) == [("José", "\x8d")]


def test_cyrillic_windows_1251_is_recognised(tmp_path: Path) -> None:
    text = "имя,фамилия,город\nИван,Иванов,Москва\nПётр,Петров,Санкт-Петербург\n"  # noqa: RUF001
    source, names, found = read(write(tmp_path, "ru.csv", text.encode("cp1251")))
    assert source.encoding == "cp1251"
    assert names == ["имя", "фамилия", "город"]
    assert found[1].cells == ("Пётр", "Петров", "Санкт-Петербург")


def test_quoted_newlines_and_delimiters_stay_in_one_cell(tmp_path: Path) -> None:
    data = 'Name,Address,Phone\n"Lima, Ana","1 High St\nFlat 2, Leeds",123\nBo,"""Quoted""",4\n'
    path = write(tmp_path, "c.csv", data)
    _, _, found = read(path)
    assert [(row.number, row.cells) for row in found] == [
        (1, ("Lima, Ana", "1 High St\nFlat 2, Leeds", "123")),
        (2, ("Bo", '"Quoted"', "4")),
    ]
    assert readers.count_rows(path, detect(path)) == 2


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_any_line_ending(tmp_path: Path, newline: str) -> None:
    data = newline.join(["Name;Phone", "Ana;1", "Bo;2", ""])
    _, names, found = read(write(tmp_path, "c.csv", data))
    assert names == ["Name", "Phone"]
    assert cells(found) == [("Ana", "1"), ("Bo", "2")]


def test_sep_line_written_by_excel_names_the_delimiter(tmp_path: Path) -> None:
    source, names, found = read(write(tmp_path, "c.csv", "sep=;\nName;Amount\nAna;1,5\n"))
    assert source.delimiter == ";"
    assert names == ["Name", "Amount"]
    assert cells(found) == [("Ana", "1,5")]


def test_one_column_file(tmp_path: Path) -> None:
    source, names, found = read(write(tmp_path, "c.csv", "Email\na@example.com\nb@example.com\n"))
    assert names == ["Email"]
    assert cells(found) == [("a@example.com",), ("b@example.com",)]
    assert source.delimiter == ","


# Rows and headers ------------------------------------------------------------------------------


def test_cells_are_stripped_and_empty_rows_skipped(tmp_path: Path) -> None:
    data = " Name , Phone \n\n  Ana  ,\u00a01\u00a0\n , \n,,\n\tBo\t,  \n\n\n"
    path = write(tmp_path, "c.csv", data)
    _, names, found = read(path)
    assert names == ["Name", "Phone"]
    assert [(row.number, row.cells) for row in found] == [(1, ("Ana", "1")), (2, ("Bo", None))]
    assert readers.count_rows(path, detect(path)) == 2


def test_ragged_rows_are_padded_or_reported(tmp_path: Path) -> None:
    data = "a,b,c,d,e\n1\n1,2,3,4,5,6,7\n1,2,3,4,5,,\n1,2,3,4,5\n"
    _, _, found = read(write(tmp_path, "c.csv", data))
    assert found == [
        Row(1, ("1", None, None, None, None), None),
        Row(2, ("1", "2", "3", "4", "5"), "this row has 7 cells but the header has 5"),
        Row(3, ("1", "2", "3", "4", "5"), None),  # the extra cells were empty: nothing is lost
        Row(4, ("1", "2", "3", "4", "5"), None),
    ]


def test_empty_and_repeated_headers_are_named(tmp_path: Path) -> None:
    data = "Email,email,,Phone, ,Email,Email (2)\n" + "1,2,3,4,5,6,7\n"
    _, names, found = read(write(tmp_path, "c.csv", data))
    assert names == [
        "Email",
        "email (3)",
        "Column 3",
        "Phone",
        "Column 5",
        "Email (4)",
        "Email (2)",
    ]
    assert len(set(names)) == len(found[0].cells) == 7


def test_resuming_skips_the_rows_already_done(tmp_path: Path) -> None:
    data = "Name\n" + "".join(f"P{n}\n\n" for n in range(1, 11))
    path = write(tmp_path, "c.csv", data)
    source = detect(path)
    resumed = list(readers.rows(path, source, start=7))
    assert [(row.number, row.cells) for row in resumed] == [
        (8, ("P8",)),
        (9, ("P9",)),
        (10, ("P10",)),
    ]
    assert list(readers.rows(path, source, start=10)) == []
    assert readers.count_rows(path, source) == 10


def test_csv_is_streamed_not_loaded(tmp_path: Path) -> None:
    line = "Some Person,+44 7700 900123,someone@example.com," + "x" * 60 + "\n"
    path = tmp_path / "big.csv"
    with path.open("w") as file:
        file.write("Name,Phone,Email,Notes\n")
        for _ in range(120_000):
            file.write(line)
    assert path.stat().st_size > 12_000_000
    source = detect(path)
    tracemalloc.start()
    try:
        assert sum(1 for _ in readers.rows(path, source)) == 120_000
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


# Refused files -------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\n\n  \r\n", codecs.BOM_UTF8, b"sep=;\n"])
def test_empty_file_or_no_header(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(Invalid, match=r"empty|no header") as caught:
        detect(write(tmp_path, "c.csv", data))
    assert caught.value.errors[0].field == "file"


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [
        (random.Random(4).randbytes(5000), ""),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n", "a PDF document"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "a PNG image"),
        (b"<!DOCTYPE html><html><table><tr><td>Name</td></tr></table></html>", "an HTML page"),
    ],
    ids=["junk", "pdf", "png", "html"],
)
def test_other_files_are_refused(tmp_path: Path, data: bytes, looks_like: str) -> None:
    with pytest.raises(Invalid, match=NOT_READABLE) as caught:
        detect(write(tmp_path, "contacts.csv", data))
    assert looks_like in caught.value.detail
    assert caught.value.errors[0].field == "file"


def test_zip_of_something_else_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "letter.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(Invalid, match=NOT_READABLE):
        detect(path)


def test_csv_starting_like_a_zip_is_still_csv(tmp_path: Path) -> None:
    source, names, _ = read(write(tmp_path, "c.csv", "PK,Name\n1,Ana\n"))
    assert (source.format, names) == ("csv", ["PK", "Name"])


def test_a_line_too_long_to_stream_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "Name,Notes\nAna," + "x," * 1_500_000 + "\n")
    with pytest.raises(Invalid, match=r"line longer than 1024 KB \(from line 2\)"):
        detect(path)


def test_nul_bytes_in_text_are_named(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match=r"NUL byte \(line 3\)") as caught:
        detect(write(tmp_path, "c.csv", b"Name,Phone\nAna,1\nBo,\x002\n"))
    assert caught.value.errors[0].field == "file"


def test_unclosed_quote_is_reported_not_swallowed(tmp_path: Path) -> None:
    data = 'Name,Notes\nAna,"never closed\n' + "Bo,fine\n" * 20_000
    path = write(tmp_path, "c.csv", data)
    source = detect(path)
    with pytest.raises(Invalid, match="cannot be read as CSV: field larger than field limit"):
        list(readers.rows(path, source))


# Spreadsheets --------------------------------------------------------------------------------

PEOPLE: list[list[object]] = [
    [" Name ", "Phone", "Born", "Last seen", "Total", "Paid", "Phone\nNumber"],
    [
        *("  Ana Lima ", 447700900123, date(1990, 5, 17), datetime(2024, 1, 2, 13, 45)),
        *(Formula("=2+3", 5), True, None),
    ],
    ["Bo Chen", None, None, datetime(2024, 3, 4), 2.5, False, "  "],
]
STAFF: list[list[object]] = [["Email", "Role"], ["zoe@example.com", "admin"]]


def test_xlsx_values_are_typed(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "book.xlsx", {"People": PEOPLE, "Staff": STAFF})
    source, names, found = read(path)
    assert source == Source("xlsx", None, None, ("People", "Staff"), "People")
    assert names == ["Name", "Phone", "Born", "Last seen", "Total", "Paid", "Phone Number"]
    assert cells(found) == [
        ("Ana Lima", 447700900123, date(1990, 5, 17), datetime(2024, 1, 2, 13, 45), 5, True, None),
        ("Bo Chen", None, None, date(2024, 3, 4), 2.5, False, None),
    ]
    first = found[0].cells
    assert type(first[1]) is int  # a phone stored as a number keeps no ".0"
    assert type(first[2]) is date  # not a midnight datetime
    assert type(first[4]) is int  # the formula's cached value
    assert readers.count_rows(path, source) == 2


def test_xlsx_second_sheet_can_be_picked(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "book.xlsx", {"People": PEOPLE, "Staff": STAFF})
    source, names, found = read(path, sheet="Staff")
    assert source.sheet == "Staff"
    assert names == ["Email", "Role"]
    assert cells(found) == [("zoe@example.com", "admin")]


def test_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "book.xlsx", {"People": PEOPLE, "Staff": STAFF})
    with pytest.raises(
        Invalid, match="no sheet named 'Clients'; its sheets are: People, Staff"
    ) as caught:
        detect(path, sheet="Clients")
    assert caught.value.errors[0].field == "sheet"


def test_default_sheet_is_the_first_with_data_and_header_the_first_row(tmp_path: Path) -> None:
    data: list[list[object]] = [
        [],
        [],
        [None, None, "Email", "Phone"],
        [],
        [None, None, "a@x.io", 7],
    ]
    path = write_xlsx(tmp_path / "book.xlsx", {"Cover": [], "Data": data})
    source, names, found = read(path)
    assert source.sheet == "Data"
    assert names == ["Email", "Phone"]
    assert found == [Row(1, ("a@x.io", 7), None)]


def test_a_hidden_sheet_is_not_the_default(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    book = xlsxwriter.Workbook(str(path))
    lookup = book.add_worksheet("Lookup")
    lookup.write_row(0, 0, ["Code", "Label"])
    contacts = book.add_worksheet("Contacts")
    contacts.write_row(0, 0, ["Email"])
    contacts.activate()
    lookup.hide()
    book.close()
    assert detect(path).sheet == "Contacts"
    assert detect(path, sheet="Lookup").sheet == "Lookup"


def test_spreadsheet_row_longer_than_its_header_is_reported(tmp_path: Path) -> None:
    table: list[list[object]] = [["Name", "Phone"], ["Ana", 1, None, "stray"], ["Bo", 2]]
    _, names, found = read(write_xlsx(tmp_path / "book.xlsx", {"S": table}))
    assert names == ["Name", "Phone"]
    assert found == [
        Row(1, ("Ana", 1), "this row has 4 cells but the header has 2"),
        Row(2, ("Bo", 2), None),
    ]


def test_spreadsheet_resumes_and_counts(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "book.xlsx", {"S": [["N"], *([n] for n in range(1, 6))]})
    source = detect(path)
    assert [row.cells for row in readers.rows(path, source, start=3)] == [(4,), (5,)]
    assert readers.count_rows(path, source) == 5


def test_xls(tmp_path: Path) -> None:
    path = tmp_path / "old export.xls"
    path.write_bytes((FILES / "contacts.xls").read_bytes())
    source, names, found = read(path)
    assert source == Source("xls", None, None, ("Contacts", "Notes"), "Contacts")
    assert names == ["Name", "Phone", "Born", "Notes"]
    assert cells(found) == [
        ("Ana Lima", 447700900123, date(1990, 5, 17), "VIP"),
        ("Bo Chen", 2.5, None, None),
    ]
    assert read(path, sheet="Notes")[2] == [Row(1, ("second sheet",), None)]


def test_ods(tmp_path: Path) -> None:
    table: list[list[object]] = [
        ["Name", "Phone", "Born", "Seen", "Total"],
        ["José", 447700900123, date(1990, 5, 17), datetime(2024, 1, 2, 13, 45), Formula("=2+3", 5)],
        [None],
        ["Bo", None, None, None, 0.5],
    ]
    path = write_ods(tmp_path / "book.ods", {"Contacts": table, "Other": STAFF})
    source, names, found = read(path)
    assert source == Source("ods", None, None, ("Contacts", "Other"), "Contacts")
    assert names == ["Name", "Phone", "Born", "Seen", "Total"]
    assert cells(found) == [
        ("José", 447700900123, date(1990, 5, 17), datetime(2024, 1, 2, 13, 45), 5),
        ("Bo", None, None, None, 0.5),
    ]
    assert read(path, sheet="Other")[1] == ["Email", "Role"]


def test_format_comes_from_the_content_not_the_name(tmp_path: Path) -> None:
    xlsx = write_xlsx(tmp_path / "contacts.csv", {"Staff": STAFF})
    assert detect(xlsx).format == "xlsx"
    text = write(tmp_path, "contacts.xls", "Name\tPhone\nAna\t1\n")
    assert (detect(text).format, detect(text).delimiter) == ("csv", "\t")


def test_damaged_spreadsheets_are_invalid_with_the_reason(tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "good.xlsx", {"Staff": STAFF}).read_bytes()
    with pytest.raises(Invalid, match="damaged zip file"):
        detect(write(tmp_path, "cut.xlsx", good[: len(good) // 2]))

    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(tmp_path / "good.xlsx") as source, zipfile.ZipFile(broken, "w") as out:
        for member in source.infolist():
            data = source.read(member)
            out.writestr(member, b"<sheetData><row" if "worksheets/" in member.filename else data)
    with pytest.raises(Invalid, match=r"cannot be read as XLSX: .*not closed") as caught:
        detect(broken)
    assert caught.value.errors[0].field == "file"

    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + random.Random(2).randbytes(3000)
    with pytest.raises(Invalid, match="cannot be read as XLS: "):
        detect(write(tmp_path, "junk.xls", ole2))


# Zip bombs -----------------------------------------------------------------------------------


def test_zip_bomb_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            zeros = bytes(1024 * 1024)
            for _ in range(200):  # 200 MB of zeros, about 200 KB on disk
                member.write(zeros)
    assert path.stat().st_size < 1_000_000
    with pytest.raises(TooLarge, match="expands too much"):
        readers.detect(path, file_name="bomb.xlsx", max_expanded_bytes=10**12)


def test_expansion_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "book.xlsx", {"People": PEOPLE})
    assert detect(path).format == "xlsx"
    with pytest.raises(TooLarge, match="expands too much"):
        readers.detect(path, file_name="book.xlsx", max_expanded_bytes=2_000)


def test_a_zip_that_understates_its_sizes_is_not_read_past_them(tmp_path: Path) -> None:
    """The bomb check trusts the declared sizes because calamine stops where they end."""
    path = write_xlsx(tmp_path / "book.xlsx", {"S": [["N"], *([n] for n in range(20_000))]})
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    for signature, size_at, name_length_at, name_at in (
        (b"PK\x03\x04", 22, 26, 30),  # local header
        (b"PK\x01\x02", 24, 28, 46),  # central directory entry
    ):
        at = data.find(signature)
        while at >= 0:
            (length,) = struct.unpack_from("<H", data, at + name_length_at)
            if data[at + name_at : at + name_at + length] == name:
                struct.pack_into("<I", data, at + size_at, 1_000)
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    with pytest.raises(Invalid, match="larger than its declared"):
        detect(path)
