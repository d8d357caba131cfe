"""The group hierarchy: subgroups under a parent, at most `Workspace.hierarchy_depth` levels.

The tree is stored as one `parent_id` per group and walked with recursive SQL, which both
databases run from the `(workspace_id, parent_id)` index: a subtree, a chain of ancestors or a
move is a bounded number of statements whatever the size of the tree. Level 1 (no parent) is the
billing-level group.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Select,
    Table,
    any_,
    bindparam,
    case,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from coterie import ids
from coterie.actor import Actor
from coterie.db import Id, Prepared
from coterie.directory.service import require_write
from coterie.errors import Forbidden, Invalid, NotFound
from coterie.events import service as audit
from coterie.groups.models import Group, Membership
from coterie.workspaces import service as workspaces

_GROUPS = cast(Table, Group.__table__)
_MEMBERSHIPS = cast(Table, Membership.__table__)
BILLING_FIELDS = ("billing_email", "billing_plan", "billing_seats")


def descendants(workspace_id: int, roots: Collection[int] | Select[tuple[int]]) -> CTE:
    """A recursive CTE of `roots` (ids, or a query of ids) and every group below them (`id`)."""
    g = _GROUPS.c
    start = roots if isinstance(roots, Select) else list(roots)
    base = select(g.id).where(g.workspace_id == workspace_id, g.id.in_(start))
    down = base.cte("down", recursive=True)
    child = _GROUPS.alias("child")
    return down.union(
        select(child.c.id).where(
            child.c.workspace_id == workspace_id, child.c.parent_id == down.c.id
        )
    )


def ancestors(workspace_id: int, starts: Collection[int] | Select[tuple[int]]) -> CTE:
    """A recursive CTE of `starts` and every group above them (`id`)."""
    g = _GROUPS.c
    start = starts if isinstance(starts, Select) else list(starts)
    base = select(g.id, g.parent_id).where(g.workspace_id == workspace_id, g.id.in_(start))
    up = base.cte("up", recursive=True)
    parent = _GROUPS.alias("parent")
    return up.union(
        select(parent.c.id, parent.c.parent_id).where(
            parent.c.workspace_id == workspace_id, parent.c.id == up.c.parent_id
        )
    )


def subtree_ids(session: Session, *, workspace_id: int, group_ids: Collection[int]) -> set[int]:
    """The given groups (those of the workspace) and all their descendants."""
    if not group_ids:
        return set()
    down = descendants(workspace_id, group_ids)
    return set(session.scalars(select(down.c.id)))


def among(session: Session, column: Any, values: Collection[int]) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(:array)`, one parameter however many
    ids (an `IN` list of 1,000 ids costs milliseconds of client CPU to render and send)."""
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=postgresql.ARRAY(BigInteger))
        return cast(ColumnElement[bool], column == any_(array))
    return cast(ColumnElement[bool], column.in_(list(values)))


def subtree_by_levels(
    session: Session, *, workspace_id: int, roots: Select[tuple[int]]
) -> list[int]:
    """`subtree_ids` of the groups `roots` selects, read one level at a time (at most the depth
    limit plus one queries). Each level is an index lookup by parent with the ids known, where
    PostgreSQL, misjudging a recursive CTE's size, would scan every group of the workspace."""
    g = _GROUPS.c
    level_ids = list(
        session.scalars(select(g.id).where(g.workspace_id == workspace_id, g.id.in_(roots)))
    )
    found = set(level_ids)
    while level_ids:
        below = session.scalars(
            select(g.id).where(
                g.workspace_id == workspace_id, among(session, g.parent_id, level_ids)
            )
        )
        level_ids = [group for group in below if group not in found]
        found.update(level_ids)
    return sorted(found)


def ancestor_ids(session: Session, *, workspace_id: int, group_ids: Collection[int]) -> set[int]:
    """The given groups (those of the workspace) and all their ancestors up to level 1."""
    if not group_ids:
        return set()
    up = ancestors(workspace_id, group_ids)
    return set(session.scalars(select(up.c.id)))


def chain(session: Session, *, workspace_id: int, group_id: int) -> list[Group]:
    """The group and its ancestors, from the group up to its level-1 group."""
    up = ancestors(workspace_id, [group_id])
    found = {
        group.id: group
        for group in session.scalars(
            select(Group).where(Group.workspace_id == workspace_id, Group.id.in_(select(up.c.id)))
        )
    }
    path: list[Group] = []
    at: int | None = group_id
    while at is not None and at in found:
        path.append(found[at])
        at = found[at].parent_id
    return path


