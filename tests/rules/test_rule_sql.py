"""Every operator on every field type, on SQLite and PostgreSQL, against hand-checked answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from rule_cases import ALL, CASES, COMPOSITES, INVALID, case_id, condition, everyone_but
from sqlalchemy import select

from coterie import errors
from coterie.rules import parse_tree, to_sql

if TYPE_CHECKING:
    from rule_tables import People


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_operator(people: People, case: tuple[str, str, Any, set[int]]) -> None:
    field, op, value, expected = case
    assert people.ids(condition(field, op, value)) == expected


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_not_is_the_exact_complement(people: People, case: tuple[str, str, Any, set[int]]) -> None:
    rule = condition(*case[:3])
    matched, unmatched, undecided = people.split(rule)
    assert (matched + unmatched, undecided) == (len(ALL), 0)
    assert people.ids({"not": rule}) == ALL - case[3]


def test_rows_are_what_the_cases_assume(people: People) -> None:
    """Row 7 holds SQL NULL, row 8 JSON null: both must read as every key unset."""
    table = people.table
    with people.engine.connect() as conn:
        ids = set(conn.scalars(select(table.c.id)))
        nulls = conn.scalars(select(table.c.id).where(table.c.attributes.is_(None))).all()
    assert (ids, nulls) == (ALL, [7])


NEGATIONS = [("eq", "ne"), ("in", "not_in"), ("is_set", "is_not_set")]
NEGATIONS += [("within_last", "not_within_last")]


@pytest.mark.parametrize(("positive", "negative"), NEGATIONS)
def test_negative_operators_are_complements(people: People, positive: str, negative: str) -> None:
    checked = 0
    for field, op, value, expected in CASES:
        if op == positive:
            assert people.ids(condition(field, negative, value)) == ALL - expected
            checked += 1
    assert checked


@pytest.mark.parametrize(("rule", "expected"), COMPOSITES, ids=str)
def test_composites(people: People, rule: dict[str, Any] | str, expected: set[int]) -> None:
    assert people.ids(rule) == expected
    assert people.split(rule)[2] == 0


@pytest.mark.parametrize(("rule", "path", "message"), INVALID, ids=str)
def test_invalid_rules_name_the_clause(
    people: People, rule: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(errors.Invalid) as caught:
        people.where(rule)
    assert caught.value.errors[0].field == path
    assert message in caught.value.detail


def test_compiles_only_for_known_dialects(people: People) -> None:
    rule = parse_tree(condition("name", "eq", "x"))
    with pytest.raises(ValueError, match="mysql"):
        to_sql(rule, people.catalog, dialect="mysql", now=people.now)
    with pytest.raises(ValueError, match="naive"):
        to_sql(rule, people.catalog, dialect="sqlite", now=people.now.replace(tzinfo=None))


def test_the_at_prefix_is_used_in_paths(people: People) -> None:
    rule = parse_tree({"all": [condition("nope", "eq", 1)]}, at="rule")
    with pytest.raises(errors.Invalid) as caught:
        to_sql(rule, people.catalog, dialect=people.dialect, now=people.now, at="rule")
    assert caught.value.errors[0].field == "rule.all[0].field"


def test_a_thousand_values(people: People) -> None:
    values = [n + 0.25 for n in range(995)] + [10.0, 99.5, -3.5, 0, 1e6]
    assert people.ids(condition("score", "in", values)) == {1, 2, 4, 5, 6}
    names = [f"x{n}" for n in range(999)] + ["ÖLAF BERG"]
    assert people.ids(condition("name", "not_in", names)) == everyone_but(1)
