"""The scheduled sweep: expired memberships leave, clock-reading rules follow the clock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.db import utcnow
from coterie.events.models import AuditEntry
from coterie.groups import service, upkeep
from coterie.groups.models import Group, Membership
from coterie.groups.schemas import GroupCreate
from tests.conftest import make_user


def _members(session: Session, group: Group) -> set[int]:
    stmt = select(Membership.user_id).where(Membership.group_id == group.id)
    return set(session.scalars(stmt))


def test_expired_memberships_leave_and_dependents_follow(session: Session, admin: Actor) -> None:
    trial = service.create(session, actor=admin, data=GroupCreate(name="Trial"))
    reader = service.create(
        session,
        actor=admin,
        data=GroupCreate(
            name="Trial readers", selection="rule", include=f'member_of eq "{ids.encode(trial.id)}"'
        ),
    )
    ann, bob = (
        make_user(session, admin, full_name="Ann"),
        make_user(session, admin, full_name="Bob"),
    )
    soon = utcnow() + timedelta(hours=1)
    service.add_members(session, actor=admin, group_id=trial.id, user_ids=[ann.id], expires_at=soon)
    service.add_members(session, actor=admin, group_id=trial.id, user_ids=[bob.id])
    assert _members(session, reader) == {ann.id, bob.id}

    assert upkeep.sweep(session, now=utcnow()).expired == 0
    report = upkeep.sweep(session, now=soon + timedelta(seconds=1))
    assert report.expired >= 1
    assert _members(session, trial) == {bob.id}
    assert _members(session, reader) == {bob.id}
    session.refresh(trial)
    assert trial.member_count == 1
    reasons = [
        e.after["reason"]
        for e in session.scalars(select(AuditEntry).where(AuditEntry.target_id == trial.id))
        if e.action == "group.members_removed"
    ]
    assert reasons == ["expired"]


def test_within_last_rules_follow_the_clock(session: Session, admin: Actor) -> None:
    group = service.create(
        session,
        actor=admin,
        data=GroupCreate(
            name="Active this week",
            selection="rule",
            include={"field": "last_activity_at", "op": "within_last", "value": 7},
        ),
    )
    person = make_user(session, admin, last_activity_at=utcnow() - timedelta(days=6))
    assert _members(session, group) == {person.id}
    report = upkeep.sweep(session, now=utcnow() + timedelta(days=2))
    assert report.removed >= 1
    assert _members(session, group) == set()
    assert group.evaluated_at is not None
    assert group.evaluated_at > utcnow() + timedelta(days=1)