def _depths(workspace_id: int, root: int) -> CTE:
    """A recursive CTE of `root` and its descendants with their distance below it (`id, d`)."""
    g = _GROUPS.c
    base = select(g.id, literal(0).label("d")).where(g.workspace_id == workspace_id, g.id == root)
    down = base.cte("below", recursive=True)
    child = _GROUPS.alias("child")
    return down.union_all(
        select(child.c.id, down.c.d + 1).where(
            child.c.workspace_id == workspace_id, child.c.parent_id == down.c.id
        )
    )


def level(session: Session, *, workspace_id: int, group_id: int) -> int:
    """1 for a group without a parent, 2 for its subgroups, and so on."""
    up = ancestors(workspace_id, [group_id])
    return int(session.scalar(select(func.count()).select_from(up)) or 0)


def decode_parent(text: str) -> int:
    """A parent id from a request body: a malformed one is bad input naming `parent_id`."""
    try:
        return ids.decode(text, what="group")
    except NotFound:
        raise Invalid(f"No group with id {text!r}", field="parent_id") from None


def check_placement(actor: Actor, parent_id: int | None) -> None:
    """A group may go only where the actor manages: under a group in their scope, or at level 1
    for an actor without a scope (a scoped operator would lose sight of a level-1 group)."""
    if parent_id is None:
        if actor.scope is not None:
            raise Forbidden(
                "Your group scope is limited: choose a parent group inside it",
                field="parent_id",
            )
        return
    if not actor.sees_group(parent_id):
        raise Invalid(f"No group with id {ids.encode(parent_id)}", field="parent_id")


def check_parent(
    session: Session,
    *,
    workspace_id: int,
    parent_id: int,
    group_id: int | None = None,
    billing: bool = False,
) -> Group:
    """Refuse a parent that does not exist, that would make a cycle or exceed the depth limit.

    `group_id` is the group being moved (None for a new one), `billing` whether it carries
    billing fields, which only a level-1 group may. Three statements, whatever the tree's size.
    """
    parent = session.get(Group, (workspace_id, parent_id))
    if parent is None:
        raise Invalid(f"No group with id {ids.encode(parent_id)}", field="parent_id")
    if billing:
        raise Invalid(
            "Only a level-1 group carries billing fields; clear them before giving it a parent",
            field="parent_id",
        )
    height = 0
    if group_id is not None:
        below = _depths(workspace_id, group_id)
        row = session.execute(
            select(
                func.max(below.c.d),
                func.count(case((below.c.id == parent_id, 1))),
            )
        ).one()
        if row[1]:
            where = "itself" if parent_id == group_id else "one of its own subgroups"
            raise Invalid(
                f"A group cannot be moved under {where} ({parent.name}): that makes a cycle",
                field="parent_id",
            )
        height = int(row[0] or 0)
    limit = workspaces.get(session, workspace_id=workspace_id).hierarchy_depth
    deepest = level(session, workspace_id=workspace_id, group_id=parent_id) + 1 + height
    if deepest > limit:
        raise Invalid(
            f"Under {parent.name} the hierarchy would be {deepest} levels deep; "
            f"this workspace allows {limit}",
            field="parent_id",
        )
    return parent


def move(session: Session, *, actor: Actor, group: Group, parent_id: int | None) -> Group:
    """Put `group` with its whole subtree under `parent_id` (None: make it level 1).

    A bounded number of statements: only the moved group's row changes, and the subtree
    counts of its old and new ancestors are recounted set-based.
    """
    require_write(actor)
    old_parent = group.parent_id
    if parent_id == old_parent:
        return group
    check_placement(actor, parent_id)
    if parent_id is not None:
        billing = any(getattr(group, name) is not None for name in BILLING_FIELDS)
        check_parent(
            session,
            workspace_id=group.workspace_id,
            parent_id=parent_id,
            group_id=group.id,
            billing=billing,
        )
    group.parent_id = parent_id
    session.flush()
    moved_from = [old_parent] if old_parent is not None else []
    moved_to = [parent_id] if parent_id is not None else []
    touched = ancestor_ids(
        session, workspace_id=group.workspace_id, group_ids=[*moved_from, *moved_to]
    )
    recount(session, workspace_id=group.workspace_id, group_ids=touched)
    audit.record(
        session,
        actor=actor,
        action="group.moved",
        target_type="group",
        target_id=group.id,
        target_label=group.name,
        before={"parent_id": ids.encode(old_parent) if old_parent else None},
        after={"parent_id": ids.encode(parent_id) if parent_id else None},
    )
    return group


