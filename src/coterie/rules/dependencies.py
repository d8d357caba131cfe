"""What a rule depends on: the fields it reads and the groups it names.

Groups use these to keep `member_of` acyclic and propagate changes in dependency order, and to
skip re-evaluating a rule when a write touched none of the fields it reads. They read the tree
as it is, without checking it against a catalog.
"""

from __future__ import annotations

from collections.abc import Iterator

from coterie.rules.fields import MEMBER_OF, FieldCatalog
from coterie.rules.fields import Operator as Op
from coterie.rules.membership import is_member_of
from coterie.rules.tree import Condition, Rule, child_path, children


def referenced_groups(rule: Rule) -> set[str]:
    """The ids of the groups the rule's `member_of` conditions name, in or out."""
    found: set[str] = set()
    for condition, _ in _conditions(rule, "filter"):
        if not is_member_of(condition):
            continue
        value = condition.value
        if condition.op in (Op.IN, Op.NOT_IN) and isinstance(value, list):
            found.update(item for item in value if isinstance(item, str))
        elif isinstance(value, str):
            found.add(value)
    return found


def fields_read(rule: Rule, catalog: FieldCatalog | None = None, *, at: str = "filter") -> set[str]:
    """The names of the fields the rule reads, `member_of` included.

    With a catalog, names are as registered (`Full_Name` reads `full_name`) and an unknown one
    is `Invalid` at its clause, as in `to_sql`; without, they are case-folded, as the catalog
    matches them.
    """
    found: set[str] = set()
    for condition, path in _conditions(rule, at):
        if is_member_of(condition):
            found.add(MEMBER_OF)
        elif catalog is None:
            found.add(condition.field.casefold())
        else:
            found.add(catalog.get(condition.field, at=f"{path}.field").name)
    return found


def is_time_relative(rule: Rule) -> bool:
    """Whether the rule's outcome can change with time alone (`within_last`, `not_within_last`)."""
    relative = (Op.WITHIN_LAST, Op.NOT_WITHIN_LAST)
    return any(condition.op in relative for condition, _ in _conditions(rule, "filter"))


def _conditions(rule: Rule, at: str) -> Iterator[tuple[Condition, str]]:
    """Every condition in the tree with its path, depth first, left to right."""
    if isinstance(rule, Condition):
        yield rule, at
        return
    for index, child in enumerate(children(rule)):
        yield from _conditions(child, child_path(rule, at, index))
