"""Effective access: who may use what, and through which group.

A person may use a resource when a group they belong to, or an ancestor of such a group, has it,
and they are active. Every answer is read from the stored memberships, assignments and tree in
one statement at the time of asking: there is no cache, so a revocation counts at its commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, cast

from sqlalchemy import CTE, Select, Table, bindparam, exists, func, literal, select
from sqlalchemy.orm import Session

from coterie.access.models import Assignment, Resource
from coterie.actor import Actor
from coterie.db import Id, Prepared
from coterie.directory.models import User
from coterie.groups import hierarchy
from coterie.groups.models import Group, Membership
from coterie.pagination import Page, SortKey, paginate

_GROUPS = cast(Table, Group.__table__)
_MEMBERSHIPS = cast(Table, Membership.__table__)
_USERS = cast(Table, User.__table__)
_ASSIGNMENTS = cast(Table, Assignment.__table__)
ACTIVE = "active"
FEW_PEOPLE = 5_000  # `users_with`: up to this many, the people are read first and named


@dataclass(frozen=True)
class Step:
    id: int
    name: str


Path = tuple[Step, ...]  # from the person's own group up to the group holding the resource


def via(path: Sequence[Step]) -> str:
    """'Sales Team ← EMEA': the person's group first, then each group above it."""
    return " ← ".join(step.name for step in path)


def _reach() -> CTE:
    """The groups of an active person (`:ws`, `:user`) and all their ancestors, with names.

    `member` is 1 for a group the person is in; the same group can also come as an ancestor.
    """
    ws, user = bindparam("ws", type_=Id), bindparam("user", type_=Id)
    g, m, u = _GROUPS.c, _MEMBERSHIPS.c, _USERS.c
    base = (
        select(g.id, g.parent_id, g.name, literal(1).label("member"))
        .select_from(_MEMBERSHIPS)
        .join(_USERS, (u.workspace_id == m.workspace_id) & (u.id == m.user_id))
        .join(_GROUPS, (g.workspace_id == m.workspace_id) & (g.id == m.group_id))
        .where(m.workspace_id == ws, m.user_id == user, u.status == ACTIVE)
    )
    up = base.cte("reach", recursive=True)
    parent = _GROUPS.alias("parent")
    return up.union(
        select(parent.c.id, parent.c.parent_id, parent.c.name, literal(0)).where(
            parent.c.workspace_id == ws, parent.c.id == up.c.parent_id
        )
    )


def _check_statement() -> Any:
    """The person's reach, each group flagged when it holds `:resource`. Built once."""
    up = _reach()
    a = _ASSIGNMENTS.c
    holds = exists().where(
        a.workspace_id == bindparam("ws", type_=Id),
        a.group_id == up.c.id,
        a.resource_id == bindparam("resource", type_=Id),
    )
    return select(up.c.id, up.c.parent_id, up.c.name, up.c.member, holds.label("holds"))


def _grants_statement() -> Any:
    """The person's reach joined with every resource assigned along it. Built once."""
    up = _reach()
    a = _ASSIGNMENTS.c
    reached = select(up.c.id, up.c.parent_id, up.c.name, up.c.member).subquery("reached")
    return select(
        reached.c.id, reached.c.parent_id, reached.c.name, reached.c.member, a.resource_id
    ).outerjoin(
        _ASSIGNMENTS,
        (a.workspace_id == bindparam("ws", type_=Id)) & (a.group_id == reached.c.id),
    )


class _Reached(NamedTuple):
    id: int
    parent_id: int | None
    name: str
    member: int
    holds: bool


_CHECK = _check_statement()
_GRANTS = _grants_statement()


def _paths(rows: Sequence[Any], holders: set[int]) -> dict[int, Path]:
    """For each holder: the shortest path from one of the person's groups up to it."""
    parents = {row.id: row.parent_id for row in rows}
    names = {row.id: row.name for row in rows}
    found: dict[int, Path] = {}
    for start in sorted({row.id for row in rows if row.member}, key=lambda i: names[i]):
        steps: list[Step] = []
        at: int | None = start
        while at is not None and at in names:
            steps.append(Step(at, names[at]))
            if at in holders and (at not in found or len(found[at]) > len(steps)):
                found[at] = tuple(steps)
            at = parents.get(at)
    return found