def has_subgroups(session: Session, *, group: Group) -> list[Group]:
    """The direct subgroups of a group, by name."""
    return list(
        session.scalars(
            select(Group)
            .where(Group.workspace_id == group.workspace_id, Group.parent_id == group.id)
            .order_by(Group.name)
        )
    )


def recount(session: Session, *, workspace_id: int, group_ids: Iterable[int]) -> None:
    """Set `subtree_member_count` of these groups exactly: distinct people in each subtree.

    The rows are locked first (on PostgreSQL), so the count, a new statement, sees every
    change committed by a transaction that recounted the same group before this one.
    """
    targets = sorted(set(group_ids))
    if not targets:
        return
    g, m = _GROUPS.c, _MEMBERSHIPS.c
    session.execute(
        select(g.id)
        .where(g.workspace_id == workspace_id, g.id.in_(targets))
        .order_by(g.id)
        .with_for_update()
    ).all()
    base = select(g.id.label("root"), g.id).where(g.workspace_id == workspace_id, g.id.in_(targets))
    pairs = base.cte("pairs", recursive=True)
    child = _GROUPS.alias("child")
    pairs = pairs.union(
        select(pairs.c.root, child.c.id).where(
            child.c.workspace_id == workspace_id, child.c.parent_id == pairs.c.id
        )
    )
    rows = session.execute(
        select(pairs.c.root, func.count(m.user_id.distinct()))
        .join(_MEMBERSHIPS, (m.workspace_id == workspace_id) & (m.group_id == pairs.c.id))
        .group_by(pairs.c.root)
    ).all()
    counted = {row[0]: int(row[1]) for row in rows}
    session.execute(
        update(_GROUPS)
        .where(g.workspace_id == workspace_id, g.id == bindparam("gid"))
        .values(subtree_member_count=bindparam("n")),
        [{"gid": target, "n": counted.get(target, 0)} for target in targets],
        execution_options={"synchronize_session": False},
    )
    for target in targets:
        loaded = session.identity_map.get(identity_key(Group, (workspace_id, target)))
        if loaded is not None:
            session.expire(loaded, ["subtree_member_count"])


def counts_changed(session: Session, *, workspace_id: int, group_ids: Collection[int]) -> None:
    """After members of `group_ids` changed: recount every group whose subtree holds one of
    them, except a changed group without subgroups (its kept count is exact already).

    For groups outside any hierarchy this is one short query that finds nothing to do.
    """
    if not group_ids:
        return
    up = ancestors(workspace_id, group_ids)
    child = _GROUPS.alias("child")
    has_child = exists().where(child.c.workspace_id == workspace_id, child.c.parent_id == up.c.id)
    targets = session.scalars(
        select(up.c.id).where(~up.c.id.in_(list(group_ids)) | has_child)
    ).all()
    recount(session, workspace_id=workspace_id, group_ids=targets)


class Node(NamedTuple):
    """One group of a tree listing, in depth-first order."""

    id: int
    name: str
    parent_id: int | None
    level: int
    member_count: int
    subtree_member_count: int
    subgroups: int


def _tree_statement() -> Select[Any]:
    g = _GROUPS.c
    return (
        select(g.id, g.name, g.parent_id, g.member_count, g.subtree_member_count)
        .where(g.workspace_id == bindparam("ws", type_=Id))
        .order_by(g.name, g.id)
    )


_TREE = Prepared(_tree_statement())


def tree(session: Session, *, actor: Actor, root_id: int | None = None) -> list[Node]:
    """All groups of the workspace (or the subtree of `root_id`), depth-first, by name.

    One query whatever the size: the counts are kept, so nothing is counted here.
    """
    rows = _TREE.rows(session, {"ws": actor.workspace_id})
    start = 1
    if root_id is not None:
        keep = subtree_ids(session, workspace_id=actor.workspace_id, group_ids=[root_id])
        rows = [row for row in rows if row[0] in keep]
        start = level(session, workspace_id=actor.workspace_id, group_id=root_id)
    present = {row[0] for row in rows}
    children: dict[int | None, list[tuple[Any, ...]]] = {}
    for row in rows:
        parent = row[2] if row[2] in present else None
        children.setdefault(parent, []).append(row)
    found: list[Node] = []
    stack = [(row, start) for row in reversed(children.get(None, []))]
    while stack:
        (group_id, name, parent_id, direct, subtree), at = stack.pop()
        below = children.get(group_id, ())
        found.append(Node(group_id, name, parent_id, at, direct, subtree, len(below)))
        stack.extend([(row, at + 1) for row in reversed(below)])
    if actor.scope is not None:
        found = [node for node in found if node.id in actor.scope]
    return found
