"""Compile a rule to a SQLAlchemy boolean expression, validating it against a field catalog.

Semantics (docs/rules.md has the long form):

- A row matches a rule or it does not; the expression is never NULL. An unset field (NULL, a
  missing JSON key, JSON null, a JSON value of the wrong type, an empty multi_enum) fails every
  positive test, so `ne`, `not_in`, `is_not_set` and `not_within_last` hold for it: each is
  exactly the complement of `eq`, `in`, `is_set` and `within_last`, as `not X` is of `X`.
- Text and url compare case-insensitively (`lower()` on both sides; db.make_engine gives SQLite
  the same Unicode-aware lower() as Python). Enum, phone and email `eq`/`in` compare exactly,
  after the field's `normalize`, so an index on the column serves them. `contains`,
  `starts_with` and `ends_with` are case-insensitive for every text type, and `%`, `_` and the
  escape character in the value match themselves.
- A date value names a whole (UTC) day: on a datetime field `eq "2024-05-01"` is that day, `gt`
  is after it, `lte` is up to its end. `within_last N` is from N days before `now` up to `now`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, DateTime, and_, func, not_, or_
from sqlalchemy.types import TypeDecorator

from coterie.rules import _access
from coterie.rules.fields import FieldCatalog, FieldSpec, format_date, format_datetime
from coterie.rules.fields import Operator as Op
from coterie.rules.predicates import (
    Bound,
    Has,
    Like,
    OneOf,
    Predicate,
    Present,
    Range,
    predicate,
)
from coterie.rules.tree import AllOf, AnyOf, Condition, Rule, child_path, children

DIALECTS = ("sqlite", "postgresql")


def to_sql(
    rule: Rule, catalog: FieldCatalog, *, dialect: str, now: datetime, at: str = "filter"
) -> ColumnElement[bool]:
    """The WHERE clause selecting the rows a rule matches; `Invalid` names any bad clause.

    `now` anchors within_last, so a preview and the evaluation it previews agree.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"rules compile for {' and '.join(DIALECTS)}, not {dialect!r}")
    if now.tzinfo is None:
        raise ValueError("naive datetime given where UTC was expected")
    if isinstance(rule, Condition):
        return _predicate_sql(predicate(rule, catalog, now=now, at=at), dialect)
    parts = [
        to_sql(child, catalog, dialect=dialect, now=now, at=child_path(rule, at, index))
        for index, child in enumerate(children(rule))
    ]
    if isinstance(rule, AllOf):
        return and_(*parts)
    if isinstance(rule, AnyOf):
        return or_(*parts)
    return not_(parts[0])


def _predicate_sql(pred: Predicate, dialect: str) -> ColumnElement[bool]:
    spec, test = pred.spec, pred.test
    if isinstance(test, Present):
        found = _access.present(spec, dialect)
    elif isinstance(test, Has):
        found = _access.has(spec, dialect, test.values, every=test.every)
    else:
        value = _access.value(spec, dialect)
        if isinstance(test, OneOf):
            target = func.lower(value) if test.fold_case else value
            compared = target.in_(test.values) if len(test.values) > 1 else target == test.values[0]
        elif isinstance(test, Like):
            compared = _like(func.lower(value), test)
        else:
            compared = _range(value, test, spec)
        found = and_(_access.present(spec, dialect), compared)
    return not_(found) if pred.negated else found


def _like(target: ColumnElement[Any], test: Like) -> ColumnElement[bool]:
    if test.op is Op.STARTS_WITH:
        return target.startswith(test.text, autoescape=True)
    if test.op is Op.ENDS_WITH:
        return target.endswith(test.text, autoescape=True)
    return target.contains(test.text, autoescape=True)


def _range(value: ColumnElement[Any], test: Range, spec: FieldSpec) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if test.low is not None:
        low = _bound(test.low, spec)
        parts.append(value >= low if test.low_inclusive else value > low)
    if test.high is not None:
        high = _bound(test.high, spec)
        parts.append(value <= high if test.high_inclusive else value < high)
    return and_(*parts)


def _bound(bound: Bound, spec: FieldSpec) -> object:
    """A range bound as the column stores it: JSON strings, or dates/datetimes for columns."""
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
        if _holds_datetimes(spec):
            return datetime.combine(bound, time(), UTC)  # a date field on a UTC column
    return bound


def _holds_datetimes(spec: FieldSpec) -> bool:
    column_type = spec.column.type
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    return isinstance(column_type, DateTime)
