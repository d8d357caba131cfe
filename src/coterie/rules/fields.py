"""The fields a rule can name, registered by each domain; this package knows no domain.

A domain describes each filterable field once (its name in rules, its type and the column that
holds it) and the rule engine compiles and validates against that catalog. Group membership
(`member_of`) is not a column: the groups domain plugs it in as a `MembershipSource`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import ColumnElement

from coterie import errors


class FieldType(StrEnum):
    """A field's value type: it decides the operators a rule may use and how values are read."""

    TEXT = "text"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    MULTI_ENUM = "multi_enum"
    PHONE = "phone"
    EMAIL = "email"
    URL = "url"


class Operator(StrEnum):
    """Every operator of the language; `OPERATORS` says which apply to which field type."""

    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    IS_SET = "is_set"
    IS_NOT_SET = "is_not_set"
    BEFORE = "before"
    AFTER = "after"
    WITHIN_LAST = "within_last"
    NOT_WITHIN_LAST = "not_within_last"
    ANY = "any"
    ALL = "all"


_O = Operator
_PRESENCE = frozenset({_O.IS_SET, _O.IS_NOT_SET})
_EQUALITY = frozenset({_O.EQ, _O.NE, _O.IN, _O.NOT_IN}) | _PRESENCE
_TEXT = _EQUALITY | {_O.CONTAINS, _O.STARTS_WITH, _O.ENDS_WITH}
_ORDER = frozenset({_O.GT, _O.GTE, _O.LT, _O.LTE, _O.BETWEEN})
_DATES = (
    _PRESENCE | _ORDER | {_O.EQ, _O.NE, _O.BEFORE, _O.AFTER, _O.WITHIN_LAST, _O.NOT_WITHIN_LAST}
)

# Text has no gt/lt: SQLite and PostgreSQL collate text differently, so an ordering would
# depend on the database.
OPERATORS: dict[FieldType, frozenset[Operator]] = {
    FieldType.TEXT: _TEXT,
    FieldType.PHONE: _TEXT,
    FieldType.EMAIL: _TEXT,
    FieldType.URL: _TEXT,
    FieldType.NUMBER: _EQUALITY | _ORDER,
    FieldType.INTEGER: _EQUALITY | _ORDER,
    FieldType.BOOLEAN: frozenset({_O.EQ, _O.NE}) | _PRESENCE,
    FieldType.DATE: _DATES,
    FieldType.DATETIME: _DATES,
    FieldType.ENUM: _EQUALITY,
    FieldType.MULTI_ENUM: frozenset({_O.ANY, _O.ALL, _O.CONTAINS}) | _PRESENCE,
}

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
    options: tuple[str, ...] = ()
    _: KW_ONLY
    json_key: str | None = None
    normalize: Callable[[str], str] | None = field(default=None, compare=False)
    label: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a field needs a name")
        if self.json_key is not None and not _JSON_KEY.fullmatch(self.json_key):
            raise ValueError(f"{self.name}: json_key {self.json_key!r} is not a plain key")
        choices = self.type in (FieldType.ENUM, FieldType.MULTI_ENUM)
        if choices and not self.options:
            raise ValueError(f"{self.name}: an {self.type} field needs options")
        if self.options and not choices:
            raise ValueError(f"{self.name}: only enum fields take options")


MEMBER_OF = "member_of"


class MembershipSource(Protocol):
    """How rules read `member_of`; the groups domain provides it, so this package knows no group.

    The two tests must agree, as the evaluators do: `sql_contains` is typically an EXISTS over
    the memberships of the row being filtered (never NULL), and `python_contains` reads the
    record's `"member_of"`, the set of ids of the groups the person is in.
    """

    def known(self, group_id: str) -> bool:
        """Whether a rule may name this group; an unknown one makes the rule `Invalid`."""

    def sql_contains(self, group_ids: Sequence[str]) -> ColumnElement[bool]:
        """TRUE for the rows whose person is in at least one of the groups, else FALSE."""

    def python_contains(self, record: Mapping[str, Any], group_ids: Sequence[str]) -> bool:
        """Whether the person the record describes is in at least one of the groups."""


class FieldCatalog:
    """The fields one kind of record can be filtered on, looked up case-insensitively.

    SCIM attribute names are case-insensitive (RFC 7644 §3.10), so `Full_Name` finds `full_name`.
    `member_of` is reserved: rules may use it when the catalog has a `membership` source.
    """

    def __init__(
        self, specs: Iterable[FieldSpec], *, membership: MembershipSource | None = None
    ) -> None:
        self._specs: dict[str, FieldSpec] = {}
        self.membership = membership
        for spec in specs:
            key = spec.name.casefold()
            if key == MEMBER_OF:
                raise ValueError(f"{MEMBER_OF!r} is reserved for group membership")
            if key in self._specs:
                raise ValueError(f"field {spec.name!r} is registered twice")
            self._specs[key] = spec

    def with_membership(self, membership: MembershipSource) -> FieldCatalog:
        """The same fields, and `member_of` read through `membership`."""
        return FieldCatalog(self._specs.values(), membership=membership)

    def get(self, name: str, *, at: str) -> FieldSpec:
        spec = self._specs.get(name.casefold())
        if spec is None:
            raise errors.Invalid(self._unknown(name), field=at)
        return spec

    def _unknown(self, name: str) -> str:
        names = [spec.name for spec in self._specs.values()]
        if self.membership is not None:
            names.append(MEMBER_OF)
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
