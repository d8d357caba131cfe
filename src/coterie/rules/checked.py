"""A rule checked against a catalog: its tree, with every condition reduced to what it tests.

Every evaluator (`to_sql`, `to_predicate`, `explain`) starts here, so a bad rule fails with the
same error wherever it is used, and each condition means the same thing to all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from coterie.rules.fields import FieldCatalog
from coterie.rules.membership import Membership, is_member_of, membership
from coterie.rules.predicates import Predicate, predicate
from coterie.rules.tree import AllOf, AnyOf, Condition, Rule, child_path, children


@dataclass(frozen=True)
class Leaf:
    """A condition at `path`, and the test it was reduced to."""

    condition: Condition
    path: str
    reduced: Predicate | Membership


@dataclass(frozen=True)
class Branch:
    """`all`, `any` or `not` at `path`, over its checked children."""

    kind: Literal["all", "any", "not"]
    path: str
    parts: tuple[Checked, ...]


Checked = Leaf | Branch


def check(rule: Rule, catalog: FieldCatalog, *, now: datetime, at: str = "filter") -> Checked:
    """Validate a rule against a catalog; the first bad clause, depth first, is `Invalid`.

    `now` anchors within_last and must be aware.
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime given where UTC was expected")
    return _check(rule, catalog, now, at)


def _check(rule: Rule, catalog: FieldCatalog, now: datetime, at: str) -> Checked:
    if isinstance(rule, Condition):
        if is_member_of(rule):
            return Leaf(rule, at, membership(rule, catalog, at=at))
        return Leaf(rule, at, predicate(rule, catalog, now=now, at=at))
    parts = tuple(
        _check(child, catalog, now, child_path(rule, at, index))
        for index, child in enumerate(children(rule))
    )
    kind: Literal["all", "any", "not"] = (
        "all" if isinstance(rule, AllOf) else "any" if isinstance(rule, AnyOf) else "not"
    )
    return Branch(kind, at, parts)
