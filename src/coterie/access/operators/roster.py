"""What the Groups & Users page lists under one group of the hierarchy: its subgroups (sorted and
paged like every list) and the operators who are members of it or of its subgroups."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, func, literal, select
from sqlalchemy.orm import Session

from coterie.access import scope as scopes
from coterie.actor import Actor
from coterie.directory.listing import Scope
from coterie.directory.models import User
from coterie.errors import Invalid
from coterie.groups import hierarchy
from coterie.groups import service as groups
from coterie.groups.models import Group, Membership
from coterie.pagination import Page, SortKey, paginate

GROUP_SORTS = ("name", "member_count", "subtree_member_count", "status", "created_at")


def breadcrumbs(session: Session, *, actor: Actor, group_id: int | None) -> list[Group]:
    """The chain from the level-1 group down to `group_id` (empty at the top)."""
    if group_id is None:
        return []
    groups.get(session, actor=actor, group_id=group_id)
    path = hierarchy.chain(session, workspace_id=actor.workspace_id, group_id=group_id)
    return [g for g in reversed(path) if actor.sees_group(g.id)]


def subgroups(
    session: Session,
    *,
    actor: Actor,
    parent_id: int | None,
    sort: str = "name",
    descending: bool = False,
    size: int = 25,
    cursor: str | None = None,
) -> Page[Group]:
    """The direct subgroups of `parent_id` (None: the level-1 groups)."""
    groups.require_read(actor)
    if sort not in GROUP_SORTS:
        raise Invalid(f"Cannot sort groups by {sort!r}", field="sort")
    stmt = select(Group).where(Group.workspace_id == actor.workspace_id)
    if parent_id is None:
        stmt = stmt.where(Group.parent_id.is_(None))
    else:
        stmt = stmt.where(Group.parent_id == parent_id)
    if actor.scope is not None:
        stmt = stmt.where(Group.id.in_(sorted(actor.scope)))
    key = SortKey(getattr(Group.__table__.c, sort), nullable=False, name=sort)
    return paginate(
        session,
        stmt,
        key=key,
        row_id=Group.__table__.c.id,
        descending=descending,
        size=size,
        cursor=cursor,
    )


def child_counts(session: Session, *, actor: Actor, group_ids: Sequence[int]) -> dict[int, int]:
    """How many direct subgroups each group has, for one page in one query."""
    found = dict.fromkeys(group_ids, 0)
    if not group_ids:
        return found
    stmt = (
        select(Group.parent_id, func.count())
        .where(Group.workspace_id == actor.workspace_id, Group.parent_id.in_(list(group_ids)))
        .group_by(Group.parent_id)
    )
    for parent, count in session.execute(stmt):
        if parent is not None:
            found[parent] = int(count)
    return found


def operators(session: Session, *, actor: Actor, group_id: int | None) -> Scope:
    """The people with a dashboard role, narrowed to the group's subtree when one is chosen."""
    users = User.__table__
    everyone = scopes.people(session, actor=actor)
    within: ColumnElement[bool] = users.c.role != "none"
    if everyone.within is not None:
        within = and_(within, everyone.within)
    if group_id is not None:
        below = hierarchy.subtree_ids(
            session, workspace_id=actor.workspace_id, group_ids=[group_id]
        )
        member = Membership.__table__
        in_group = (
            select(literal(1))
            .where(
                member.c.workspace_id == actor.workspace_id,
                member.c.user_id == users.c.id,
                member.c.group_id.in_(sorted(below)),
            )
            .correlate(users)
            .exists()
        )
        within = and_(within, in_group)
    return Scope(within=within, membership=everyone.membership)


def manual_groups(session: Session, *, actor: Actor) -> list[Group]:
    """Every manual group, by name, for the pickers of the edit view (move, scope)."""
    stmt = (
        select(Group)
        .where(Group.workspace_id == actor.workspace_id, Group.selection == "manual")
        .order_by(Group.name, Group.id)
    )
    if actor.scope is not None:
        stmt = stmt.where(Group.id.in_(sorted(actor.scope)))
    return list(session.scalars(stmt.limit(500)))


def all_groups(session: Session, *, actor: Actor) -> list[Group]:
    stmt = (
        select(Group).where(Group.workspace_id == actor.workspace_id).order_by(Group.name, Group.id)
    )
    return list(session.scalars(stmt.limit(500)))
