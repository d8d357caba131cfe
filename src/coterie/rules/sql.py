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
- `member_of` is the catalog's MembershipSource's `sql_contains` (an EXISTS), negated for
  ne/not_in.

Validation and the reduction of operators to tests are shared with the Python evaluator
(`rules.checked`); only the last step, the tests themselves, is written here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Float, and_, func, literal, not_, or_

from coterie.rules import _access
from coterie.rules.checked import Checked, Leaf, check
from coterie.rules.fields import FieldCatalog, FieldSpec
from coterie.rules.fields import Operator as Op
from coterie.rules.membership import Membership
from coterie.rules.predicates import (
    Has,
    Like,
    OneOf,
    Predicate,
    Present,
    Range,
    stored_bound,
)
from coterie.rules.tree import Rule

DIALECTS = ("sqlite", "postgresql")


def to_sql(
    rule: Rule, catalog: FieldCatalog, *, dialect: str, now: datetime, at: str = "filter"
) -> ColumnElement[bool]:
    """The WHERE clause selecting the rows a rule matches; `Invalid` names any bad clause.

    `now` anchors within_last, so a preview and the evaluation it previews agree.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"rules compile for {' and '.join(DIALECTS)}, not {dialect!r}")
    return _sql(check(rule, catalog, now=now, at=at), dialect)


def _sql(node: Checked, dialect: str) -> ColumnElement[bool]:
    if isinstance(node, Leaf):
        if isinstance(node.reduced, Membership):
            return _membership_sql(node.reduced)
        return _predicate_sql(node.reduced, dialect)
    parts = [_sql(part, dialect) for part in node.parts]
    if node.kind == "all":
        return and_(*parts)
    if node.kind == "any":
        return or_(*parts)
    return not_(parts[0])


def _membership_sql(test: Membership) -> ColumnElement[bool]:
    found = test.source.sql_contains(test.group_ids)
    return not_(found) if test.negated else found


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
            values = [_literal(item) for item in test.values]
            compared = target.in_(values) if len(values) > 1 else target == values[0]
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
        low = _literal(stored_bound(test.low, spec))
        parts.append(value >= low if test.low_inclusive else value > low)
    if test.high is not None:
        high = _literal(stored_bound(test.high, spec))
        parts.append(value <= high if test.high_inclusive else value < high)
    return and_(*parts)


def _literal(value: object) -> object:
    """A number bound with a type of its own: SQLAlchemy types an IN list by its first value, and
    PostgreSQL would then cast `0.1` in `x IN (1, 0.1)` to an integer."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return literal(value, BigInteger() if isinstance(value, int) else Float())
