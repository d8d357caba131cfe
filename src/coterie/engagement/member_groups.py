"""Member groups: the groups shown in the member app, joined by toggle (open) or code (private).

A member joins and leaves through the groups service, so the membership is stored, counted,
audited (source `self` or `code`) and the dynamic groups that read it (`member_of`) follow in the
same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie import ids
from coterie.actor import Actor, Origin
from coterie.db import utcnow
from coterie.directory.models import User
from coterie.directory.service import require_write
from coterie.engagement.models import MemberGroup
from coterie.engagement.schemas import MemberGroupUpdate
from coterie.errors import Conflict, Invalid, NotFound
from coterie.events import service as audit
from coterie.groups import service as groups
from coterie.groups.models import Group, Membership

_AUDITED = ("join_policy", "user_viewable", "app_description", "starts_at", "ends_at")


@dataclass(frozen=True)
class Shown:
    """A member group as one member sees it."""

    group: Group
    settings: MemberGroup
    joined: bool

    @property
    def can_leave(self) -> bool:
        return self.joined and self.settings.join_policy in ("open", "code")


def member_actor(user: User, origin: Origin = Origin.API) -> Actor:
    """The member acting on their own memberships; the audit names them."""
    base = actors.system(user.workspace_id, label=f"member: {user.full_name}"[:200], origin=origin)
    return replace(base, user_id=user.id)


def is_open_now(group: Group, settings: MemberGroup, now: datetime) -> bool:
    """Inside the group's window (and the group active): shown in the app and joinable."""
    if group.status != "active":
        return False
    if settings.starts_at is not None and now < settings.starts_at:
        return False
    return settings.ends_at is None or now < settings.ends_at


def find(session: Session, *, workspace_id: int, group_id: int) -> MemberGroup | None:
    return session.get(MemberGroup, (workspace_id, group_id))


def update(
    session: Session, *, actor: Actor, group_id: int, data: MemberGroupUpdate
) -> tuple[Group, MemberGroup]:
    """Set a group's member settings (creating them the first time)."""
    require_write(actor)
    group = groups.get(session, actor=actor, group_id=group_id)
    settings = find(session, workspace_id=actor.workspace_id, group_id=group.id)
    if settings is None:
        settings = MemberGroup(
            workspace_id=actor.workspace_id,
            group_id=group.id,
            join_policy="closed",
            user_viewable=False,
            app_description="",
            display_order=0,
        )
        session.add(settings)
    before = {name: getattr(settings, name) for name in _AUDITED}
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is None and name in ("join_policy", "user_viewable", "display_order"):
            raise Invalid(f"{name} cannot be empty", field=name)
        if name in ("starts_at", "ends_at") and value is not None and value.tzinfo is None:
            raise Invalid("Give a time zone (or Z for UTC)", field=name)
        setattr(settings, name, "" if value is None and name == "app_description" else value)
    if settings.join_policy != "closed" and group.selection == "rule":
        raise Invalid(
            f"{group.name} is a rule group: its members are what its rule selects, "
            "so members cannot join it themselves",
            field="join_policy",
        )
    if settings.starts_at and settings.ends_at and settings.ends_at <= settings.starts_at:
        raise Invalid("The stop time must be after the start time", field="ends_at")
    settings.updated_at = utcnow()
    session.flush()
    audit.record_update(
        session,
        actor=actor,
        action="group.member_settings_updated",
        target_type="group",
        target_id=group.id,
        target_label=group.name,
        before=before,
        after={name: getattr(settings, name) for name in _AUDITED},
    )
    return group, settings


def list_settings(session: Session, *, actor: Actor) -> list[tuple[Group, MemberGroup]]:
    """Every member group with its settings, in display order (admins)."""
    groups.require_read(actor)
    stmt = (
        select(Group, MemberGroup)
        .join(
            MemberGroup,
            (MemberGroup.workspace_id == Group.workspace_id) & (MemberGroup.group_id == Group.id),
        )
        .where(Group.workspace_id == actor.workspace_id)
        .order_by(MemberGroup.display_order, Group.name, Group.id)
    )
    return [(row[0], row[1]) for row in session.execute(stmt)]


def _joined(session: Session, *, workspace_id: int, user_id: int) -> set[int]:
    stmt = select(Membership.group_id).where(
        Membership.workspace_id == workspace_id, Membership.user_id == user_id
    )
    return set(session.scalars(stmt))


