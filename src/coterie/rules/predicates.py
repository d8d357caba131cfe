"""A condition checked against its field and reduced to one of a few simple tests.

Both evaluators (SQL and Python) implement these tests rather than the twenty operators, so they
cannot disagree on what an operator means: `ne` is `eq` negated, `before` is an open range, a
date `eq` is the range of that day. They also compare against the same bounds (`stored_bound`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

from coterie import errors
from coterie.inputs import storable_whole_number
from coterie.rules.fields import (
    OPERATORS,
    FieldCatalog,
    FieldSpec,
    FieldType,
    format_date,
    format_datetime,
)
from coterie.rules.fields import Operator as Op
from coterie.rules.tree import Condition

Scalar = str | int | float | bool
Bound = int | float | date | datetime

MAX_DAYS = 36_600

# Compared case-insensitively by eq/in. Enum, phone and email compare exactly (after the field's
# `normalize`), so an index on the column serves them.
_FOLDED = frozenset({FieldType.TEXT, FieldType.URL})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NEGATED = {
    Op.NE: Op.EQ,
    Op.NOT_IN: Op.IN,
    Op.IS_NOT_SET: Op.IS_SET,
    Op.NOT_WITHIN_LAST: Op.WITHIN_LAST,
}


@dataclass(frozen=True)
class Present:
    """The field has a value (not NULL, not absent from the JSON, not an empty multi_enum)."""


@dataclass(frozen=True)
class OneOf:
    """The value equals one of `values`; with `fold_case` both sides are lower-cased."""

    values: tuple[Scalar, ...]
    fold_case: bool = False


@dataclass(frozen=True)
class Like:
    """Case-insensitive substring test; `text` is lower-cased and matched literally."""

    op: Op  # contains, starts_with or ends_with
    text: str


@dataclass(frozen=True)
class Range:
    """`low <= value < high` for dates (half-open); inclusive flags say otherwise for numbers."""

    low: Bound | None = None
    high: Bound | None = None
    low_inclusive: bool = True
    high_inclusive: bool = False


@dataclass(frozen=True)
class Has:
    """A multi_enum holds any (or, with `every`, all) of `values`."""

    values: tuple[str, ...]
    every: bool = False


Test = Present | OneOf | Like | Range | Has


@dataclass(frozen=True)
class Predicate:
    """What one condition asks of one field; when `negated`, exactly the rows the test rejects."""

    spec: FieldSpec
    test: Test
    negated: bool = False


def predicate(condition: Condition, catalog: FieldCatalog, *, now: datetime, at: str) -> Predicate:
    """Check a condition's field, operator and value, raising `Invalid` at the clause's path."""
    spec = catalog.get(condition.field, at=f"{at}.field")
    op = condition.op
    allowed = OPERATORS[spec.type]
    if op not in allowed:
        names = ", ".join(sorted(allowed))
        raise errors.Invalid(
            f"operator '{op}' does not apply to {spec.type} field '{spec.name}'; "
            f"use one of: {names}",
            field=f"{at}.op",
        )
    reader = _Reader(spec, op, f"{at}.value", now)
    positive = _NEGATED.get(op, op)
    return Predicate(spec, reader.test(positive, condition.value), op in _NEGATED)


class _Reader:
    """Reads a condition's value as the field's type, naming the path of anything wrong."""

    def __init__(self, spec: FieldSpec, op: Op, at: str, now: datetime) -> None:
        self.spec, self.op, self.at, self.now = spec, op, at, now

    def fail(self, problem: str, at: str | None = None) -> errors.Invalid:
        return errors.Invalid(f"{self.op} on '{self.spec.name}' {problem}", field=at or self.at)

    def test(self, op: Op, value: object) -> Test:
        if op is Op.IS_SET:
            if value is not None:
                raise self.fail("takes no value")
            return Present()
        if value is None:
            raise self.fail("needs a value; to test for no value use is_not_set")
        kind = self.spec.type
        if kind is FieldType.MULTI_ENUM:
            if op is Op.CONTAINS:
                return Has((self.option(self.text(value)),))
            options = (self.option(self.text(v, at), at) for v, at in self.each(value))
            return Has(tuple(options), every=op is Op.ALL)
        if op in (Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH):
            text = self.text(value)
            if not text:
                raise self.fail("needs a non-empty text")
            return Like(op, text.lower())
        if kind in (FieldType.DATE, FieldType.DATETIME):
            return self.dates(op, value)
        if op is Op.BETWEEN:
            first, last = self.pair(value)
            low, high = self.number(first, f"{self.at}[0]"), self.number(last, f"{self.at}[1]")
            if high < low:
                raise self.fail("needs low <= high")
            return Range(low, high, high_inclusive=True)
        if op in (Op.GT, Op.GTE, Op.LT, Op.LTE):
            bound = self.number(self.scalar(value))
            if op in (Op.GT, Op.GTE):
                return Range(low=bound, low_inclusive=op is Op.GTE)
            return Range(high=bound, high_inclusive=op is Op.LTE)
        found: tuple[Scalar, ...]
        if op is Op.EQ:
            found = (self.equal(self.scalar(value), self.at),)
        else:
            found = tuple(self.equal(v, at) for v, at in self.each(value))
        return OneOf(found, fold_case=kind in _FOLDED)

    def dates(self, op: Op, value: object) -> Test:
        if op in (Op.WITHIN_LAST, Op.NOT_WITHIN_LAST):
            days = value
            if not isinstance(days, int) or isinstance(days, bool):
                raise self.fail(f"needs a whole number of days, got {_show(value)}")
            if not 1 <= days <= MAX_DAYS:
                raise self.fail(f"needs between 1 and {MAX_DAYS} days, got {days}")
            now = self.now.astimezone(UTC)
            if self.spec.type is FieldType.DATE:
                today = now.date()
                return Range(today - timedelta(days=days), today + timedelta(days=1))
            return Range(now - timedelta(days=days), now + timedelta(microseconds=1))
        if op is Op.BETWEEN:
            first, last = self.pair(value)
            low, _ = self.span(first, f"{self.at}[0]")
            start, high = self.span(last, f"{self.at}[1]")
            if start < low:
                raise self.fail("needs low <= high")
            return Range(low, high)
        start, end = self.span(self.scalar(value))
        if op in (Op.GT, Op.AFTER):
            return Range(low=end)
        if op is Op.GTE:
            return Range(low=start)
        if op in (Op.LT, Op.BEFORE):
            return Range(high=start)
        if op is Op.LTE:
            return Range(high=end)
        return Range(start, end)  # eq: the whole day, or the exact instant

    def span(self, value: Scalar, at: str | None = None) -> tuple[date, date]:
        """The half-open interval a date or datetime value denotes (a day, or one instant)."""
        text = self.text(value, at)
        try:
            if _DATE.fullmatch(text):
                day = date.fromisoformat(text)
                if self.spec.type is FieldType.DATE:
                    return day, day + timedelta(days=1)
                start = datetime.combine(day, time(), UTC)
                return start, start + timedelta(days=1)
            if self.spec.type is FieldType.DATE or not _DATE.match(text):
                raise ValueError
            instant = datetime.fromisoformat(text)
        except (ValueError, OverflowError):
            shape = "YYYY-MM-DD" if self.spec.type is FieldType.DATE else "an ISO 8601 date"
            raise self.fail(f"needs {shape}, got {_show(value)}", at) from None
        if instant.tzinfo is None:
            raise self.fail(f"needs a time zone, e.g. {text}Z", at)
        try:
            instant = instant.astimezone(UTC)
            return instant, instant + timedelta(microseconds=1)
        except OverflowError:
            raise self.fail(f"needs a time within years 1 to 9999 in UTC, got {text}", at) from None

    def pair(self, value: object) -> tuple[Scalar, Scalar]:
        if not isinstance(value, list) or len(value) != 2:
            raise self.fail(f"needs [low, high], got {_show(value)}")
        return value[0], value[1]

    def equal(self, value: object, at: str) -> Scalar:
        """A value for eq/in: typed, normalized, and resolved to an option where needed."""
        kind = self.spec.type
        if kind in (FieldType.NUMBER, FieldType.INTEGER):
            return self.number(self.scalar(value, at), at)
        if kind is FieldType.BOOLEAN:
            if not isinstance(value, bool):
                raise self.fail(f"needs true or false, got {_show(value)}", at)
            return value
        text = self.text(value, at)
        if self.spec.normalize is not None:
            try:
                text = self.spec.normalize(text)
            except ValueError as exc:
                raise self.fail(str(exc), at) from None
        if kind is FieldType.ENUM:
            return self.option(text, at)
        return text.lower() if kind in _FOLDED else text

    def option(self, value: str, at: str | None = None) -> str:
        """The option a value names; case is forgiven when that leaves one candidate."""
        if value in self.spec.options:
            return value
        folded = [o for o in self.spec.options if o.casefold() == value.casefold()]
        if len(folded) == 1:
            return folded[0]
        choices = ", ".join(self.spec.options)
        raise self.fail(f"needs one of {choices}; got {_show(value)}", at)

    def number(self, value: Scalar, at: str | None = None) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"needs a number, got {_show(value)}", at)
        if self.spec.type is FieldType.INTEGER and isinstance(value, float):
            if not value.is_integer():
                raise self.fail(f"needs a whole number, got {_show(value)}", at)
            value = int(value)
        if isinstance(value, int):
            try:
                return storable_whole_number(value)  # compared as a BIGINT
            except ValueError as exc:
                raise self.fail(f"needs a number within ±2^63, got {value}", at) from exc
        return value

    def text(self, value: object, at: str | None = None) -> str:
        if not isinstance(value, str):
            raise self.fail(f"needs a text, got {_show(value)}", at)
        return value

    def scalar(self, value: object, at: str | None = None) -> Scalar:
        if not isinstance(value, str | int | float | bool):
            raise self.fail(f"needs a single value, got {_show(value)}", at)
        return value

    def items(self, value: object) -> list[Scalar]:
        if not isinstance(value, list) or not value:
            raise self.fail(f"needs a non-empty list, got {_show(value)}")
        return value

    def each(self, value: object) -> list[tuple[Scalar, str]]:
        """The items of a list value, each with its own path for errors."""
        return [(v, f"{self.at}[{i}]") for i, v in enumerate(self.items(value))]


def _show(value: object) -> str:
    return "a list" if isinstance(value, list) else json.dumps(value, ensure_ascii=False)


def stored_bound(bound: Bound, spec: FieldSpec) -> object:
    """A range bound in the form the field stores: JSON strings, dates or datetimes for columns."""
    if isinstance(bound, datetime):
        if spec.json_key is None:
            return bound
        # Stored values are whole seconds, so rounding a bound up keeps `>=` and `<` exact.
        if bound.microsecond:
            bound = bound.replace(microsecond=0) + timedelta(seconds=1)
        return format_datetime(bound)
    if isinstance(bound, date):
        if spec.json_key is not None:
            return format_date(bound)
        if holds_datetimes(spec):
            return datetime.combine(bound, time(), UTC)  # a date field on a UTC column
    return bound


def holds_datetimes(spec: FieldSpec) -> bool:
    """The field's column stores datetimes (a date field may read a UTC datetime column)."""
    column_type = spec.column.type
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    return isinstance(column_type, DateTime)
