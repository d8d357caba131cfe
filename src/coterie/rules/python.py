"""Compile a rule to a Python predicate over one person's record, the twin of `rules.sql`.

It serves the write path: the one person a write changed is re-evaluated in the same transaction
without a query. Validation and the reduction of operators to tests are shared with `to_sql`
(`rules.checked`), and each test below mirrors its SQL form in `rules.sql` and `rules._access`,
so the two evaluators agree; property tests hold them to it on both databases.

**The record** is the person's row: column name → stored value, as a `select(table)` row's
`_mapping` holds it (docs/rules.md shows one). A field with a `json_key` reads
`record[column][json_key]` (the column holds the JSON document, a dict or None); any other field
reads `record[column]`. A `member_of` condition asks the catalog's `MembershipSource`, which by
convention reads `record["member_of"]`, the set of ids of the person's groups. A column missing
from the record is a `KeyError`, and a column value of the wrong Python type (a str in a number
column, a naive datetime) a `TypeError`: those are bugs in whoever built the record. Unset is
what SQL reads as unset: None, a missing JSON key, JSON null, a JSON value of the wrong type, an
empty multi_enum.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.sql.expression import ColumnClause

from coterie.rules.checked import Checked, Leaf, check
from coterie.rules.fields import FieldCatalog, FieldSpec, FieldType
from coterie.rules.fields import Operator as Op
from coterie.rules.membership import Membership
from coterie.rules.predicates import (
    Has,
    Like,
    OneOf,
    Predicate,
    Present,
    Range,
    Test,
    holds_datetimes,
    stored_bound,
)
from coterie.rules.tree import Rule

Record = Mapping[str, Any]
Evaluator = Callable[[Record], bool]

_TEXTS = (FieldType.TEXT, FieldType.URL, FieldType.ENUM, FieldType.PHONE, FieldType.EMAIL)
_NUMBERS = (FieldType.NUMBER, FieldType.INTEGER)


def to_predicate(
    rule: Rule, catalog: FieldCatalog, *, now: datetime, at: str = "filter"
) -> Evaluator:
    """A function telling whether a record matches; `Invalid` as `to_sql` for a bad rule.

    `now` anchors within_last: it is fixed when the rule is compiled, as in `to_sql`.
    """
    return evaluator(check(rule, catalog, now=now, at=at))


def evaluator(node: Checked) -> Evaluator:
    """The predicate of a checked rule (or of one of its clauses)."""
    if isinstance(node, Leaf):
        return leaf(node.reduced)
    parts = tuple(evaluator(part) for part in node.parts)
    if node.kind == "all":
        return lambda record: all(part(record) for part in parts)
    if node.kind == "any":
        return lambda record: any(part(record) for part in parts)
    inner = parts[0]
    return lambda record: not inner(record)


def leaf(reduced: Predicate | Membership) -> Evaluator:
    """The predicate of one condition: its test on the field's value, negated where asked."""
    if isinstance(reduced, Membership):
        source, group_ids, negated = reduced.source, reduced.group_ids, reduced.negated
        return lambda record: source.python_contains(record, group_ids) != negated
    spec, negated = reduced.spec, reduced.negated
    record_key(spec)  # fail now, not per record, for a field a record cannot hold
    holds = _holds(spec, reduced.test)

    def evaluate(record: Record) -> bool:
        value = read(spec, record)
        return (value is not None and holds(value)) != negated

    return evaluate


def record_key(spec: FieldSpec) -> str:
    """The record key holding a field's value (or its JSON document): its column's name."""
    if not isinstance(spec.column, ColumnClause):
        raise ValueError(f"field {spec.name!r} reads an expression, not a column of the record")
    name: str = spec.column.name
    return name


def stored(spec: FieldSpec, record: Record) -> Any:
    """The value the record stores for a field, as stored (None for NULL or a missing key)."""
    key = record_key(spec)
    if key not in record:
        raise KeyError(f"the record has no {key!r}, which field {spec.name!r} reads")
    document = record[key]
    if spec.json_key is None:
        return document
    return document.get(spec.json_key) if isinstance(document, Mapping) else None


def read(spec: FieldSpec, record: Record) -> Any:
    """The field's value typed for comparison, or None when it is unset (as SQL reads it)."""
    value = stored(spec, record)
    if value is None:
        return None
    if spec.json_key is None and spec.type is not FieldType.MULTI_ENUM:
        _check_column_value(spec, value)
        return value
    return value if _json_type_fits(spec.type, value) else None


def _json_type_fits(kind: FieldType, value: object) -> bool:
    """The JSON value has the field's JSON type (`_access._json_type_is`)."""
    if kind is FieldType.BOOLEAN:
        return isinstance(value, bool)
    if kind is FieldType.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is FieldType.NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is FieldType.MULTI_ENUM:
        return isinstance(value, list) and len(value) > 0
    return isinstance(value, str)  # texts, and dates in their fixed-width formats


def _check_column_value(spec: FieldSpec, value: object) -> None:
    kind = spec.type
    if kind in _TEXTS:
        fits, expected = isinstance(value, str), "a str"
    elif kind in _NUMBERS:
        fits = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        expected = "a number"
    elif kind is FieldType.BOOLEAN:
        fits, expected = isinstance(value, bool), "a bool"
    elif kind is FieldType.DATETIME or holds_datetimes(spec):
        fits = isinstance(value, datetime) and value.tzinfo is not None
        expected = "an aware datetime"
    else:
        fits = isinstance(value, date) and not isinstance(value, datetime)
        expected = "a date"
    if not fits:
        naive = isinstance(value, datetime) and value.tzinfo is None
        shown = "a naive datetime" if naive else type(value).__name__
        raise TypeError(f"field {spec.name!r} needs {expected} in the record, got {shown}")


def _holds(spec: FieldSpec, test: Test) -> Callable[[Any], bool]:
    """The test on a set value, mirroring `rules.sql._predicate_sql`."""
    if isinstance(test, Present):
        return lambda value: True
    if isinstance(test, Has):
        wanted = frozenset(test.values)
        if test.every:
            return lambda items: wanted <= {item for item in items if isinstance(item, str)}
        return lambda items: any(isinstance(item, str) and item in wanted for item in items)
    if isinstance(test, OneOf):
        values = test.values
        if test.fold_case:
            return lambda value: value.lower() in values
        return lambda value: value in values
    if isinstance(test, Like):
        return _like(test)
    return _range(test, spec)


def _like(test: Like) -> Callable[[str], bool]:
    text = test.text  # already lower-cased; matched literally, `%` and `_` included
    if test.op is Op.STARTS_WITH:
        return lambda value: value.lower().startswith(text)
    if test.op is Op.ENDS_WITH:
        return lambda value: value.lower().endswith(text)
    return lambda value: text in value.lower()


def _range(test: Range, spec: FieldSpec) -> Callable[[Any], bool]:
    low = None if test.low is None else stored_bound(test.low, spec)
    high = None if test.high is None else stored_bound(test.high, spec)
    low_inclusive, high_inclusive = test.low_inclusive, test.high_inclusive

    def within(value: Any) -> bool:
        if low is not None and not (value >= low if low_inclusive else value > low):
            return False
        return high is None or (value <= high if high_inclusive else value < high)

    return within