def shown_to(session: Session, *, member: User, now: datetime | None = None) -> list[Shown]:
    """The active, user-viewable groups in display order; a closed one only to its members."""
    now = now or utcnow()
    joined = _joined(session, workspace_id=member.workspace_id, user_id=member.id)
    shown: list[Shown] = []
    stmt = (
        select(Group, MemberGroup)
        .join(
            MemberGroup,
            (MemberGroup.workspace_id == Group.workspace_id) & (MemberGroup.group_id == Group.id),
        )
        .where(Group.workspace_id == member.workspace_id, MemberGroup.user_viewable.is_(True))
        .order_by(MemberGroup.display_order, Group.name, Group.id)
    )
    for group, settings in session.execute(stmt):
        if not is_open_now(group, settings, now):
            continue
        if settings.join_policy == "closed" and group.id not in joined:
            continue
        shown.append(Shown(group, settings, group.id in joined))
    return shown


def shown_one(session: Session, *, member: User, group_id: int, now: datetime) -> Shown:
    """One group the member can see; any other is simply not found."""
    for item in shown_to(session, member=member, now=now):
        if item.group.id == group_id:
            return item
    raise NotFound(f"No group with id {ids.encode(group_id)}")


def join(session: Session, *, member: User, group_id: int, origin: Origin = Origin.API) -> Shown:
    """Self-join an open group (a no-op for a member already in it)."""
    now = utcnow()
    item = shown_one(session, member=member, group_id=group_id, now=now)
    if item.joined:
        return item
    if item.settings.join_policy != "open":
        raise Conflict(f"{item.group.name} is private: join it with a code", field="group_id")
    groups.add_members(
        session,
        actor=member_actor(member, origin),
        group_id=group_id,
        user_ids=[member.id],
        source="self",
    )
    return Shown(item.group, item.settings, True)


def leave(session: Session, *, member: User, group_id: int, origin: Origin = Origin.API) -> Shown:
    """Leave an open or private group (a no-op when not in it); closed groups are left by admins."""
    now = utcnow()
    item = shown_one(session, member=member, group_id=group_id, now=now)
    if not item.joined:
        return item
    if not item.can_leave:
        raise Conflict(f"Ask an admin to leave {item.group.name}", field="group_id")
    groups.remove_members(
        session,
        actor=member_actor(member, origin),
        group_id=group_id,
        user_ids=[member.id],
        reason="self",
    )
    return Shown(item.group, item.settings, False)


def of_person(
    session: Session, *, actor: Actor, user_id: int
) -> list[tuple[Group, MemberGroup, bool]]:
    """Support flow: every member group (hidden ones too) and whether the person is in it."""
    joined = _joined(session, workspace_id=actor.workspace_id, user_id=user_id)
    return [(g, s, g.id in joined) for g, s in list_settings(session, actor=actor)]


def set_for_person(
    session: Session, *, actor: Actor, user_id: int, group_ids: Sequence[int]
) -> dict[str, Any]:
    """Support flow: put the person in exactly `group_ids` among the manual member groups."""
    require_write(actor)
    if session.get(User, (actor.workspace_id, user_id)) is None:
        raise NotFound(f"No person with id {ids.encode(user_id)}")
    wanted = set(group_ids)
    every = of_person(session, actor=actor, user_id=user_id)
    known = {g.id for g, _, _ in every}
    for index, group_id in enumerate(group_ids):
        if group_id not in known:
            raise Invalid(
                f"No member group with id {ids.encode(group_id)}", field=f"group_ids[{index}]"
            )
    added: list[str] = []
    removed: list[str] = []
    for group, _settings, joined in every:
        if group.selection != "manual":
            if (group.id in wanted) != joined:
                raise Invalid(
                    f"{group.name} is a rule group: its rule decides who is in it",
                    field="group_ids",
                )
            continue
        if group.id in wanted and not joined:
            groups.add_members(session, actor=actor, group_id=group.id, user_ids=[user_id])
            added.append(group.name)
        elif group.id not in wanted and joined:
            groups.remove_members(session, actor=actor, group_id=group.id, user_ids=[user_id])
            removed.append(group.name)
    return {"added": added, "removed": removed}
