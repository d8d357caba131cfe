"""`member_of`: conditions on groups through a membership source, in SQL and in Python."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from rule_cases import ALL, condition, everyone_but
from rule_tables import GROUPED_RECORDS, NOW, build_table
from sqlalchemy import Column, MetaData, Table, Text

from coterie import errors
from coterie.rules import (
    FieldCatalog,
    FieldSpec,
    FieldType,
    parse_filter,
    parse_text,
    parse_tree,
    to_json,
    to_predicate,
    to_sql,
    to_text,
)

if TYPE_CHECKING:
    from rule_tables import People

# MEMBERS in rule_tables: g1 = {1, 2, 3}, g2 = {3, 4}; g3 and g4 have no members.
CASES: list[tuple[dict[str, Any] | str, set[int]]] = [
    (condition("member_of", "eq", "g1"), {1, 2, 3}),
    (condition("member_of", "ne", "g1"), everyone_but(1, 2, 3)),
    (condition("member_of", "in", ["g1", "g2"]), {1, 2, 3, 4}),
    (condition("member_of", "in", ["g2", "g2"]), {3, 4}),
    (condition("member_of", "not_in", ["g1", "g2"]), everyone_but(1, 2, 3, 4)),
    (condition("member_of", "eq", "g3"), set()),
    (condition("member_of", "ne", "g4"), set(ALL)),
    (condition("Member_Of", "eq", "g2"), {3, 4}),
    ({"all": [condition("member_of", "eq", "g1"), condition("member_of", "eq", "g2")]}, {3}),
    ({"not": condition("member_of", "in", ["g1", "g2"])}, everyone_but(1, 2, 3, 4)),
    ('member_of eq "g1" and name co "émile"', {2, 3}),
    ('member_of eq "g2" or attributes.plan eq "Pro"', {1, 3, 4, 13}),
    ('not (member_of eq "g1") and score pr', {4, 5, 6, 13}),
]


@pytest.mark.parametrize(("rule", "expected"), CASES, ids=str)
def test_member_of(grouped: People, rule: dict[str, Any] | str, expected: set[int]) -> None:
    assert grouped.ids(rule) == expected
    assert grouped.split(rule) == (len(expected), len(ALL) - len(expected), 0)
    parsed = parse_filter(rule)
    assert parsed is not None
    matches = to_predicate(parsed, grouped.catalog, now=NOW)
    assert {id_ for id_, record in GROUPED_RECORDS.items() if matches(record)} == expected


INVALID: list[tuple[dict[str, Any], str, str]] = [
    (condition("member_of", "eq", "g9"), "filter.value", 'names no known group: "g9"'),
    (condition("member_of", "in", ["g1", "g9"]), "filter.value[1]", "no known group"),
    (condition("member_of", "eq", 5), "filter.value", "needs a group id (a text), got 5"),
    (condition("member_of", "eq", ""), "filter.value", "needs a group id"),
    (condition("member_of", "eq", ["g1"]), "filter.value", "needs a group id (a text), got a list"),
    (condition("member_of", "eq", ...), "filter.value", "got null"),
    (condition("member_of", "in", "g1"), "filter.value", "non-empty list of group ids"),
    (condition("member_of", "not_in", []), "filter.value", "non-empty list of group ids"),
    (condition("member_of", "in", ["g1", 2]), "filter.value[1]", "needs a group id"),
    (condition("member_of", "is_set", ...), "filter.op", "does not apply to member_of"),
    (condition("member_of", "contains", "g"), "filter.op", "use one of: eq, in, ne, not_in"),
    ({"any": [condition("name", "is_set", ...), {"not": condition("member_of", "eq", "x")}]},
     "filter.any[1].not.value", "no known group"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "path", "message"), INVALID, ids=str)
def test_invalid_member_of(catalog: FieldCatalog, rule: Any, path: str, message: str) -> None:
    parsed = parse_tree(rule)
    with pytest.raises(errors.Invalid) as in_sql:
        to_sql(parsed, catalog, dialect="postgresql", now=NOW)
    with pytest.raises(errors.Invalid) as in_python:
        to_predicate(parsed, catalog, now=NOW)
    assert in_sql.value.errors == in_python.value.errors
    assert in_sql.value.errors[0].field == path
    assert message in in_sql.value.detail


def test_member_of_needs_a_membership_source() -> None:
    _, catalog = build_table(None)
    rule = parse_tree(
        {"all": [condition("name", "is_set", ...), condition("member_of", "eq", "g1")]}
    )
    for compile_ in (
        lambda: to_sql(rule, catalog, dialect="sqlite", now=NOW),
        lambda: to_predicate(rule, catalog, now=NOW),
    ):
        with pytest.raises(errors.Invalid) as caught:
            compile_()
        assert caught.value.errors[0].field == "filter.all[1].field"
        assert "member_of is not available here" in caught.value.detail


def test_member_of_is_reserved() -> None:
    column = Table("t", MetaData(), Column("m", Text)).c.m
    with pytest.raises(ValueError, match="reserved"):
        FieldCatalog([FieldSpec("Member_Of", FieldType.TEXT, column)])


def test_unknown_fields_suggest_member_of(catalog: FieldCatalog) -> None:
    with pytest.raises(errors.Invalid, match="did you mean 'member_of'"):
        catalog.get("memberof", at="filter.field")


def test_with_membership_keeps_the_fields(catalog: FieldCatalog) -> None:
    _, plain = build_table(None)
    assert plain.membership is None
    assert [spec.name for spec in catalog] == [spec.name for spec in plain]
    assert "member_of" not in catalog  # a reserved name, not a registered field


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('member_of eq "g1"', condition("member_of", "eq", "g1")),
        ('member_of ne "g1"', condition("member_of", "ne", "g1")),
        ('not (member_of eq "g1" or member_of eq "g2")',
         {"not": {"any": [condition("member_of", "eq", g) for g in ("g1", "g2")]}}),
    ],
)  # fmt: skip
def test_member_of_in_scim_text(text: str, tree: dict[str, Any]) -> None:
    assert to_json(parse_text(text)) == tree
    assert parse_text(to_text(parse_text(text))) == parse_text(text)


def test_in_is_written_as_or_in_text() -> None:
    rule = parse_tree(condition("member_of", "in", ["g1", "g2"]))
    assert to_text(rule) == 'member_of eq "g1" or member_of eq "g2"'
