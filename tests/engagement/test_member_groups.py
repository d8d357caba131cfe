"""Member groups: what a member sees, joining and leaving, and the support flow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor, Role
from coterie.directory.models import User
from coterie.engagement import member_groups
from coterie.engagement.schemas import MemberGroupUpdate
from coterie.errors import Conflict, Forbidden, Invalid, NotFound
from coterie.events.models import AuditEntry
from coterie.groups import service as groups
from coterie.groups.schemas import GroupCreate
from tests.conftest import make_user
from tests.engagement.conftest import member_group


def _names(session: Session, member: User) -> list[tuple[str, bool]]:
    shown = member_groups.shown_to(session, member=member)
    return [(s.group.name, s.joined) for s in shown]


def test_shown_in_display_order_within_window_and_viewable(session: Session, admin: Actor) -> None:
    now = datetime.now(UTC)
    member_group(session, admin, "Runners", display_order=2)
    member_group(session, admin, "Bakers", display_order=1)
    member_group(session, admin, "Hidden", user_viewable=False)
    member_group(session, admin, "Later", starts_at=now + timedelta(days=1))
    member_group(session, admin, "Over", ends_at=now - timedelta(minutes=1))
    member_group(session, admin, "Staff", join_policy="closed")
    member_group(session, admin, "Private", join_policy="code", display_order=3)
    person = make_user(session, admin)
    assert _names(session, person) == [("Bakers", False), ("Runners", False), ("Private", False)]


def test_join_and_leave_an_open_group_audits_source_self(session: Session, admin: Actor) -> None:
    runners = member_group(session, admin, "Runners")
    person = make_user(session, admin, full_name="Rita Runner")
    member_groups.join(session, member=person, group_id=runners.id)
    assert _names(session, person) == [("Runners", True)]
    assert groups.get(session, actor=admin, group_id=runners.id).member_count == 1
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.workspace_id == admin.workspace_id,
            AuditEntry.action == "group.members_added",
        )
    ).one()
    assert entry.after is not None
    assert entry.after["reason"] == "self"
    assert entry.actor_label == "member: Rita Runner"
    member_groups.leave(session, member=person, group_id=runners.id)
    assert _names(session, person) == [("Runners", False)]
    left = session.scalars(
        select(AuditEntry).where(
            AuditEntry.workspace_id == admin.workspace_id,
            AuditEntry.action == "group.members_removed",
        )
    ).one()
    assert left.after is not None
    assert left.after["reason"] == "self"
    assert left.actor_label == "member: Rita Runner"


def test_joining_re_evaluates_dynamic_groups_that_read_the_group(
    session: Session, admin: Actor
) -> None:
    runners = member_group(session, admin, "Runners")
    fans = groups.create(
        session,
        actor=admin,
        data=GroupCreate(
            name="Fans", selection="rule", include=f'member_of eq "{ids.encode(runners.id)}"'
        ),
    )
    person = make_user(session, admin)
    member_groups.join(session, member=person, group_id=runners.id)
    assert groups.members_total(session, group=fans) == 1
    member_groups.leave(session, member=person, group_id=runners.id)
    assert groups.members_total(session, group=fans) == 0


def test_private_closed_hidden_and_other_workspace_groups_cannot_be_self_joined(
    session: Session, admin: Actor
) -> None:
    private = member_group(session, admin, "Private", join_policy="code")
    staff = member_group(session, admin, "Staff", join_policy="closed")
    hidden = member_group(session, admin, "Hidden", user_viewable=False)
    plain = groups.create(session, actor=admin, data=GroupCreate(name="Plain"))
    person = make_user(session, admin)
    with pytest.raises(Conflict, match="join it with a code"):
        member_groups.join(session, member=person, group_id=private.id)
    for group in (staff, hidden, plain):
        with pytest.raises(NotFound):
            member_groups.join(session, member=person, group_id=group.id)


def test_settings_checks(session: Session, admin: Actor) -> None:
    rule = groups.create(
        session,
        actor=admin,
        data=GroupCreate(name="Rule", selection="rule", include='status eq "active"'),
    )
    with pytest.raises(Invalid) as caught:
        member_groups.update(
            session, actor=admin, group_id=rule.id, data=MemberGroupUpdate(join_policy="open")
        )
    assert caught.value.errors[0].field == "join_policy"
    group = member_group(session, admin, "Window")
    now = datetime.now(UTC)
    with pytest.raises(Invalid) as caught:
        member_groups.update(
            session,
            actor=admin,
            group_id=group.id,
            data=MemberGroupUpdate(starts_at=now, ends_at=now - timedelta(hours=1)),
        )
    assert caught.value.errors[0].field == "ends_at"
    reader = Actor(admin.workspace_id, Role.READ_ONLY, "reader", admin.origin)
    with pytest.raises(Forbidden):
        member_groups.update(
            session, actor=reader, group_id=group.id, data=MemberGroupUpdate(user_viewable=False)
        )


def test_support_flow_sets_member_groups_including_hidden(session: Session, admin: Actor) -> None:
    runners = member_group(session, admin, "Runners")
    hidden = member_group(session, admin, "Hidden", user_viewable=False, join_policy="closed")
    bakers = member_group(session, admin, "Bakers")
    person = make_user(session, admin)
    member_groups.join(session, member=person, group_id=bakers.id)
    changed = member_groups.set_for_person(
        session, actor=admin, user_id=person.id, group_ids=[runners.id, hidden.id]
    )
    assert changed == {"added": ["Runners", "Hidden"], "removed": ["Bakers"]} or changed == {
        "added": ["Hidden", "Runners"],
        "removed": ["Bakers"],
    }
    joined = {
        g.name for g, _, j in member_groups.of_person(session, actor=admin, user_id=person.id) if j
    }
    assert joined == {"Runners", "Hidden"}
    outsider = groups.create(session, actor=admin, data=GroupCreate(name="Not a member group"))
    with pytest.raises(Invalid) as caught:
        member_groups.set_for_person(
            session, actor=admin, user_id=person.id, group_ids=[outsider.id]
        )
    assert caught.value.errors[0].field == "group_ids[0]"
