"""How SQL reads a field on each dialect: whether it is set, and its value typed for comparison.

A JSON value is read only when its JSON type is the field's type; anything else (a text left in a
number field whose type changed) reads as unset on both databases, and a cast on PostgreSQL can
never fail on it. Every test built here is TRUE or FALSE, never NULL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Integer,
    Numeric,
    String,
    Text,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.types import TypeEngine

from coterie.rules.fields import FieldSpec, FieldType

_NUMBERS = (FieldType.NUMBER, FieldType.INTEGER)

# JSON type names per field type: json_type() on SQLite, jsonb_typeof() on PostgreSQL.
_SQLITE_TYPES: dict[FieldType, tuple[str, ...]] = {
    FieldType.NUMBER: ("integer", "real"),
    FieldType.INTEGER: ("integer",),
    FieldType.BOOLEAN: ("true", "false"),
    FieldType.MULTI_ENUM: ("array",),
}
_POSTGRES_TYPES: dict[FieldType, tuple[str, ...]] = {
    FieldType.NUMBER: ("number",),
    FieldType.INTEGER: ("number",),
    FieldType.BOOLEAN: ("boolean",),
    FieldType.MULTI_ENUM: ("array",),
}
_SQLITE_VALUE_TYPES: dict[FieldType, TypeEngine[Any]] = {
    FieldType.NUMBER: Float(),
    FieldType.INTEGER: Integer(),
    FieldType.BOOLEAN: Boolean(),
}


def present(spec: FieldSpec, dialect: str) -> ColumnElement[bool]:
    """The field has a value; a multi_enum needs at least one element."""
    if spec.type is FieldType.MULTI_ENUM:
        return _is_array(spec, dialect, nonempty=True)
    if spec.json_key is None:
        return spec.column.is_not(None)
    return _json_type_is(spec, dialect)


def value(spec: FieldSpec, dialect: str) -> ColumnElement[Any]:
    """The field's value typed for comparison; meaningful only where `present` holds."""
    if spec.json_key is None:
        return spec.column
    if dialect == "sqlite":
        value_type = _SQLITE_VALUE_TYPES.get(spec.type, String())
        return func.json_extract(spec.column, _sqlite_path(spec), type_=value_type)
    text = spec.column.op("->>", return_type=Text)(spec.json_key)
    if spec.type in _NUMBERS:
        target: TypeEngine[Any] = Numeric()
    elif spec.type is FieldType.BOOLEAN:
        target = Boolean()
    else:
        return text
    # Only cast a value of the right JSON type: casting "abc" to a number would fail the query.
    return case((_json_type_is(spec, dialect), cast(text, target)))


def has(
    spec: FieldSpec, dialect: str, values: Sequence[str], *, every: bool
) -> ColumnElement[bool]:
    """A multi_enum (a JSON array of strings) holds any, or every, of `values`."""
    if dialect == "postgresql":
        document = _postgres_document(spec)
        wanted = literal(list(values), ARRAY(Text()))
        operator = "?&" if every else "?|"
        return and_(_is_array(spec, dialect), document.op(operator, return_type=Boolean)(wanted))
    items = func.json_each(spec.column, _sqlite_path(spec)).table_valued("value")
    matching = items.c.value.in_(values)
    held: ColumnElement[bool]
    if every:
        found = select(func.count(distinct(items.c.value))).where(matching)
        held = found.scalar_subquery() == len(set(values))
    else:
        held = select(items.c.value).where(matching).exists()
    return and_(_is_array(spec, dialect), held)


def _is_array(spec: FieldSpec, dialect: str, *, nonempty: bool = False) -> ColumnElement[bool]:
    test = _json_type_is(spec, dialect)
    if not nonempty:
        return test
    if dialect == "postgresql":
        empty = cast(literal("[]"), JSONB())
        return and_(test, _postgres_document(spec) != empty)
    length = func.json_array_length(spec.column, _sqlite_path(spec))
    return and_(test, func.coalesce(length, 0) > 0)


def _json_type_is(spec: FieldSpec, dialect: str) -> ColumnElement[bool]:
    """The JSON value (or the JSON column itself) has the field's JSON type; never NULL."""
    if dialect == "sqlite":
        name = func.json_type(spec.column, _sqlite_path(spec))
        names = _SQLITE_TYPES.get(spec.type, ("text",))
    else:
        name = func.jsonb_typeof(_postgres_document(spec))
        names = _POSTGRES_TYPES.get(spec.type, ("string",))
    test = func.coalesce(name, "").in_(names)
    if dialect == "postgresql" and spec.type is FieldType.INTEGER:
        text = spec.column.op("->>", return_type=Text)(spec.json_key)
        return and_(test, text.regexp_match("^-?[0-9]+$"))
    return test


def _postgres_document(spec: FieldSpec) -> ColumnElement[Any]:
    if spec.json_key is None:
        return spec.column
    return spec.column.op("->", return_type=JSONB)(spec.json_key)


def _sqlite_path(spec: FieldSpec) -> str:
    # FieldSpec only accepts plain keys, so quoting needs no escapes.
    return "$" if spec.json_key is None else f'$."{spec.json_key}"'
