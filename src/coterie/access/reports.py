"""Team reports: members and resources per group, and who can use what (CSV too).

Reports read whole sets, so they need the operator's `reporting` capability (admins and API
tokens have it) besides a reading role; a scoped operator's reports cover their groups only.
Every report is computed at the time of asking from the stored tree, memberships and
assignments: no figure can be older than the last commit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import roles
from coterie.access.models import Assignment, Resource
from coterie.actor import Actor, Role
from coterie.directory.export import neutralize
from coterie.directory.models import User
from coterie.errors import Forbidden
from coterie.groups import hierarchy
from coterie.groups.models import Group, Membership

CAPABILITY = "reporting"
ACTIVE = "active"
_GROUPS = cast(Table, Group.__table__)
_MEMBERSHIPS = cast(Table, Membership.__table__)
_ASSIGNMENTS = cast(Table, Assignment.__table__)
_RESOURCES = cast(Table, Resource.__table__)
_USERS = cast(Table, User.__table__)
# Rows a CSV asks the database for at a time (who-can-use-what can be long).
BATCH = 2_000


def require_reporting(actor: Actor) -> None:
    roles.require(actor, Role.READ_ONLY)
    if not actor.can(CAPABILITY):
        raise Forbidden("Reports need the reporting capability; an admin can grant it")


class GroupRow(NamedTuple):
    """One group of the groups report, in tree order."""

    id: int
    name: str
    path: str  # "EMEA > Sales > Sales Team"
    level: int
    members: int
    members_with_subgroups: int
    subgroups: int
    bots: int
    personas: int
    other_resources: int
    resources: list[str]  # what the group holds directly, "Closer (bot)"


class ResourceRow(NamedTuple):
    """One resource of the access report: who holds it and how many people may use it."""

    id: int
    kind: str
    name: str
    features: list[str]
    groups: list[str]  # the groups holding it directly (in scope)
    people: int  # distinct active people who may use it (through groups in scope)


def groups_report(session: Session, *, actor: Actor) -> list[GroupRow]:
    """Every group in scope, depth-first, with its members, subgroups and resources."""
    require_reporting(actor)
    nodes = hierarchy.tree(session, actor=actor)
    held = _held(session, workspace_id=actor.workspace_id, scope=actor.scope)
    names = {node.id: node.name for node in nodes}
    parents = {node.id: node.parent_id for node in nodes}
    rows = []
    for node in nodes:
        chain, at = [], node.id
        while at in names:
            chain.append(names[at])
            parent = parents[at]
            if parent is None:
                break
            at = parent
        mine = held.get(node.id, [])
        kinds = [kind for kind, _ in mine]
        rows.append(
            GroupRow(
                id=node.id,
                name=node.name,
                path=" > ".join(reversed(chain)),
                level=node.level,
                members=node.member_count,
                members_with_subgroups=node.subtree_member_count,
                subgroups=node.subgroups,
                bots=kinds.count("bot"),
                personas=kinds.count("persona"),
                other_resources=sum(1 for k in kinds if k not in ("bot", "persona")),
                resources=[f"{name} ({kind})" for kind, name in mine],
            )
        )
    return rows


def _held(
    session: Session, *, workspace_id: int, scope: frozenset[int] | None
) -> dict[int, list[tuple[str, str]]]:
    """(kind, name) of the resources each group holds directly, by kind and name."""
    a, r = _ASSIGNMENTS.c, _RESOURCES.c
    stmt = (
        select(a.group_id, r.kind, r.name)
        .join(_RESOURCES, (r.workspace_id == a.workspace_id) & (r.id == a.resource_id))
        .where(a.workspace_id == workspace_id)
        .order_by(r.kind, r.name)
    )
    found: dict[int, list[tuple[str, str]]] = {}
    for group_id, kind, name in session.execute(stmt):
        if scope is None or group_id in scope:
            found.setdefault(group_id, []).append((kind, name))
    return found


def _closure(workspace_id: int) -> Any:
    """(root, id): every group of the workspace with itself and each group below it."""
    g = _GROUPS.c
    down = (
        select(g.id.label("root"), g.id.label("id"))
        .where(g.workspace_id == workspace_id)
        .cte("closure", recursive=True)
    )
    child = _GROUPS.alias("child")
    return down.union_all(
        select(down.c.root, child.c.id).where(
            child.c.workspace_id == workspace_id, child.c.parent_id == down.c.id
        )
    )


def resources_report(session: Session, *, actor: Actor) -> list[ResourceRow]:
    """Every resource with the groups holding it and how many active people may use it.

    One statement counts the people of all resources: each assignment's group with its
    subtree (a recursive closure), their memberships, active people only, distinct per resource.
    """
    require_reporting(actor)
    ws = actor.workspace_id
    a, r, m, u = _ASSIGNMENTS.c, _RESOURCES.c, _MEMBERSHIPS.c, _USERS.c
    closure = _closure(ws)
    counted = (
        select(a.resource_id, func.count(m.user_id.distinct()))
        .select_from(_ASSIGNMENTS)
        .join(closure, closure.c.root == a.group_id)
        .join(_MEMBERSHIPS, (m.workspace_id == ws) & (m.group_id == closure.c.id))
        .join(_USERS, (u.workspace_id == ws) & (u.id == m.user_id))
        .where(a.workspace_id == ws, u.status == ACTIVE)
        .group_by(a.resource_id)
    )
    if actor.scope is not None:
        counted = counted.where(closure.c.id.in_(sorted(actor.scope)))
    people: dict[int, int] = {rid: n for rid, n in session.execute(counted)}  # noqa: C416
    g = _GROUPS.c
    holders: dict[int, list[str]] = {}
    stmt = (
        select(a.resource_id, g.id, g.name)
        .join(_GROUPS, (g.workspace_id == a.workspace_id) & (g.id == a.group_id))
        .where(a.workspace_id == ws)
        .order_by(g.name)
    )
    for resource_id, group_id, name in session.execute(stmt):
        if actor.sees_group(group_id):
            holders.setdefault(resource_id, []).append(name)
    resources = session.execute(
        select(r.id, r.kind, r.name, r.features)
        .where(r.workspace_id == ws)
        .order_by(r.kind, r.name)
    )
    return [
        ResourceRow(
            id=rid,
            kind=kind,
            name=name,
            features=list(features or []),
            groups=holders.get(rid, []),
            people=int(people.get(rid, 0)),
        )
        for rid, kind, name, features in resources
    ]


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """CSV text in chunks, cells neutralized against spreadsheet formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for index, row in enumerate(rows, start=1):
        writer.writerow([neutralize(str(cell)) for cell in row])
        if index % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


