"""The Python predicate: the hand-checked cases of the SQL tests, over the same rows as records."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from rule_cases import ALL, CASES, COMPOSITES, INVALID, case_id, condition
from rule_tables import NOW, RECORDS
from sqlalchemy import Column, MetaData, Table, Text, func, select

from coterie import errors
from coterie.rules import (
    FieldCatalog,
    FieldSpec,
    FieldType,
    parse_filter,
    parse_text,
    parse_tree,
    to_predicate,
    to_sql,
)
from coterie.rules.python import record_key

if TYPE_CHECKING:
    from rule_tables import People


def compiled(text: str, catalog: FieldCatalog) -> Callable[[Mapping[str, Any]], bool]:
    return to_predicate(parse_text(text), catalog, now=NOW)


def matching(
    rule: dict[str, Any] | str, catalog: FieldCatalog, records: dict[int, Any] = RECORDS
) -> set[int]:
    parsed = parse_filter(rule)
    assert parsed is not None
    matches = to_predicate(parsed, catalog, now=NOW)
    return {id_ for id_, record in records.items() if matches(record)}


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_operator(catalog: FieldCatalog, case: tuple[str, str, Any, set[int]]) -> None:
    field, op, value, expected = case
    assert matching(condition(field, op, value), catalog) == expected
    assert matching({"not": condition(field, op, value)}, catalog) == ALL - expected


@pytest.mark.parametrize(("rule", "expected"), COMPOSITES, ids=str)
def test_composites(catalog: FieldCatalog, rule: dict[str, Any] | str, expected: set[int]) -> None:
    assert matching(rule, catalog) == expected


@pytest.mark.parametrize(("rule", "path", "message"), INVALID, ids=str)
def test_invalid_rules_fail_as_in_sql(
    catalog: FieldCatalog, rule: dict[str, Any], path: str, message: str
) -> None:
    parsed = parse_tree(rule)
    with pytest.raises(errors.Invalid) as in_python:
        to_predicate(parsed, catalog, now=NOW)
    with pytest.raises(errors.Invalid) as in_sql:
        to_sql(parsed, catalog, dialect="sqlite", now=NOW)
    assert in_python.value.errors == in_sql.value.errors
    assert (in_python.value.errors[0].field, in_python.value.detail) == (path, in_sql.value.detail)
    assert message in in_python.value.detail


def test_rows_read_back_are_records(people: People) -> None:
    """`select(table)` rows, as mappings, are records: the same people match."""
    with people.engine.connect() as conn:
        rows = {row["id"]: row for row in conn.execute(select(people.table)).mappings()}
    for field, op, value, expected in CASES:
        rule = condition(field, op, value)
        assert matching(rule, people.catalog, rows) == expected, rule


def test_now_must_be_aware(catalog: FieldCatalog) -> None:
    rule = parse_tree(condition("seen_at", "within_last", 7))
    with pytest.raises(ValueError, match="naive"):
        to_predicate(rule, catalog, now=NOW.replace(tzinfo=None))


def test_within_last_is_fixed_when_compiled(catalog: FieldCatalog) -> None:
    matches = to_predicate(parse_tree(condition("seen_at", "within_last", 1)), catalog, now=NOW)
    assert matches({"seen_at": NOW})
    assert not matches({"seen_at": datetime(2030, 1, 1, tzinfo=UTC)})


def test_a_missing_column_is_an_error(catalog: FieldCatalog) -> None:
    matches = to_predicate(parse_tree(condition("name", "is_set", ...)), catalog, now=NOW)
    with pytest.raises(KeyError, match="'name', which field 'name' reads"):
        matches({"phone": None})


def test_a_missing_json_key_is_unset(catalog: FieldCatalog) -> None:
    matches = compiled("attributes.city pr", catalog)
    assert [matches({"attributes": doc}) for doc in ({}, None, [1], "x", {"city": "x"})] == [
        False,
        False,
        False,
        False,
        True,
    ]


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("name", 5, "'name' needs a str in the record, got int"),
        ("score", "5", "needs a number in the record, got str"),
        ("score", True, "needs a number in the record, got bool"),
        ("active", 1, "needs a bool in the record, got int"),
        ("joined", datetime(2024, 1, 1, tzinfo=UTC), "needs a date in the record, got datetime"),
        ("seen_on", date(2024, 1, 1), "needs an aware datetime in the record, got date"),
        ("seen_at", "2024-01-01", "needs an aware datetime in the record, got str"),
        ("seen_at", datetime(2024, 1, 1), "got a naive datetime"),
    ],
)
def test_a_column_value_of_the_wrong_type_is_an_error(
    catalog: FieldCatalog, field: str, value: object, problem: str
) -> None:
    matches = to_predicate(parse_tree(condition(field, "is_set", ...)), catalog, now=NOW)
    with pytest.raises(TypeError, match=problem):
        matches({record_key(catalog.get(field, at="f")): value})


def test_decimal_numbers_compare_as_numbers(catalog: FieldCatalog) -> None:
    matches = compiled("score ge 2.5", catalog)
    assert matches({"score": Decimal("2.5")})
    assert not matches({"score": Decimal("2.49")})


def test_a_field_on_an_expression_cannot_read_a_record() -> None:
    table = Table("t", MetaData(), Column("name", Text))
    catalog = FieldCatalog([FieldSpec("upper", FieldType.TEXT, func.upper(table.c.name))])
    with pytest.raises(ValueError, match="reads an expression"):
        compiled('upper eq "X"', catalog)
