"""SCIM filter text: parsing into the tree, and writing a tree back as text."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

from coterie import errors
from coterie.rules import parse_filter, parse_text, parse_tree, to_json, to_text
from coterie.rules.text import MAX_LENGTH


def tree(text: str) -> dict[str, Any]:
    return to_json(parse_text(text))


def cond(field: str, op: str, value: Any = ...) -> dict[str, Any]:
    found = {"field": field, "op": op}
    return found if value is ... else {**found, "value": value}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('name eq "Ölaf"', cond("name", "eq", "Ölaf")),
        ('name ne "x"', cond("name", "ne", "x")),
        ('name co "x"', cond("name", "contains", "x")),
        ('name sw "x"', cond("name", "starts_with", "x")),
        ('name ew "x"', cond("name", "ends_with", "x")),
        ("score gt 1", cond("score", "gt", 1)),
        ("score ge 1.5", cond("score", "gte", 1.5)),
        ("score lt -2", cond("score", "lt", -2)),
        ("score le 1e3", cond("score", "lte", 1000.0)),
        ("vip eq true", cond("vip", "eq", True)),
        ("vip ne false", cond("vip", "ne", False)),
        ("phone pr", cond("phone", "is_set")),
        ("phone eq null", cond("phone", "is_not_set")),
        ("phone ne null", cond("phone", "is_set")),
        ("score gt null", cond("score", "gt")),
        ('attributes.plan eq "Pro"', cond("attributes.plan", "eq", "Pro")),
        ('last_activity_at gt "2024-01-01"', cond("last_activity_at", "gt", "2024-01-01")),
        ('name EQ "x"', cond("name", "eq", "x")),
        ("name PR", cond("name", "is_set")),
        (r'name eq "say \"hi\" \\ \u00e9"', cond("name", "eq", 'say "hi" \\ é')),
        ('name eq "50%_off"', cond("name", "eq", "50%_off")),
        ("not (phone pr)", {"not": cond("phone", "is_set")}),
        ("not(phone pr)", {"not": cond("phone", "is_set")}),
    ],
)
def test_parse_text(text: str, expected: dict[str, Any]) -> None:
    assert tree(text) == expected


def test_and_binds_tighter_than_or() -> None:
    a, b, c = cond("a", "eq", 1), cond("b", "eq", 2), cond("c", "eq", 3)
    assert tree("a eq 1 or b eq 2 and c eq 3") == {"any": [a, {"all": [b, c]}]}
    assert tree("a eq 1 and b eq 2 or c eq 3") == {"any": [{"all": [a, b]}, c]}
    assert tree("(a eq 1 or b eq 2) and c eq 3") == {"all": [{"any": [a, b]}, c]}
    assert tree("a eq 1 and b eq 2 and c eq 3") == {"all": [a, b, c]}
    assert tree("not (a eq 1 or b eq 2) and c eq 3") == {"all": [{"not": {"any": [a, b]}}, c]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name eq", "invalid filter: invalid syntax"),
        ('name eq "open', "invalid filter"),
        ("name like 1", "invalid filter"),
        ("", "invalid filter"),
        ("(name pr", "invalid filter"),
        ('emails[type eq "work"]', "not supported here"),
        ('emails[type eq "work"].value eq "x"', "not supported here"),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"', "schema URNs"),
        ("x" * (MAX_LENGTH + 1), f"at most {MAX_LENGTH} characters"),
    ],
)
def test_parse_text_errors(text: str, message: str) -> None:
    with pytest.raises(errors.Invalid) as caught:
        parse_text(text)
    assert caught.value.errors[0].field == "filter"
    assert message in caught.value.detail


def test_parsed_text_obeys_the_tree_limits() -> None:
    with pytest.raises(errors.Invalid, match="at most 200 conditions"):
        parse_text(" or ".join(["a pr"] * 201))
    with pytest.raises(errors.Invalid, match="more than 10 levels"):
        parse_text("not (" * 10 + "a pr" + ")" * 10)


@pytest.mark.parametrize(
    "text",
    [
        'name eq "Ölaf \\"the\\" Berg"',
        "a eq 1 or b eq 2 and c eq 3",
        "(a eq 1 or b eq 2) and c eq 3",
        "not (a eq 1 or b eq 2) and not (c pr)",
        "a gt 1.5 and b le -2 and c eq true and d ne false",
        'attributes.plan co "50%_" or name sw "x" or name ew "y"',
    ],
)
def test_to_text_round_trips(text: str) -> None:
    rule = parse_text(text)
    assert parse_text(to_text(rule)) == rule


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (cond("name", "eq", "Émile"), 'name eq "Émile"'),
        (cond("phone", "is_not_set"), "not (phone pr)"),
        (cond("score", "in", [1, 2]), "score eq 1 or score eq 2"),
        (cond("score", "not_in", [1]), "not (score eq 1)"),
        (cond("score", "between", [1, 2]), "score ge 1 and score le 2"),
        (cond("seen_at", "before", "2024-01-01"), 'seen_at lt "2024-01-01"'),
        (cond("seen_at", "after", "2024-01-01"), 'seen_at gt "2024-01-01"'),
        (
            {"all": [cond("a", "in", [1, 2]), {"any": [cond("b", "is_set"), cond("c", "lte", 3)]}]},
            "(a eq 1 or a eq 2) and (b pr or c le 3)",
        ),
        ({"any": [{"all": [cond("a", "eq", 1), cond("b", "eq", 2)]}]}, "a eq 1 and b eq 2"),
    ],
)
def test_to_text(data: dict[str, Any], text: str) -> None:
    rule = parse_tree(data)
    assert to_text(rule) == text
    assert to_json(parse_text(text)) == to_json(parse_text(to_text(rule)))


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (cond("seen_at", "within_last", 7), "filter"),
        (cond("tags", "any", ["a"]), "filter"),
        ({"all": [cond("a", "is_set"), cond("tags", "all", ["a"])]}, "filter.all[1]"),
        (cond("a.b.c", "eq", 1), "filter.field"),
        ({"not": cond("score", "eq", [1])}, "filter.not"),
    ],
)
def test_to_text_refuses_what_scim_cannot_say(data: dict[str, Any], path: str) -> None:
    with pytest.raises(errors.Invalid) as caught:
        to_text(parse_tree(data))
    assert caught.value.errors[0].field == path


@pytest.mark.parametrize("empty", [None, "", "   ", {}])
def test_parse_filter_empty_is_no_filter(empty: Any) -> None:
    assert parse_filter(empty) is None


def test_parse_filter_takes_either_form() -> None:
    from_text = parse_filter('attributes.plan eq "Pro" and not (phone pr)')
    from_tree = parse_filter(
        {"all": [cond("attributes.plan", "eq", "Pro"), {"not": cond("phone", "is_set")}]}
    )
    assert from_text == from_tree
    assert parse_filter(MappingProxyType({"field": "x", "op": "is_set"})) is not None
    with pytest.raises(errors.Invalid):
        parse_filter({"field": "x"})
    with pytest.raises(errors.Invalid):
        parse_filter([{"field": "x", "op": "is_set"}])  # type: ignore[arg-type]