GROUPS_HEADER = (
    *("group_id", "group", "path", "level", "members", "members_with_subgroups", "subgroups"),
    *("bots", "personas", "other_resources", "resources"),
)


def groups_csv(session: Session, *, actor: Actor) -> Iterator[str]:
    rows = groups_report(session, actor=actor)
    return _csv(
        GROUPS_HEADER,
        ((ids.encode(row.id), *row[1:10], "; ".join(row.resources)) for row in rows),
    )


RESOURCES_HEADER = ("resource_id", "kind", "name", "features", "groups", "people")


def resources_csv(session: Session, *, actor: Actor) -> Iterator[str]:
    rows = resources_report(session, actor=actor)
    return _csv(
        RESOURCES_HEADER,
        (
            (ids.encode(r.id), r.kind, r.name, "; ".join(r.features), "; ".join(r.groups), r.people)
            for r in rows
        ),
    )


ACCESS_HEADER = (
    *("person_id", "name", "email", "resource_id", "kind", "resource"),
    *("member_of", "held_by"),
)


def access_csv(session: Session, *, actor: Actor) -> Iterator[str]:
    """Who can use what: one row per active person, resource and way they get it (the group
    they are in and the group, that one or above it, that holds the resource)."""
    require_reporting(actor)
    ws = actor.workspace_id
    a, r, m, u = _ASSIGNMENTS.c, _RESOURCES.c, _MEMBERSHIPS.c, _USERS.c
    closure = _closure(ws)
    held_by, member_of = _GROUPS.alias("held_by"), _GROUPS.alias("member_of")
    stmt = (
        select(u.id, u.full_name, u.email, r.id, r.kind, r.name, member_of.c.name, held_by.c.name)
        .select_from(_ASSIGNMENTS)
        .join(closure, closure.c.root == a.group_id)
        .join(_MEMBERSHIPS, (m.workspace_id == ws) & (m.group_id == closure.c.id))
        .join(_USERS, (u.workspace_id == ws) & (u.id == m.user_id))
        .join(_RESOURCES, (r.workspace_id == ws) & (r.id == a.resource_id))
        .join(held_by, (held_by.c.workspace_id == ws) & (held_by.c.id == a.group_id))
        .join(member_of, (member_of.c.workspace_id == ws) & (member_of.c.id == closure.c.id))
        .where(a.workspace_id == ws, u.status == ACTIVE)
        .order_by(u.full_name, u.id, r.kind, r.name, member_of.c.name)
    )
    if actor.scope is not None:
        stmt = stmt.where(closure.c.id.in_(sorted(actor.scope)))
    result = session.execute(stmt.execution_options(yield_per=BATCH))
    rows = (
        (ids.encode(uid), name, email or "", ids.encode(rid), kind, rname, member, holder)
        for uid, name, email, rid, kind, rname, member, holder in result
    )
    return _csv(ACCESS_HEADER, rows)
