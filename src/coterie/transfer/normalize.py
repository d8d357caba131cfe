"""Turning one row of an imported file into a person as the directory stores them.

Every cell goes through the directory's own rules (`contacts.normalize`, `fields.coerce`), after
a lenient reading of what spreadsheets and CRMs write: numbers stored as numbers, "1.234,5", "sí",
"31/12/2024". The work per column is decided once in `RowNormalizer.__init__`, because the same
few closures then run for every one of a file's possibly million rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import String

from coterie.directory import contacts, fields
from coterie.directory.models import Field, User
from coterie.errors import Invalid
from coterie.rules import FieldType
from coterie.transfer import identifiers
from coterie.transfer.mapping import (
    ATTRIBUTE_PREFIX,
    CONTACT_TARGETS,
    IDENTIFIER_TARGETS,
    NAME_TARGETS,
    SYSTEM_TARGETS,
    Mapping,
    NewField,
    problems,
)
from coterie.transfer.readers import Cell

Convert = Callable[[Any], Any]

NO_NAME = "no name"
NO_CONTACT = "no contact: phone, email, WhatsApp or Instagram"
MAX_NICKNAMES = 50

_LIST_SEPARATOR = re.compile(r"\s*[,;]\s*")
_TIME = r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
_DAY_FIRST = re.compile(r"(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})" + _TIME)
_YEAR_FIRST = re.compile(r"(?P<y>\d{4})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})" + _TIME)
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+")
_DIGIT_GAPS = str.maketrans("", "", " \u00a0\u202f\u2009'")
_CHANNEL_SPELLINGS = {
    **{c: c for c in fields.CHANNELS},
    **dict.fromkeys(("wa", "whats app"), "whatsapp"),
    **dict.fromkeys(("ig", "insta"), "instagram"),
    **dict.fromkeys(("e-mail", "e mail", "mail"), "email"),
    **dict.fromkeys(("call", "telephone", "mobile"), "phone"),
    "text": "sms",
}
_YES = "yes y true t 1 on x ✓ ✔ sí si oui vrai ja wahr sim verdadero verdadeiro"
_NO = "no n false f 0 off non faux nein falsch não nao falso"
_BOOLEANS = {**dict.fromkeys(_YES.split(), True), **dict.fromkeys(_NO.split(), False)}
_CONTACTS = frozenset(CONTACT_TARGETS)
_NAME_PARTS = (*NAME_TARGETS, "last_name")
_INSTAGRAM_LINK_END = re.compile(r"[/?#]")


def _length(column: str) -> int:
    kind = User.__table__.c[column].type
    assert isinstance(kind, String)
    assert kind.length is not None
    return kind.length


_LENGTHS = {
    name: _length(name)
    for name in ("full_name", "first_name", "last_name", "external_id", "source_ref")
}
_FULL_NAME_LENGTH = _LENGTHS["full_name"]


@dataclass(frozen=True)
class Normalized:
    """A row in stored form, and what could not be stored (empty when the row is fine)."""

    values: dict[str, Any]
    errors: tuple[tuple[str, str], ...]
    # The normalized identifiers present, by kind: how the import finds existing people. Made
    # with the row (a cached property's lock cost more than the dictionary, in every row).
    identifiers: dict[str, str]


class RowNormalizer:
    """Callable on a row's cells; built once per import from its mapping and fields."""

    def __init__(
        self,
        mapping: Mapping,
        headers: Sequence[str],
        fields: Sequence[Field],
        new_fields: Sequence[NewField],
        *,
        region: str,
    ) -> None:
        found = problems(mapping, headers, fields, new_fields)
        if found:
            raise Invalid("The column mapping cannot be used", errors=found)
        by_key = {f.key: f for f in fields}
        for new in new_fields:
            by_key[new.key] = Field(
                key=new.key, label=new.label, type=new.type, options=list(new.options)
            )
        self._columns: list[tuple[int, str, str, Convert, bool]] = []
        self._width = len(headers)
        name_headers: dict[str, str] = {}
        contact_headers: list[str] = []
        for index, header in enumerate(headers):
            target = mapping.get(header)
            if target is None:
                continue
            if target.startswith(ATTRIBUTE_PREFIX):
                key = target.removeprefix(ATTRIBUTE_PREFIX)
                self._columns.append((index, header, key, _custom(by_key[key], region), True))
                continue
            self._columns.append((index, header, target, _system(target, region), False))
            if target in _NAME_PARTS:
                name_headers.setdefault(target, header)
            if target in CONTACT_TARGETS:
                contact_headers.append(header)
        # Row-level problems sit on a name / contact column, or on a label when none is mapped.
        self._name_headers = [name_headers[t] for t in _NAME_PARTS if t in name_headers] or [
            SYSTEM_TARGETS["full_name"]
        ]
        self._contact_headers = contact_headers or ["Contact"]

    def __call__(self, cells: Sequence[Cell]) -> Normalized:
        if len(cells) < self._width:
            cells = (*cells, *(None,) * (self._width - len(cells)))
        values: dict[str, Any] = {}
        attributes: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        for index, header, key, convert, is_attribute in self._columns:
            cell = cells[index]
            if cell is None:
                continue
            if isinstance(cell, str):
                cell = cell.strip()
                if not cell:
                    continue
            try:
                value = convert(cell)
            except ValueError as exc:
                errors.append((header, str(exc)))
                continue
            if value is None:
                continue
            if is_attribute:
                attributes[key] = value
            else:
                values[key] = value
        if "full_name" not in values:
            parts = [values[k] for k in ("first_name", "last_name") if k in values]
            if not parts:
                errors.append((_free(self._name_headers, errors), NO_NAME))
            elif len(whole := " ".join(parts)) > _FULL_NAME_LENGTH:
                too_long = f"longer than {_FULL_NAME_LENGTH} characters"
                errors.append((self._name_headers[0], too_long))
            else:
                values["full_name"] = whole
        if _CONTACTS.isdisjoint(values):
            errors.append((_free(self._contact_headers, errors), NO_CONTACT))
        if attributes:
            values["attributes"] = attributes
        identifiers = {kind: values[kind] for kind in IDENTIFIER_TARGETS if kind in values}
        return Normalized(values, tuple(errors), identifiers)


