"""Explain: each clause's outcome for one person, the same verdict as the predicate, as JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rule_cases import CASES, COMPOSITES, INVALID, condition
from rule_tables import GROUPED_RECORDS, NOW, RECORDS

from coterie import errors
from coterie.rules import (
    Explanation,
    FieldCatalog,
    explain,
    parse_filter,
    parse_tree,
    to_predicate,
    to_sql,
)

RULE = {
    "all": [
        condition("Name", "contains", "ÉMILE"),
        {"not": condition("attributes.seats", "gt", 10)},
        {
            "any": [
                condition("member_of", "in", ["g1", "g2"]),
                condition("seen_at", "within_last", 7),
            ]
        },
    ]
}


def test_explains_each_clause(catalog: FieldCatalog) -> None:
    found = explain(parse_tree(RULE), catalog, GROUPED_RECORDS[2], now=NOW)
    assert found.model_dump(exclude_none=True) == {
        "path": "filter",
        "kind": "all",
        "matched": False,
        "clauses": (
            {
                "path": "filter.all[0]",
                "kind": "condition",
                "matched": True,
                "clauses": (),
                "field": "name",
                "op": "contains",
                "value": "ÉMILE",
                "actual": "ÉMILE Zola",
                "is_set": True,
            },
            {
                "path": "filter.all[1]",
                "kind": "not",
                "matched": False,
                "clauses": (
                    {
                        "path": "filter.all[1].not",
                        "kind": "condition",
                        "matched": True,
                        "clauses": (),
                        "field": "attributes.seats",
                        "op": "gt",
                        "value": 10,
                        "actual": 100,
                        "is_set": True,
                    },
                ),
            },
            {
                "path": "filter.all[2]",
                "kind": "any",
                "matched": True,
                "clauses": (
                    {
                        "path": "filter.all[2].any[0]",
                        "kind": "condition",
                        "matched": True,
                        "clauses": (),
                        "field": "member_of",
                        "op": "in",
                        "value": ["g1", "g2"],
                        "actual": ["g1"],
                    },
                    {
                        "path": "filter.all[2].any[1]",
                        "kind": "condition",
                        "matched": False,
                        "clauses": (),
                        "field": "seen_at",
                        "op": "within_last",
                        "value": 7,
                        "actual": "2024-06-05T12:00:00+00:00",
                        "is_set": True,
                    },
                ),
            },
        ),
    }


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        # wrong JSON types are shown as stored, and read as unset
        (11, [("5", False), ("a", False), (None, False), ("true", False)]),
        (3, [(None, False), ([], False), (None, False), (None, False)]),  # [] is no tags
        (1, [(5, True), (["a", "b"], True), (10.0, True), (True, True)]),
    ],
)
def test_actual_values_and_whether_they_count(
    catalog: FieldCatalog, person: int, expected: list[tuple[Any, bool]]
) -> None:
    rule = parse_filter(
        "attributes.seats pr or attributes.tags pr or score pr or attributes.vip pr"
    )
    assert rule is not None
    found = explain(rule, catalog, RECORDS[person], now=NOW)
    assert [(c.actual, c.is_set) for c in found.clauses] == expected
    assert [c.matched for c in found.clauses] == [is_set for _, is_set in expected]


def test_is_json_and_round_trips(catalog: FieldCatalog) -> None:
    found = explain(parse_tree(RULE), catalog, GROUPED_RECORDS[1], now=NOW)
    text = found.model_dump_json()
    assert Explanation.model_validate_json(text) == found
    assert '"op":"within_last"' in text


@pytest.mark.parametrize("case", CASES[::7])
def test_the_verdict_is_the_predicates(
    catalog: FieldCatalog, case: tuple[str, str, Any, set[int]]
) -> None:
    rule = parse_tree(condition(*case[:3]))
    for id_, record in RECORDS.items():
        assert explain(rule, catalog, record, now=NOW).matched is (id_ in case[3])


@pytest.mark.parametrize(("rule", "expected"), COMPOSITES, ids=str)
def test_composite_verdicts(catalog: FieldCatalog, rule: Any, expected: set[int]) -> None:
    parsed = parse_filter(rule)
    assert parsed is not None
    matches = to_predicate(parsed, catalog, now=NOW)
    for id_, record in RECORDS.items():
        assert (
            explain(parsed, catalog, record, now=NOW).matched
            is matches(record)
            is (id_ in expected)
        )


@pytest.mark.parametrize(("rule", "path", "message"), INVALID, ids=str)
def test_invalid_rules_fail_as_in_sql(
    catalog: FieldCatalog, rule: dict[str, Any], path: str, message: str
) -> None:
    parsed = parse_tree(rule)
    with pytest.raises(errors.Invalid) as in_explain:
        explain(parsed, catalog, RECORDS[1], now=NOW)
    with pytest.raises(errors.Invalid) as in_sql:
        to_sql(parsed, catalog, dialect="sqlite", now=NOW)
    assert in_explain.value.errors == in_sql.value.errors
    assert in_explain.value.errors[0].field == path
    assert message in in_explain.value.detail


def test_dates_are_iso_8601(catalog: FieldCatalog) -> None:
    record = {**RECORDS[1], "seen_at": datetime(2024, 6, 1, 8, 30, 0, 250, tzinfo=UTC)}
    rule = parse_tree(
        {"any": [condition("seen_at", "is_set", ...), condition("joined", "is_set", ...)]}
    )
    found = explain(rule, catalog, record, now=NOW)
    assert [c.actual for c in found.clauses] == ["2024-06-01T08:30:00.000250+00:00", "2024-01-10"]
