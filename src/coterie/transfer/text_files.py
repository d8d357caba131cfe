"""CSV files: their encoding, delimiter and damage found once, then their records streamed.

Kept apart from `readers` because guessing how a text export was written (byte order marks, UTF-16
without one, Windows-1252 versus other 8-bit encodings, `sep=` lines) is an idea of its own.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from collections.abc import Generator
from contextlib import closing
from itertools import chain
from pathlib import Path

import charset_normalizer

from coterie.errors import Invalid
from coterie.transfer.tables import Cell, Source, not_readable

SAMPLE = 64 * 1024  # bytes read to recognise the format, the encoding and the delimiter
CHUNK = 1024 * 1024  # bytes decoded at a time when checking a whole CSV file
DELIMITERS = (",", ";", "\t", "|")
BOMS = {
    codecs.BOM_UTF32_LE: "utf-32",  # before UTF-16's, which starts the same
    codecs.BOM_UTF32_BE: "utf-32",
    codecs.BOM_UTF8: "utf-8-sig",
    codecs.BOM_UTF16_LE: "utf-16",
    codecs.BOM_UTF16_BE: "utf-16",
}
SIGNATURES = {  # files uploaded by mistake, named in the error
    b"%PDF-": "a PDF document",
    b"{\\rtf": "an RTF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
}
MARKUP = {"<!doctype html": "an HTML page", "<html": "an HTML page", "<?xml": "an XML document"}
CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
WORD = re.compile(r"[^\W\d_]+")
SEP_LINE = re.compile(r"sep=(.)\s*")


def csv_source(path: Path, head: bytes, file_name: str) -> Source:
    """How to read a text file whose first bytes are `head`; raises Invalid if it is not CSV."""
    for signature, what in SIGNATURES.items():
        if head.startswith(signature):
            raise not_readable(file_name, what)
    encoding = _declared_encoding(head) or ("utf-8" if _is_utf8(head) else _legacy(head))
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    _check_text(text, file_name)
    failed_at = _scan(path, encoding, file_name)
    if failed_at is not None and encoding == "utf-8":
        with path.open("rb") as file:
            file.seek(max(failed_at - 1024, 0))
            encoding = _legacy(head + file.read(SAMPLE))
        failed_at = _scan(path, encoding, file_name)
    if failed_at is not None and encoding == "cp1252":
        encoding = "latin-1"  # five bytes are undefined in Windows-1252; Latin-1 reads any byte
        failed_at = _scan(path, encoding, file_name)
    if failed_at is not None:
        raise Invalid(
            f"{file_name} cannot be read as {encoding} text (byte {failed_at}); "
            "save it again as UTF-8 CSV",
            field="file",
        )
    source = Source("csv", encoding, _delimiter(text, len(head) == SAMPLE), (), None)
    with closing(csv_records(path, source)) as records:
        if next(records, None) is None:
            raise Invalid(f"{file_name} has no header row", field="file")
    return source


def _declared_encoding(head: bytes) -> str | None:
    """The encoding a byte order mark names, or UTF-16 recognised by its NUL-byte pattern."""
    for bom, encoding in BOMS.items():
        if head.startswith(bom):
            return encoding
    even, odd = head[0::2], head[1::2]
    if len(odd) >= 2:
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
            return "utf-16-be"
    return None


def _is_utf8(head: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _legacy(sample: bytes) -> str:
    """The 8-bit encoding of text that is not UTF-8.

    charset-normalizer alone is unreliable on short Western samples (it reads Spanish as
    Windows-1250, German as mac_roman), and Western spreadsheet exports are Windows-1252, so
    its guess is taken only when the Windows-1252 reading is garbled (Cyrillic, Greek, ...).
    """
    western = sample.decode("cp1252", errors="replace")
    if _garbled(western):
        best = charset_normalizer.from_bytes(sample).best()
        if best is not None and not best.encoding.startswith(("utf_16", "utf_32")):
            return best.encoding
    return "cp1252"


def _garbled(text: str) -> bool:
    """True when words with accented letters are mostly accents: another script misread."""
    words = [word for word in WORD.findall(text) if not word.isascii()]
    letters = sum(len(word) for word in words)
    accented = sum(not char.isascii() for word in words for char in word)
    return letters > 0 and accented > letters / 2


def _check_text(text: str, file_name: str) -> None:
    start = text.lstrip("\ufeff \t\r\n")[:16].lower()
    for opening, what in MARKUP.items():
        if start.startswith(opening):
            raise not_readable(file_name, what)
    if len(CONTROL.findall(text)) > 2 + len(text) / 100:
        raise not_readable(file_name, None)


def _scan(path: Path, encoding: str, file_name: str) -> int | None:
    """Decodes the whole file: the byte offset where decoding fails, or None if it does not.

    Raises Invalid at the first NUL character (spreadsheet programs and databases cut text
    there, so a file holding one is damaged or not text), and at a line so long that reading it
    would take the memory streaming is meant to save.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, line = 0, 1
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as error:
                return offset + max(error.start, 0)
            if len(chunk) == CHUNK and "\n" not in text and "\r" not in text:
                raise Invalid(
                    f"{file_name} has a line longer than {CHUNK // 1024} KB (from line {line}): "
                    "it is not a contact list",
                    field="file",
                )
            if "\x00" in text:
                line += text.count("\n", 0, text.index("\x00"))
                raise Invalid(
                    f"{file_name} contains a NUL byte (line {line}): it is damaged or not a "
                    "text file; save it again as CSV",
                    field="file",
                )
            offset += len(chunk)
            line += text.count("\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset
    return None


def _delimiter(text: str, truncated: bool) -> str:
    """The delimiter that splits the first lines most consistently into two or more cells.

    csv.Sniffer is not used: it often picks a letter or a space on real contact lists.
    """
    lines = text.splitlines(keepends=True)[:200]
    if truncated and len(lines) > 1:
        lines.pop()  # cut by the sample's end
    declared = SEP_LINE.fullmatch(lines[0]) if lines else None
    if declared and declared.group(1) in DELIMITERS:
        return declared.group(1)
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=True)
        try:
            widths = [len(record) for record in reader if "".join(record).strip()]
        except csv.Error:
            continue
        if not widths:
            continue
        width, hits = Counter(widths).most_common(1)[0]
        score = (hits / len(widths), width)
        if width > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def csv_records(path: Path, source: Source) -> Generator[list[Cell], None, None]:
    """The non-empty records, cells stripped and blanks None, after any `sep=` line."""
    with path.open(encoding=source.encoding, newline="") as text:
        first = text.readline()
        declared = SEP_LINE.fullmatch(first)
        lines = text if declared else chain([first], text)
        reader = csv.reader(lines, delimiter=source.delimiter or ",", skipinitialspace=True)
        try:
            for record in reader:
                if not record:
                    continue
                cells: list[Cell] = [*map(str.strip, record)]
                if "" in cells:
                    cells = [cell or None for cell in cells]
                    if cells.count(None) == len(cells):
                        continue
                yield cells
        except (csv.Error, UnicodeDecodeError) as error:
            raise Invalid(
                f"Line {reader.line_num} of the file cannot be read as CSV: {error}", field="file"
            ) from error