def _free(headers: list[str], errors: list[tuple[str, str]]) -> str:
    """Where a row-level error goes: a column without an error of its own, so both show."""
    taken = {header for header, _ in errors}
    return next((h for h in headers if h not in taken), headers[0])


# --- system targets ---------------------------------------------------------------------------


def _system(target: str, region: str) -> Convert:
    if target in ("phone", "whatsapp"):
        return _phone(identifiers.phone_normalizer(region))
    if target in _LENGTHS:
        return _text(_LENGTHS[target])
    return _SYSTEM_READERS[target]


def _as_text(cell: Any) -> str:
    """A non-text cell as the person would read it in their spreadsheet."""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def _text(limit: int) -> Convert:
    def convert(cell: Any) -> str:
        text = _as_text(cell)
        if len(text) > limit:
            raise ValueError(f"longer than {limit} characters")
        return text

    return convert


def _phone(normalize: Callable[[str], Any]) -> Convert:
    """Phone numbers, also when a spreadsheet kept them as numbers and dropped the `+`."""

    def convert(cell: Any) -> Any:
        if isinstance(cell, str):
            text = cell
        elif isinstance(cell, int) and not isinstance(cell, bool) and cell > 0:
            text = str(cell)
        elif isinstance(cell, float) and cell.is_integer() and cell > 0:
            text = str(int(cell))
        else:
            raise ValueError(f"{cell!r} is not a phone number")
        try:
            return normalize(text)
        except ValueError as national:
            if not (text.isascii() and text.isdigit()):
                raise
            try:
                return normalize(f"+{text}")
            except ValueError:
                raise national from None

    return convert


def _email(normalize: Callable[[str], Any]) -> Convert:
    def convert(cell: Any) -> Any:
        if not isinstance(cell, str):
            raise ValueError(f"{cell!r} is not an email address")
        text: str = cell
        if text[:7].lower() == "mailto:":
            text = text[7:]
        return normalize(text)

    return convert


def _instagram(cell: Any) -> str:
    text = _as_text(cell)
    at = text.lower().find("instagram.com/")
    if at >= 0:  # a profile link: https://www.instagram.com/handle/?hl=en
        text = _INSTAGRAM_LINK_END.split(text[at + len("instagram.com/") :], maxsplit=1)[0]
    return contacts.normalize_instagram(text)


def _channel(cell: Any) -> str:
    text = _as_text(cell)
    channel = _CHANNEL_SPELLINGS.get(text.lower())
    if channel is None:
        raise ValueError(f"{text!r} is not a channel: {', '.join(fields.CHANNELS)}")
    return channel


def _split(cell: Any) -> list[str]:
    return [part for part in _LIST_SEPARATOR.split(_as_text(cell)) if part]


def _nicknames(cell: Any) -> list[str] | None:
    names = list(dict.fromkeys(_split(cell)))
    if len(names) > MAX_NICKNAMES:
        raise ValueError(f"more than {MAX_NICKNAMES} nicknames")
    return names or None


# --- dates and numbers ------------------------------------------------------------------------


