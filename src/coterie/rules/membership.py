"""`member_of` conditions: a person is (not) in one of some groups, asked of a `MembershipSource`.

`{"field": "member_of", "op": "in", "value": ["<group id>", ...]}` (or SCIM
`member_of eq "<group id>"`) is how groups compose. The rules package knows no group: the
catalog's membership source says which ids exist and how to test membership in SQL and Python.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from coterie import errors
from coterie.rules.fields import MEMBER_OF, FieldCatalog, MembershipSource
from coterie.rules.fields import Operator as Op
from coterie.rules.tree import Condition

OPERATORS = (Op.EQ, Op.IN, Op.NE, Op.NOT_IN)
_NEGATED = (Op.NE, Op.NOT_IN)


@dataclass(frozen=True)
class Membership:
    """The person is in at least one of `group_ids`; when `negated`, in none of them."""

    source: MembershipSource
    group_ids: tuple[str, ...]
    negated: bool = False


def is_member_of(condition: Condition) -> bool:
    """The condition names `member_of` (field names are case-insensitive)."""
    return condition.field.casefold() == MEMBER_OF


def membership(condition: Condition, catalog: FieldCatalog, *, at: str) -> Membership:
    """Check a member_of condition, raising `Invalid` at the clause's path as `predicate` does."""
    source = catalog.membership
    if source is None:
        raise errors.Invalid(
            f"{MEMBER_OF} is not available here: these records have no groups",
            field=f"{at}.field",
        )
    op = condition.op
    if op not in OPERATORS:
        raise errors.Invalid(
            f"operator '{op}' does not apply to {MEMBER_OF}; "
            f"use one of: {', '.join(sorted(OPERATORS))}",
            field=f"{at}.op",
        )
    value, path = condition.value, f"{at}.value"
    items: list[tuple[object, str]]
    if op in (Op.EQ, Op.NE):
        items = [(value, path)]
    elif isinstance(value, list) and value:
        items = [(item, f"{path}[{index}]") for index, item in enumerate(value)]
    else:
        raise _fail(op, f"needs a non-empty list of group ids, got {_show(value)}", path)
    group_ids: list[str] = []
    for item, item_path in items:
        if not isinstance(item, str) or not item:
            raise _fail(op, f"needs a group id (a text), got {_show(item)}", item_path)
        if not source.known(item):
            raise _fail(op, f"names no known group: {_show(item)}", item_path)
        if item not in group_ids:
            group_ids.append(item)
    return Membership(source, tuple(group_ids), negated=op in _NEGATED)


def _fail(op: Op, problem: str, at: str) -> errors.Invalid:
    return errors.Invalid(f"{op} on '{MEMBER_OF}' {problem}", field=at)


def _show(value: object) -> str:
    return "a list" if isinstance(value, list) else json.dumps(value, ensure_ascii=False)