_PREPARED = Prepared(_CHECK)


def check(session: Session, *, workspace_id: int, user_id: int, resource_id: int) -> Path | None:
    """The path by which an active person may use a resource, or None: one statement."""
    params = {"ws": workspace_id, "user": user_id, "resource": resource_id}
    rows = [_Reached(*row) for row in _PREPARED.rows(session, params)]
    holders = {row.id for row in rows if row.holds}
    if not holders:
        return None
    return min(_paths(rows, holders).values(), key=len)


@dataclass(frozen=True)
class Grant:
    resource: Resource
    path: Path


def of_user(session: Session, *, workspace_id: int, user_id: int) -> list[Grant]:
    """Every resource an active person may use, each with its shortest path; by kind and name."""
    rows = session.execute(_GRANTS, {"ws": workspace_id, "user": user_id}).all()
    holders_of: dict[int, set[int]] = {}
    for row in rows:
        if row.resource_id is not None:
            holders_of.setdefault(row.resource_id, set()).add(row.id)
    if not holders_of:
        return []
    paths = _paths(rows, set().union(*holders_of.values()))
    resources = session.scalars(
        select(Resource).where(
            Resource.workspace_id == workspace_id, Resource.id.in_(list(holders_of))
        )
    ).all()
    found = [
        Grant(resource, min((paths[h] for h in holders_of[resource.id]), key=len))
        for resource in resources
    ]
    return sorted(found, key=lambda grant: (grant.resource.kind, grant.resource.name.lower()))


def users_with(
    session: Session,
    *,
    actor: Actor,
    resource_id: int,
    size: int = 25,
    cursor: str | None = None,
    with_total: bool = True,
) -> Page[User]:
    """The active people who may use a resource, by id, keyset paged.

    The groups holding it and their subtrees are read first, their members a set the
    database builds once per page (`IN`, not a per-person EXISTS: SQLite would probe every group
    for every person), so someone in several groups is listed once. The total counts the
    distinct active members of those groups.
    """
    ws = actor.workspace_id
    a, g, m, u = _ASSIGNMENTS.c, _GROUPS.c, _MEMBERSHIPS.c, _USERS.c
    holders = select(a.group_id).where(a.workspace_id == ws, a.resource_id == resource_id)
    reached: Any
    if session.get_bind().dialect.name == "sqlite":
        # SQLite plans a subquery of the subtree better than a list of 1,000 ids (bench).
        down = hierarchy.descendants(ws, holders)
        reached = select(down.c.id)
        if actor.scope is not None:
            reached = reached.where(down.c.id.in_(sorted(actor.scope)))
    else:
        # PostgreSQL misjudges a recursive CTE's size: the subtree is read level by level.
        reached = hierarchy.subtree_by_levels(session, workspace_id=ws, roots=holders)
        if actor.scope is not None:
            reached = [group for group in reached if group in actor.scope]
    in_reached = (
        m.group_id.in_(reached)
        if isinstance(reached, Select)
        else hierarchy.among(session, m.group_id, reached)
    )
    people: Any = select(m.user_id).where(m.workspace_id == ws, in_reached)
    at_most = session.scalar(
        select(func.coalesce(func.sum(g.subtree_member_count), 0)).where(
            g.workspace_id == ws, g.id.in_(holders)
        )
    )
    if int(at_most or 0) <= FEW_PEOPLE:
        # Few people: name them, so the database looks each up rather than walking everyone
        # in id order until a page is full (PostgreSQL's choice under a LIMIT).
        people = sorted(set(session.scalars(people)))
    named = hierarchy.among(session, u.id, people) if isinstance(people, list) else u.id.in_(people)
    stmt = select(User).where(u.workspace_id == ws, u.status == ACTIVE, named)
    page = paginate(
        session,
        stmt,
        key=SortKey(u.id, nullable=False, name="id"),
        row_id=u.id,
        descending=False,
        size=size,
        cursor=cursor,
        count=False,
    )
    if not with_total:
        return page
    total = session.scalar(
        select(func.count(m.user_id.distinct()))
        .select_from(_MEMBERSHIPS)
        .join(_USERS, (u.workspace_id == m.workspace_id) & (u.id == m.user_id))
        .where(m.workspace_id == ws, in_reached, u.status == ACTIVE)
    )
    return replace(page, total=int(total or 0))
