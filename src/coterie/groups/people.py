"""Writes to people that keep dynamic groups right in the same transaction.

Adapters create, change and delete people through these, not through the directory directly:
each calls the directory's service, then re-evaluates the person against the dynamic rules that
read what changed (DESIGN.md section 3), so memberships are right when the call returns.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie.actor import Actor
from coterie.directory import service as users
from coterie.directory.models import User
from coterie.directory.schemas import UserCreate, UserUpdate
from coterie.groups import dynamic
from coterie.groups import service as groups
from coterie.groups.evaluation import count_changes, propagate, record_changes
from coterie.groups.models import Group, Membership


def create(
    session: Session, *, actor: Actor, data: UserCreate, group_ids: Sequence[int] = ()
) -> User:
    """Create a person, put them in the dynamic groups that select them and in `group_ids`."""
    user, rules_version = users.create_versioned(session, actor=actor, data=data)
    dynamic.person_changed(session, actor=actor, user=user, fields=None, created=rules_version)
    for group_id in group_ids:
        groups.add_members(session, actor=actor, group_id=group_id, user_ids=[user.id])
    return user


def update(session: Session, *, actor: Actor, user_id: int, data: UserUpdate) -> User:
    user = users.update(session, actor=actor, user_id=user_id, data=data)
    changed = dynamic.changed_fields(data.model_dump(exclude_unset=True))
    dynamic.person_changed(session, actor=actor, user=user, fields=changed)
    return user


def delete(session: Session, *, actor: Actor, user_id: int) -> None:
    """Delete a person: their memberships go with them, each recorded, counts kept right."""
    user = users.get(session, actor=actor, user_id=user_id)
    stmt = (
        select(Group)
        .join(
            Membership,
            (Membership.workspace_id == Group.workspace_id) & (Membership.group_id == Group.id),
        )
        .where(Membership.workspace_id == actor.workspace_id, Membership.user_id == user.id)
    )
    left = list(session.scalars(stmt))
    users.delete(session, actor=actor, user_id=user_id)
    for group in left:
        count_changes(session, group=group, delta=-1)
        record_changes(
            session, actor=actor, group=group, added=[], removed=[user_id], reason="deleted"
        )
    if left:
        propagate(
            session,
            actor=actor,
            workspace_id=actor.workspace_id,
            changed=[g.id for g in left],
            people=[user_id],
        )
