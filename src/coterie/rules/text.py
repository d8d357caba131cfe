"""The text form of rules: SCIM filter syntax (RFC 7644 §3.4.2.2), read with scim2-models' grammar.

`plan eq "Premium" and seats gt 100` becomes the same tree a UI builder would send, so SCIM
`filter=`, search boxes and saved rules all go through one validator and one compiler.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from scim2_models.exceptions import InvalidFilterException
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ScimFilter,
    ValuePath,
)

from coterie import errors
from coterie.rules import tree
from coterie.rules.fields import Operator as Op
from coterie.rules.tree import Rule, child_path, children, parse_tree

MAX_LENGTH = 20_000

_FROM_SCIM = {
    CompareOperator.eq: Op.EQ,
    CompareOperator.ne: Op.NE,
    CompareOperator.co: Op.CONTAINS,
    CompareOperator.sw: Op.STARTS_WITH,
    CompareOperator.ew: Op.ENDS_WITH,
    CompareOperator.gt: Op.GT,
    CompareOperator.ge: Op.GTE,
    CompareOperator.lt: Op.LT,
    CompareOperator.le: Op.LTE,
}
_TO_SCIM = {op: scim for scim, op in _FROM_SCIM.items()} | {
    Op.BEFORE: CompareOperator.lt,
    Op.AFTER: CompareOperator.gt,
}


def parse_text(text: str, *, at: str = "filter") -> Rule:
    """Parse a SCIM filter into a rule; `x eq null` means is_not_set, `x ne null` is_set."""
    if len(text) > MAX_LENGTH:
        raise errors.Invalid(f"a filter has at most {MAX_LENGTH} characters", field=at)
    try:
        ast = ScimFilter(text).ast
    except InvalidFilterException as exc:
        raise errors.Invalid(f"invalid filter: {exc.detail}", field=at) from None
    return parse_tree(_from_scim(ast, at), at=at)


def parse_filter(value: str | Mapping[str, Any] | None, *, at: str = "filter") -> Rule | None:
    """Either form of a filter; empty is no filter.

    A mapping is the JSON tree; so is text that starts with `{` (as a query parameter carries it);
    other text is SCIM syntax.
    """
    if isinstance(value, str):
        if value.lstrip().startswith("{"):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise errors.Invalid(f"The filter is not valid JSON: {exc.msg}", field=at) from exc
            return parse_tree(value, at=at)
        return parse_text(value, at=at) if value.strip() else None
    if not value:
        return None
    return parse_tree(dict(value) if isinstance(value, Mapping) else value, at=at)


def _from_scim(node: FilterNode, at: str) -> dict[str, Any]:
    if isinstance(node, LogicalExpr):
        key = "all" if node.op is LogicalOperator.and_ else "any"
        return {key: [_from_scim(term, at) for term in node.terms]}
    if isinstance(node, Not):
        return {"not": _from_scim(node.expr, at)}
    if isinstance(node, Present):
        return {"field": _field(node.attr_path, at), "op": Op.IS_SET}
    if isinstance(node, Comparison):
        field = _field(node.attr_path, at)
        if node.value is None and node.op in (CompareOperator.eq, CompareOperator.ne):
            op = Op.IS_NOT_SET if node.op is CompareOperator.eq else Op.IS_SET
            return {"field": field, "op": op}
        return {"field": field, "op": _FROM_SCIM[node.op], "value": node.value}
    if isinstance(node, ValuePath):
        raise errors.Invalid(
            f"value filters such as {node.attr_path}[...] are not supported here", field=at
        )
    raise errors.Invalid(f"unsupported filter expression: {node}", field=at)


def _field(attr_path: AttrPath, at: str) -> str:
    if attr_path.uri is not None:
        raise errors.Invalid(
            f"schema URNs are not supported here; write {_name(attr_path)!r}", field=at
        )
    return _name(attr_path)


def _name(attr_path: AttrPath) -> str:
    return attr_path.attr + (f".{attr_path.sub_attr}" if attr_path.sub_attr else "")


def to_text(rule: Rule, *, at: str = "filter") -> str:
    """A rule in SCIM syntax, for display; `Invalid` when the rule uses what SCIM cannot say.

    in/not_in and between are spelled out (`a eq 1 or a eq 2`, `a ge 1 and a le 2`), before and
    after become lt and gt; within_last and the multi_enum any/all have no SCIM form.
    """
    return _render(rule, at)[0]


def _render(rule: Rule, at: str) -> tuple[str, bool]:
    """The text of a rule, and whether it is a disjunction (`and` binds tighter than `or`)."""
    if isinstance(rule, tree.Condition):
        return _condition(rule, at)
    parts = [_render(child, child_path(rule, at, i)) for i, child in enumerate(children(rule))]
    if isinstance(rule, tree.Not):
        return f"not ({parts[0][0]})", False
    if isinstance(rule, tree.AnyOf):
        return " or ".join(text for text, _ in parts), len(parts) > 1 or parts[0][1]
    return " and ".join(f"({text})" if is_or else text for text, is_or in parts), False


def _condition(rule: tree.Condition, at: str) -> tuple[str, bool]:
    try:
        first, _, second = rule.field.partition(".")
        path = str(AttrPath(first, second or None))
    except ValueError:
        raise errors.Invalid(
            f"field {rule.field!r} cannot be written in SCIM syntax", field=f"{at}.field"
        ) from None
    op, value = rule.op, rule.value
    if op is Op.IS_SET:
        return f"{path} pr", False
    if op is Op.IS_NOT_SET:
        return f"not ({path} pr)", False
    if op is Op.BETWEEN and isinstance(value, list) and len(value) == 2:
        return f"{path} ge {_quote(value[0])} and {path} le {_quote(value[1])}", False
    if op in (Op.IN, Op.NOT_IN) and isinstance(value, list) and value:
        matches = " or ".join(f"{path} eq {_quote(item)}" for item in value)
        if op is Op.NOT_IN:
            return f"not ({matches})", False
        return matches, len(value) > 1
    scim_op = _TO_SCIM.get(op)
    if scim_op is None or value is None or isinstance(value, list | dict):
        raise errors.Invalid(f"'{op}' with this value cannot be written in SCIM syntax", field=at)
    return f"{path} {scim_op} {_quote(value)}", False


def _quote(value: object) -> str:
    """A JSON literal, as the grammar wants, keeping non-ASCII text readable."""
    return json.dumps(value, ensure_ascii=False)
