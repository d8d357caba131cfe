"""The canonical form of a rule: a JSON tree of `all`, `any`, `not` and conditions.

Every other form (SCIM text, UI builders) is turned into this tree, and this is what is stored.
The tree is checked for shape and size here; whether its fields and values make sense is checked
against a field catalog when it is compiled.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails

from coterie import errors
from coterie.rules.fields import Operator

MAX_DEPTH = 10
MAX_CONDITIONS = 200
MAX_VALUES = 1_000

_NODE_CONFIG = ConfigDict(extra="forbid", frozen=True)


class Condition(BaseModel):
    """`{"field": "plan", "op": "eq", "value": "Premium"}`; `value` is absent for is_set."""

    model_config = _NODE_CONFIG

    field: str = Field(min_length=1, max_length=200)
    op: Operator
    value: JsonValue = None

    @field_validator("value")
    @classmethod
    def _json_scalar_or_list(cls, value: JsonValue) -> JsonValue:
        if isinstance(value, list):
            if len(value) > MAX_VALUES:
                raise ValueError(f"at most {MAX_VALUES} values, got {len(value)}")
            for item in value:
                if item is None or isinstance(item, dict | list):
                    raise ValueError("a list of values holds only texts, numbers or booleans")
                _check_finite(item)
        elif isinstance(value, dict):
            raise ValueError("a value is a text, number, boolean or list, not an object")
        _check_finite(value)
        return value


def _check_finite(value: JsonValue) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")


class AllOf(BaseModel):
    """`{"all": [...]}`: every rule holds."""

    model_config = _NODE_CONFIG

    all: tuple[Rule, ...] = Field(min_length=1)


class AnyOf(BaseModel):
    """`{"any": [...]}`: at least one rule holds."""

    model_config = _NODE_CONFIG

    any: tuple[Rule, ...] = Field(min_length=1)


class Not(BaseModel):
    """`{"not": rule}`: the rule does not hold (exactly its complement, NULLs included)."""

    model_config = _NODE_CONFIG

    not_: Rule = Field(alias="not")


_TAGS: dict[type, str] = {Condition: "condition", AllOf: "all", AnyOf: "any", Not: "not"}


def _kind(data: object) -> str | None:
    """Pick the node type by the key that is present, so errors name the right node's fields."""
    if not isinstance(data, dict):
        return _TAGS.get(type(data))
    for key in ("all", "any", "not"):
        if key in data:
            return key
    return "condition" if data else None


Rule = Annotated[
    Annotated[Condition, Tag("condition")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")],
    Discriminator(
        _kind,
        custom_error_type="rule",
        custom_error_message='expected {"field", "op", "value"}, {"all": [...]}, '
        '{"any": [...]} or {"not": {...}}',
    ),
]

for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()

_ADAPTER: TypeAdapter[Rule] = TypeAdapter(Rule)


def parse_tree(data: object, *, at: str = "filter") -> Rule:
    """Validate a JSON tree into a `Rule`; every problem is an `Invalid` naming its path."""
    try:
        rule = _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise _invalid(exc, at) from None
    _check_size(rule, at)
    return rule


def to_json(rule: Rule) -> dict[str, Any]:
    """The JSON tree of a rule, as stored; `parse_tree(to_json(rule)) == rule`."""
    result: dict[str, Any] = _ADAPTER.dump_python(
        rule, mode="json", by_alias=True, exclude_none=True
    )
    return result


def children(rule: Rule) -> tuple[Rule, ...]:
    """The rules directly under a node, for walking a tree without matching on its types."""
    if isinstance(rule, AllOf):
        return rule.all
    if isinstance(rule, AnyOf):
        return rule.any
    if isinstance(rule, Not):
        return (rule.not_,)
    return ()


def child_path(rule: Rule, at: str, index: int) -> str:
    """The path of the index-th child, in the form errors use: `filter.all[1]`, `filter.not`."""
    if isinstance(rule, Not):
        return f"{at}.not"
    return f"{at}.{'all' if isinstance(rule, AllOf) else 'any'}[{index}]"


def _check_size(rule: Rule, at: str) -> None:
    conditions = 0
    stack = [(rule, at, 1)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise errors.Invalid(f"rules nest more than {MAX_DEPTH} levels deep", field=path)
        if isinstance(node, Condition):
            conditions += 1
        for index, child in enumerate(children(node)):
            stack.append((child, child_path(node, path, index), depth + 1))
    if conditions > MAX_CONDITIONS:
        raise errors.Invalid(
            f"a rule has at most {MAX_CONDITIONS} conditions, this one has {conditions}",
            field=at,
        )


def _invalid(exc: ValidationError, at: str) -> errors.Invalid:
    found: list[errors.FieldError] = []
    details = exc.errors(include_url=False)
    for error in details:
        if error["type"].startswith("recursion"):
            message = f"rules nest more than {MAX_DEPTH} levels deep"
            found = [errors.FieldError(at, message)]
            break
        if error["type"] == "too_short" and _has_inner_error(error, details):
            continue  # "no item left after validation" only repeats the items' own errors
        found.append(errors.FieldError(_path(error, at), _message(error)))
    return errors.Invalid(found[0].message, errors=found)


def _has_inner_error(error: ErrorDetails, details: list[ErrorDetails]) -> bool:
    loc = error["loc"]
    return any(len(o["loc"]) > len(loc) and o["loc"][: len(loc)] == loc for o in details)


def _path(error: ErrorDetails, at: str) -> str:
    """Turn Pydantic's location into a rule path, dropping the union tags it interleaves."""
    path = at
    expect_tag = True
    for part in error["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
            expect_tag = True
        elif expect_tag and part in ("condition", "all", "any", "not"):
            expect_tag = False
        else:
            path += f".{part}"
            expect_tag = part == "not"
    return path


def _message(error: ErrorDetails) -> str:
    return error["msg"].removeprefix("Value error, ")
