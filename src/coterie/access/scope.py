"""Group scope: the groups (with their subgroups) an operator or token may see and manage.

An actor's scope is resolved once per request into `Actor.scope`, the set of group ids it covers
(None for the whole workspace). People are in scope when they are members of a group in scope;
anything outside is "not found", as another workspace's records are (DESIGN.md section 5).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, literal, select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access.operators.models import CAPABILITIES, OperatorPermission, OperatorScope
from coterie.actor import Actor, Origin, Role
from coterie.directory.listing import Scope
from coterie.directory.models import User
from coterie.errors import Invalid, NotFound
from coterie.groups import hierarchy, members
from coterie.groups.models import Group, Membership


def expand(session: Session, *, workspace_id: int, group_ids: Iterable[int]) -> frozenset[int]:
    """The groups and all their subgroups."""
    roots = set(group_ids)
    if not roots:
        return frozenset()
    return frozenset(hierarchy.subtree_ids(session, workspace_id=workspace_id, group_ids=roots))


def covering(session: Session, *, workspace_id: int, group_id: int) -> set[int]:
    """The group and its ancestors: a scope naming any of them covers the group."""
    return hierarchy.ancestor_ids(session, workspace_id=workspace_id, group_ids=[group_id])


def scope_roots(session: Session, *, workspace_id: int, user_id: int) -> list[int]:
    """The groups an operator's scope names (without their subgroups); empty = everything."""
    stmt = select(OperatorScope.group_id).where(
        OperatorScope.workspace_id == workspace_id, OperatorScope.user_id == user_id
    )
    return list(session.scalars(stmt))


def capabilities_of(session: Session, *, workspace_id: int, user_id: int) -> frozenset[str]:
    row = session.get(OperatorPermission, (workspace_id, user_id))
    if row is None:
        return frozenset()
    return frozenset(c for c in CAPABILITIES if getattr(row, c))


def assigned_people(
    session: Session, *, workspace_id: int, role: Role, scope: frozenset[int] | None
) -> frozenset[int]:
    """The people assigned to an identified-only operator or token: the members of the groups
    of their scope (none without a scope). Other roles see by scope and need no list."""
    if role is not Role.IDENTIFIED_ONLY or not scope:
        return frozenset()
    member = Membership.__table__
    stmt = select(member.c.user_id).where(
        member.c.workspace_id == workspace_id, member.c.group_id.in_(sorted(scope))
    )
    return frozenset(session.scalars(stmt.distinct()))


def operator_actor(session: Session, *, user: User, origin: Origin = Origin.WEB) -> Actor:
    """The signed-in operator as an Actor, with their resolved scope and capabilities.

    Admins always see the whole workspace; a scope on an admin is ignored.
    """
    role = Role(user.role)
    roots = scope_roots(session, workspace_id=user.workspace_id, user_id=user.id)
    scope = None
    if roots and role is not Role.ADMIN:
        scope = expand(session, workspace_id=user.workspace_id, group_ids=roots)
    return Actor(
        workspace_id=user.workspace_id,
        role=role,
        label=user.full_name,
        origin=origin,
        user_id=user.id,
        scope=scope,
        capabilities=capabilities_of(session, workspace_id=user.workspace_id, user_id=user.id),
        assigned=assigned_people(session, workspace_id=user.workspace_id, role=role, scope=scope),
    )


def _member_of_scope(actor: Actor, user_id: ColumnElement[int]) -> ColumnElement[bool]:
    assert actor.scope is not None
    member = Membership.__table__
    return (
        select(literal(1))
        .where(
            member.c.workspace_id == actor.workspace_id,
            member.c.user_id == user_id,
            member.c.group_id.in_(sorted(actor.scope)),
        )
        .exists()
    )


def people(session: Session, *, actor: Actor) -> Scope:
    """The people an actor may list: everyone, or the members of the groups in scope."""
    everyone = members.everyone(session, workspace_id=actor.workspace_id)
    if actor.scope is None or actor.role is Role.IDENTIFIED_ONLY:
        return everyone  # an identified-only caller's list is narrowed to `Actor.own_people`
    users = User.__table__
    within = _member_of_scope(actor, users.c.id).correlate(users)
    return Scope(within=within, membership=everyone.membership)


def sees_person(session: Session, *, actor: Actor, user_id: int) -> bool:
    if actor.role is Role.IDENTIFIED_ONLY:
        return actor.sees_own(user_id)
    if actor.scope is None:
        return True
    return bool(session.scalar(select(_member_of_scope(actor, literal(user_id)))))


def check_person(session: Session, *, actor: Actor, user_id: int) -> None:
    if not sees_person(session, actor=actor, user_id=user_id):
        raise NotFound(f"No person with id {ids.encode(user_id)}")


def check_group(actor: Actor, group_id: int) -> None:
    if not actor.sees_group(group_id):
        raise NotFound(f"No group with id {ids.encode(group_id)}")


def check_path(session: Session, *, actor: Actor, params: dict[str, str]) -> None:
    """404 for a person or group named in a URL that the actor's scope does not reach."""
    if actor.scope is None and actor.role is not Role.IDENTIFIED_ONLY:
        return
    raw_group = params.get("group_id")
    if raw_group is not None and actor.scope is not None:
        check_group(actor, ids.decode(raw_group, what="group"))
    raw_user = params.get("user_id")
    if raw_user is not None:
        check_person(session, actor=actor, user_id=ids.decode(raw_user, what="person"))


def groups_in_scope(
    session: Session, *, actor: Actor, group_ids: Sequence[int], at: str
) -> list[Group]:
    """The groups named in a request, each of the workspace and in the actor's scope, in order
    and without repeats; a missing one is bad input naming its place (`group_ids[2]`)."""
    found = {
        g.id: g
        for g in session.scalars(
            select(Group).where(Group.workspace_id == actor.workspace_id, Group.id.in_(group_ids))
        )
    }
    for index, group_id in enumerate(group_ids):
        if group_id not in found or not actor.sees_group(group_id):
            raise Invalid(f"No group with id {ids.encode(group_id)}", field=f"{at}[{index}]")
    return [found[g] for g in dict.fromkeys(group_ids)]
