"""The fields a rule can name, registered by each domain; this package knows no domain.

A domain describes each filterable field once (its name in rules, its type and the column that
holds it) and the rule engine compiles and validates against that catalog.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement

from coterie import errors


class FieldType(StrEnum):
    text = "text"
    number = "number"
    integer = "integer"
    boolean = "boolean"
    date = "date"
    datetime = "datetime"
    enum = "enum"
    multi_enum = "multi_enum"
    phone = "phone"
    email = "email"
    url = "url"


class Operator(StrEnum):
    eq = "eq"
    ne = "ne"
    in_ = "in"
    not_in = "not_in"
    contains = "contains"
    starts_with = "starts_with"
    ends_with = "ends_with"
    gt = "gt"
    gte = "gte"
    lt = "lt"
    lte = "lte"
    between = "between"
    is_set = "is_set"
    is_not_set = "is_not_set"
    before = "before"
    after = "after"
    within_last = "within_last"
    not_within_last = "not_within_last"
    any = "any"
    all = "all"


_O = Operator
_PRESENCE = frozenset({_O.is_set, _O.is_not_set})
_EQUALITY = frozenset({_O.eq, _O.ne, _O.in_, _O.not_in}) | _PRESENCE
_TEXT = _EQUALITY | {_O.contains, _O.starts_with, _O.ends_with}
_ORDER = frozenset({_O.gt, _O.gte, _O.lt, _O.lte, _O.between})
_DATES = (
    _PRESENCE
    | _ORDER
    | {_O.eq, _O.ne, _O.before, _O.after, _O.within_last, _O.not_within_last}
)

# Text has no gt/lt: SQLite and PostgreSQL collate text differently, so an ordering would
# depend on the database.
OPERATORS: dict[FieldType, frozenset[Operator]] = {
    FieldType.text: _TEXT,
    FieldType.phone: _TEXT,
    FieldType.email: _TEXT,
    FieldType.url: _TEXT,
    FieldType.number: _EQUALITY | _ORDER,
    FieldType.integer: _EQUALITY | _ORDER,
    FieldType.boolean: frozenset({_O.eq, _O.ne}) | _PRESENCE,
    FieldType.date: _DATES,
    FieldType.datetime: _DATES,
    FieldType.enum: _EQUALITY,
    FieldType.multi_enum: frozenset({_O.any, _O.all, _O.contains}) | _PRESENCE,
}

# Compared exactly (after `normalize`) so an index on the column serves eq and in.
EXACT_TYPES = frozenset({FieldType.enum, FieldType.phone, FieldType.email})

_JSON_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class FieldSpec:
    """One field as rules name it, and where its value lives.

    With `json_key` set the value is `column[json_key]` inside a JSON column, stored in the
    formats `format_date` and `format_datetime` describe; otherwise `column` holds it.
    """

    name: str
    type: FieldType
    column: ColumnElement[Any] = field(compare=False)
    json_key: str | None = None
    options: tuple[str, ...] = ()
    normalize: Callable[[str], str] | None = field(default=None, compare=False)
    label: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a field needs a name")
        if self.json_key is not None and not _JSON_KEY.fullmatch(self.json_key):
            raise ValueError(f"{self.name}: json_key {self.json_key!r} is not a plain key")
        choices = self.type in (FieldType.enum, FieldType.multi_enum)
        if choices and not self.options:
            raise ValueError(f"{self.name}: an {self.type} field needs options")
        if self.options and not choices:
            raise ValueError(f"{self.name}: only enum fields take options")


class FieldCatalog:
    """The fields one kind of record can be filtered on, looked up case-insensitively.

    SCIM attribute names are case-insensitive (RFC 7644 §3.10), so `Full_Name` finds `full_name`.
    """

    def __init__(self, specs: Iterable[FieldSpec]) -> None:
        self._specs: dict[str, FieldSpec] = {}
        for spec in specs:
            key = spec.name.casefold()
            if key in self._specs:
                raise ValueError(f"field {spec.name!r} is registered twice")
            self._specs[key] = spec

    def get(self, name: str, *, at: str) -> FieldSpec:
        spec = self._specs.get(name.casefold())
        if spec is None:
            raise errors.Invalid(self._unknown(name), field=at)
        return spec

    def _unknown(self, name: str) -> str:
        names = [spec.name for spec in self._specs.values()]
        if len(names) <= 12:
            return f"unknown field {name!r}; known fields: {', '.join(sorted(names))}"
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        return f"unknown field {name!r}{hint}"

    def __iter__(self) -> Iterator[FieldSpec]:
        return iter(self._specs.values())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.casefold() in self._specs

    def __len__(self) -> int:
        return len(self._specs)


def format_date(value: date) -> str:
    """How a date custom field is stored in JSON: `YYYY-MM-DD`."""
    if isinstance(value, datetime):
        raise TypeError("format_date takes a date, not a datetime")
    return value.isoformat()


def format_datetime(value: datetime) -> str:
    """How a datetime custom field is stored in JSON: `YYYY-MM-DDTHH:MM:SSZ` in UTC.

    Fixed width and whole seconds, so that comparing the strings orders the instants.
    """
    if value.tzinfo is None:
        raise ValueError("naive datetime given where UTC was expected")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
