"""How groups compose through `member_of`: a directed acyclic graph, walked in dependency order.

Edges run from a rule group to the groups its rule names. The graph is small (one row per rule
group), so it is read whole and walked in Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import errors
from coterie.groups.models import Group


@dataclass(frozen=True)
class Node:
    id: int
    name: str
    dynamic: bool
    references: tuple[int, ...]


def load(session: Session, *, workspace_id: int) -> dict[int, Node]:
    """Every rule group of the workspace and the groups it names."""
    stmt = select(Group.id, Group.name, Group.behaviour, Group.references).where(
        Group.workspace_id == workspace_id, Group.selection == "rule"
    )
    return {
        row.id: Node(row.id, row.name, row.behaviour == "dynamic", tuple(row.references or ()))
        for row in session.execute(stmt)
    }


def check_acyclic(
    session: Session, *, workspace_id: int, group_id: int, name: str, references: Iterable[int]
) -> None:
    """Refuse a rule for `group_id` naming `references` if that closes a loop; name the loop."""
    nodes = load(session, workspace_id=workspace_id)
    nodes[group_id] = Node(group_id, name, True, tuple(references))
    names = {node_id: node.name for node_id, node in nodes.items()}

    def walk(node_id: int, path: list[int]) -> list[int] | None:
        for nxt in nodes[node_id].references if node_id in nodes else ():
            if nxt == group_id:
                return [*path, nxt]
            if nxt not in path:
                found = walk(nxt, [*path, nxt])
                if found:
                    return found
        return None

    loop = walk(group_id, [group_id])
    if loop:
        shown = " → ".join(names.get(i, "?") for i in loop)
        raise errors.Invalid(f"member_of would make a cycle: {shown}", field="include")


def referencing(session: Session, *, workspace_id: int, group_id: int) -> list[Node]:
    """The rule groups whose rules name this group."""
    nodes = load(session, workspace_id=workspace_id)
    return sorted(
        (node for node in nodes.values() if group_id in node.references), key=lambda n: n.name
    )


def dependents(session: Session, *, workspace_id: int, changed: Iterable[int]) -> list[int]:
    """The dynamic groups to re-evaluate after `changed` groups changed, in dependency order.

    Every dynamic group that names a changed group, directly or through others, comes after all
    the groups it names.
    """
    nodes = load(session, workspace_id=workspace_id)
    readers: dict[int, list[int]] = {}
    for node in nodes.values():
        for target in node.references:
            readers.setdefault(target, []).append(node.id)
    reached: set[int] = set()
    stack = list(changed)
    while stack:
        for reader in readers.get(stack.pop(), ()):
            if reader not in reached and nodes[reader].dynamic:
                reached.add(reader)
                stack.append(reader)
    return [i for i in order(nodes) if i in reached]


def order(nodes: dict[int, Node]) -> list[int]:
    """All node ids, each after every node it names (the graph is acyclic)."""
    done: list[int] = []
    seen: set[int] = set()

    def visit(node_id: int) -> None:
        if node_id in seen:
            return
        seen.add(node_id)
        for target in nodes[node_id].references if node_id in nodes else ():
            visit(target)
        done.append(node_id)

    for node_id in sorted(nodes):
        visit(node_id)
    return [i for i in done if i in nodes]


def ranks(nodes: dict[int, Node]) -> dict[int, int]:
    """Each node's depth in the graph: 0 names no rule group, else 1 + the deepest it names."""
    rank: dict[int, int] = {}
    for node_id in order(nodes):
        below = [rank.get(t, 0) for t in nodes[node_id].references if t in nodes]
        rank[node_id] = 1 + max(below) if below else 0
    return rank
