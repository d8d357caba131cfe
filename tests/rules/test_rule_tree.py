"""The JSON tree: its shape, its limits, and errors that point at the broken clause."""

from __future__ import annotations

from typing import Any

import pytest

from coterie import errors
from coterie.rules import Operator, parse_tree, to_json
from coterie.rules.tree import MAX_CONDITIONS, MAX_DEPTH, MAX_VALUES, AllOf, Condition, Not


def cond(field: str = "name", op: str = "eq", value: Any = "x") -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def nest(levels: int) -> dict[str, Any]:
    """A condition under `levels - 1` nots, so the tree is `levels` deep."""
    rule: dict[str, Any] = cond()
    for _ in range(levels - 1):
        rule = {"not": rule}
    return rule


def invalid(data: object) -> errors.Invalid:
    with pytest.raises(errors.Invalid) as caught:
        parse_tree(data)
    return caught.value


def test_a_condition() -> None:
    rule = parse_tree(cond("attributes.plan", "in", ["Free", "Pro"]))
    assert rule == Condition(field="attributes.plan", op=Operator.IN, value=["Free", "Pro"])


def test_groups_and_not() -> None:
    rule = parse_tree({"all": [cond(), {"not": {"any": [cond("a"), cond("b")]}}]})
    assert isinstance(rule, AllOf)
    assert isinstance(rule.all[1], Not)


@pytest.mark.parametrize(
    "data",
    [
        cond(),
        {"field": "name", "op": "is_set"},
        {"all": [cond(), {"any": [cond("a", "in", [1, 2.5, True]), {"not": cond("b")}]}]},
        {"not": {"not": cond("n", "between", [1, 2])}},
    ],
)
def test_to_json_round_trips(data: dict[str, Any]) -> None:
    rule = parse_tree(data)
    assert to_json(rule) == data
    assert parse_tree(to_json(rule)) == rule


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"all": [cond(), cond(op="like")]}, "filter.all[1].op", "Input should be"),
        ({"all": [cond(), {"field": "x"}]}, "filter.all[1].op", "Field required"),
        ({"any": [cond(), {"not": {"field": 3, "op": "eq"}}]}, "filter.any[1].not.field", "string"),
        ({**cond(), "extra": 1}, "filter.extra", "Extra inputs"),
        ({"all": [cond()], "field": "x"}, "filter.field", "Extra inputs"),
        ({"all": []}, "filter.all", "at least 1"),
        ({"any": [cond(), 5]}, "filter.any[1]", 'expected {"field"'),
        ({}, "filter", 'expected {"field"'),
        ([cond()], "filter", 'expected {"field"'),
        ("name eq 1", "filter", 'expected {"field"'),
        (cond(value={"a": 1}), "filter.value", "not an object"),
        (cond(value=[[1]]), "filter.value", "only texts, numbers or booleans"),
        (cond(value=[None]), "filter.value", "only texts, numbers or booleans"),
        (cond(value=float("nan")), "filter.value", "finite"),
        (cond(value=[1, float("inf")]), "filter.value", "finite"),
        (cond(field=""), "filter.field", "at least 1"),
        (cond(value=list(range(MAX_VALUES + 1))), "filter.value", f"at most {MAX_VALUES}"),
    ],
)
def test_errors_name_the_path(data: object, path: str, message: str) -> None:
    error = invalid(data)
    assert error.errors[0].field == path
    assert message in error.detail


def test_every_problem_is_listed() -> None:
    error = invalid({"all": [cond(op="nope"), cond(value={"x": 1})]})
    assert [e.field for e in error.errors] == ["filter.all[0].op", "filter.all[1].value"]


def test_at_prefixes_the_paths() -> None:
    with pytest.raises(errors.Invalid) as caught:
        parse_tree({"not": cond(op="nope")}, at="rule")
    assert caught.value.errors[0].field == "rule.not.op"


def test_depth_limit() -> None:
    parse_tree(nest(MAX_DEPTH))
    error = invalid(nest(MAX_DEPTH + 1))
    assert error.errors[0].field == "filter" + ".not" * MAX_DEPTH
    assert f"more than {MAX_DEPTH} levels" in error.detail


def test_very_deep_input_is_invalid_not_a_crash() -> None:
    error = invalid(nest(5_000))
    assert f"more than {MAX_DEPTH} levels" in error.detail


def test_condition_limit() -> None:
    parse_tree({"any": [cond() for _ in range(MAX_CONDITIONS)]})
    error = invalid({"any": [cond() for _ in range(MAX_CONDITIONS + 1)]})
    assert error.errors[0].field == "filter"
    assert f"at most {MAX_CONDITIONS} conditions" in error.detail


def test_value_limit() -> None:
    parse_tree(cond(op="in", value=list(range(MAX_VALUES))))
