"""Rules in plain words: what a group's page and the wizard's summary say a rule means."""

from __future__ import annotations

from typing import Any

import pytest

from coterie.web.rule_words import clause, describe

LABELS = {
    "attributes.plan": "Plan",
    "attributes.country": "Country",
    "phone": "Phone number",
    "last_activity_at": "Last activity",
    "attributes.seats": "Seats",
    "attributes.vip": "VIP customer",
    "g1": "VIP",
    "g2": "Churned",
}


@pytest.mark.parametrize(
    ("field", "op", "value", "words"),
    [
        ("attributes.plan", "eq", "Pro", "Plan is Pro"),
        ("attributes.plan", "ne", "Pro", "Plan is not Pro"),
        ("phone", "is_set", None, "Phone number is set"),
        ("phone", "is_not_set", None, "Phone number is not set"),
        ("last_activity_at", "within_last", 30, "Last activity within the last 30 days"),
        ("last_activity_at", "not_within_last", 1, "Last activity not within the last 1 day"),
        ("member_of", "eq", "g1", "Member of VIP"),
        ("member_of", "ne", "g2", "Not a member of Churned"),
        ("member_of", "in", ["g1", "g2"], "Member of VIP or Churned"),
        ("attributes.plan", "in", ["Pro", "Premium", "Team"], "Plan is Pro, Premium or Team"),
        ("attributes.plan", "not_in", ["Pro", "Team"], "Plan is none of Pro, Team"),
        ("attributes.seats", "between", [10, 20.0], "Seats is between 10 and 20"),
        ("attributes.seats", "gte", 5, "Seats is at least 5"),
        ("attributes.vip", "eq", True, "VIP customer is Yes"),
        ("attributes.tags", "any", ["a", "b"], "attributes.tags has any of a, b"),
        ("email", "ends_with", "@example.com", "email ends with @example.com"),
    ],
)
def test_clause(field: str, op: str, value: object, words: str) -> None:
    assert clause(field, op, value, LABELS) == words


def test_unknown_group_and_field_fall_back_to_what_is_stored() -> None:
    assert clause("member_of", "eq", "gX", LABELS) == "Member of gX"
    assert clause("nickname", "contains", "bo", {}) == "nickname contains bo"


def test_describe_nests_with_parentheses() -> None:
    tree: dict[str, Any] = {
        "all": [
            {"field": "attributes.plan", "op": "eq", "value": "Pro"},
            {
                "any": [
                    {"field": "attributes.country", "op": "eq", "value": "UK"},
                    {"field": "attributes.country", "op": "eq", "value": "IE"},
                ]
            },
        ]
    }
    assert describe(tree, LABELS) == "Plan is Pro and (Country is UK or Country is IE)"


def test_describe_not_and_single_items() -> None:
    tree = {"not": {"all": [{"field": "phone", "op": "is_set"}]}}
    assert describe(tree, LABELS) == "not (Phone number is set)"
    both = {
        "not": {
            "any": [
                {"field": "phone", "op": "is_set"},
                {"field": "member_of", "op": "eq", "value": "g1"},
            ]
        }
    }
    assert describe(both, LABELS) == "not (Phone number is set or Member of VIP)"


def test_describe_a_bare_condition_and_no_rule() -> None:
    assert (
        describe({"field": "attributes.plan", "op": "eq", "value": "Pro"}, LABELS) == "Plan is Pro"
    )
    assert describe(None, LABELS) == ""
    assert describe({}, LABELS) == ""
