"""Operators: what admins set on them (group scope, capability flags, passwords), what they set
on themselves (their own password), and which agents may score a group's conversations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import roles
from coterie.access import scope as scopes
from coterie.access.operators.models import CAPABILITIES, OperatorPermission, OperatorScope
from coterie.actor import Actor, Role
from coterie.directory import passwords
from coterie.directory import service as users
from coterie.directory.models import User
from coterie.errors import Forbidden, Invalid
from coterie.events import service as audit
from coterie.groups import service as groups
from coterie.groups.models import Group, Membership


@dataclass(frozen=True)
class Permissions:
    """An operator's scope (the groups it names, not expanded) and capability flags."""

    user: User
    groups: list[Group]
    capabilities: list[str]


def get_permissions(session: Session, *, actor: Actor, user_id: int) -> Permissions:
    roles.require(actor, Role.ADMIN)
    user = users.get(session, actor=actor, user_id=user_id)
    roots = scopes.scope_roots(session, workspace_id=actor.workspace_id, user_id=user.id)
    found = [groups.get(session, actor=actor, group_id=g) for g in roots]
    held = scopes.capabilities_of(session, workspace_id=actor.workspace_id, user_id=user.id)
    return Permissions(
        user=user,
        groups=sorted(found, key=lambda g: g.name.casefold()),
        capabilities=[c for c in CAPABILITIES if c in held],
    )


def set_permissions(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    group_ids: Sequence[int],
    capabilities: Iterable[str],
) -> Permissions:
    """Replace an operator's scope and capability flags (admins only; audited)."""
    roles.require(actor, Role.ADMIN)
    before = get_permissions(session, actor=actor, user_id=user_id)
    named = list(dict.fromkeys(group_ids))
    found = scopes.groups_in_scope(session, actor=actor, group_ids=named, at="group_ids")
    wanted = [g.id for g in found]
    flags = set(capabilities)
    unknown = sorted(flags - set(CAPABILITIES))
    if unknown:
        raise Invalid(f"Unknown capability {unknown[0]!r}", field="capabilities")
    session.execute(
        delete(OperatorScope).where(
            OperatorScope.workspace_id == actor.workspace_id, OperatorScope.user_id == user_id
        )
    )
    session.add_all(
        OperatorScope(workspace_id=actor.workspace_id, user_id=user_id, group_id=g) for g in wanted
    )
    row = session.get(OperatorPermission, (actor.workspace_id, user_id))
    if row is None:
        row = OperatorPermission(workspace_id=actor.workspace_id, user_id=user_id)
        session.add(row)
    for name in CAPABILITIES:
        setattr(row, name, name in flags)
    session.flush()
    after = get_permissions(session, actor=actor, user_id=user_id)
    audit.record(
        session,
        actor=actor,
        action="operator.permissions_changed",
        target_type="user",
        target_id=user_id,
        target_label=before.user.full_name,
        before=_audited(before),
        after=_audited(after),
    )
    return after


def _audited(found: Permissions) -> dict[str, list[str]]:
    return {
        "groups": [f"{g.name} ({ids.encode(g.id)})" for g in found.groups],
        "capabilities": found.capabilities,
    }


def set_password(session: Session, *, actor: Actor, user_id: int, password: str) -> User:
    """An admin sets another operator's password (or their own, without the current one)."""
    roles.require(actor, Role.ADMIN)
    user = users.get(session, actor=actor, user_id=user_id)
    _store(session, actor=actor, user=user, password=password)
    return user


def change_own_password(session: Session, *, actor: Actor, current: str, new: str) -> User:
    """Any signed-in operator changes their own password, proving they know the current one."""
    if actor.user_id is None:
        raise Forbidden("Only a signed-in person has a password to change")
    user = users.get(session, actor=actor, user_id=actor.user_id)
    if not passwords.verify_password(user.password_hash, current):
        raise Invalid("The current password is not right", field="current_password")
    if current == new:
        raise Invalid("Choose a password different from the current one", field="new_password")
    _store(session, actor=actor, user=user, password=new)
    return user


def _store(session: Session, *, actor: Actor, user: User, password: str) -> None:
    if len(password) < 8:
        raise Invalid("A password needs at least 8 characters", field="password")
    user.password_hash = passwords.hash_password(password)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.password_changed",
        target_type="user",
        target_id=user.id,
        target_label=user.full_name,
        after={"password": "changed"},
    )


def eligible_agents(session: Session, *, actor: Actor, group_id: int) -> list[User]:
    """Who may take (and score) a group's conversations: its scoring-enabled members, plus the
    roaming agents whose scope covers the group (no scope covers every group). Active only.
    Scoring is an audio/scoring feature: operators need that capability (admins have it)."""
    if not actor.can("audio_scoring"):
        raise Forbidden("Seeing who scores a group needs the audio and scoring capability")
    group = groups.get(session, actor=actor, group_id=group_id)
    covering = scopes.covering(session, workspace_id=actor.workspace_id, group_id=group.id)
    member = (
        select(Membership.user_id)
        .where(
            Membership.workspace_id == actor.workspace_id,
            Membership.group_id == group.id,
            Membership.user_id == User.id,
        )
        .exists()
    )
    scoped = OperatorScope.workspace_id == actor.workspace_id, OperatorScope.user_id == User.id
    unscoped = ~exists().where(*scoped)
    covers = exists().where(*scoped, OperatorScope.group_id.in_(sorted(covering)))
    stmt = (
        select(User)
        .where(
            User.workspace_id == actor.workspace_id,
            User.status == "active",
            or_(
                User.scoring_enabled.is_(True) & member,
                User.roaming.is_(True) & or_(unscoped, covers),
            ),
        )
        .order_by(User.full_name, User.id)
    )
    return list(session.scalars(stmt))