def _parse_moment(text: str) -> datetime:
    """ISO 8601, DD/MM/YYYY or YYYY/MM/DD, optionally with HH:MM[:SS]; may be naive."""
    match = _DAY_FIRST.fullmatch(text) or _YEAR_FIRST.fullmatch(text)
    if match is None:
        return datetime.fromisoformat(text)
    day, month, year, hour, minute, second = (int(match[g] or 0) for g in "dmyHMS")
    if month > 12 >= day:  # unambiguously month first (12/31/2024)
        day, month = month, day
    return datetime(year, month, day, hour, minute, second)


def _moment(cell: Any) -> datetime:
    """An aware UTC datetime from a datetime, date or text cell (naive values are UTC)."""
    if isinstance(cell, datetime):
        moment = cell
    elif isinstance(cell, date):
        moment = datetime(cell.year, cell.month, cell.day)
    elif isinstance(cell, str):
        try:
            moment = _parse_moment(cell)
        except ValueError:
            raise ValueError(f"{cell!r} is not a date and time") from None
    else:
        raise ValueError(f"{cell!r} is not a date and time")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _day(cell: Any) -> date:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, str):
        try:
            return _parse_moment(cell).date()
        except ValueError:
            pass
    raise ValueError(f"{cell!r} is not a date")


def _number(cell: Any) -> int | float:
    """A number from a cell; text may group thousands and use a decimal comma."""
    if isinstance(cell, bool) or not isinstance(cell, int | float | str):
        raise ValueError(f"{cell!r} is not a number")
    if not isinstance(cell, str):
        return cell
    if cell.isascii() and cell.isdigit():
        return int(cell)
    text = cell.translate(_DIGIT_GAPS)
    comma, dot = text.rfind(","), text.rfind(".")
    if comma >= 0 and dot >= 0:  # the last separator is the decimal one: 1,234.5 or 1.234,5
        separator = "," if dot > comma else "."
        text = text.replace(separator, "").replace(",", ".")
    elif comma >= 0:  # 1,234 and 1,234,567 group thousands; 1,5 is a decimal comma
        text = text.replace(",", "") if _GROUPED.fullmatch(text) else text.replace(",", ".")
    elif text.count(".") > 1:  # 1.234.567
        text = text.replace(".", "")
    if not _PLAIN_NUMBER.fullmatch(text):
        raise ValueError(f"{cell!r} is not a number")
    if text.lstrip("+-").isdigit():
        return int(text)
    return float(text)


def _integer(cell: Any) -> int:
    number = _number(cell)
    if isinstance(number, float):
        if not number.is_integer():
            raise ValueError(f"{cell!r} is not a whole number")
        return int(number)
    return number


def _boolean(cell: Any) -> bool:
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, int | float) and cell in (0, 1):
        return bool(cell)
    answer = _BOOLEANS.get(_as_text(cell).lower())
    if answer is None:
        raise ValueError(f"{cell!r} is not yes or no")
    return answer


def _url(cell: Any) -> str:
    text = _as_text(cell)
    if "://" not in text and "." in text and " " not in text:
        return f"https://{text}"  # www.example.com, as people type it
    return text


# --- custom fields ----------------------------------------------------------------------------


def _options(field: Field) -> Convert:
    """Match each option case-insensitively to its spelling in the field; others fail later."""
    spelling = {option.casefold(): option for option in field.options}

    def one(text: str) -> str:
        return spelling.get(text.casefold(), text)

    if field.type == FieldType.MULTI_ENUM:
        return lambda cell: [one(part) for part in _split(cell)] or None
    return lambda cell: one(_as_text(cell))


_SYSTEM_READERS: dict[str, Convert] = {
    "email": _email(identifiers.normalize_email),
    "instagram": _instagram,
    "primary_channel": _channel,
    "nicknames": _nicknames,
    "last_activity_at": _moment,
}
_READERS: dict[str, Convert] = {
    FieldType.TEXT: _as_text,
    FieldType.NUMBER: _number,
    FieldType.INTEGER: _integer,
    FieldType.BOOLEAN: _boolean,
    FieldType.DATE: _day,
    FieldType.DATETIME: _moment,
    FieldType.URL: _url,
}


def _custom(field: Field, region: str) -> Convert:
    """Read the cell as the field's type, then store it as the directory would."""

    def store(value: Any) -> Any:
        return fields.coerce(field, value, region=region)

    if field.type == FieldType.PHONE:
        return _phone(store)
    if field.type == FieldType.EMAIL:
        return _email(store)
    if field.type in (FieldType.ENUM, FieldType.MULTI_ENUM):
        choose = _options(field)
        return lambda cell: None if (chosen := choose(cell)) is None else store(chosen)
    read = _READERS[field.type]
    return lambda cell: store(read(cell))
