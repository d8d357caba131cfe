"""Set-based evaluation: the delta re-evaluation, and agreement with the per-person path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.db import utcnow
from coterie.directory import forms
from coterie.directory.models import User
from coterie.directory.schemas import FieldCreate, UserUpdate
from coterie.events.models import AuditEntry
from coterie.groups import evaluation, people, service
from coterie.groups.models import Group, Membership
from coterie.groups.schemas import GroupCreate
from tests.conftest import make_user


def members(session: Session, group: Group) -> set[int]:
    stmt = select(Membership.user_id).where(Membership.group_id == group.id)
    return set(session.scalars(stmt))


def rule_group(session: Session, admin: Actor, name: str, include: Any) -> Group:
    data = GroupCreate(name=name, selection="rule", include=include)
    return service.create(session, actor=admin, data=data)


def behind_the_rules(session: Session, person: User, *, changed_at: Any, **values: Any) -> None:
    """Change a person in SQL, as a bulk write does: no per-person re-evaluation."""
    stmt = update(User).where(User.workspace_id == person.workspace_id, User.id == person.id)
    session.execute(stmt.values(updated_at=changed_at, **values))
    session.expire(person)


@pytest.fixture
def fields(session: Session, admin: Actor) -> None:
    for key, kind, options in (("plan", "enum", ["free", "pro", "team"]), ("city", "text", [])):
        forms.create_field(
            session, actor=admin, data=FieldCreate(key=key, label=key, type=kind, options=options)
        )


def test_evaluate_since_looks_only_at_people_changed_since(
    session: Session, admin: Actor, fields: None
) -> None:
    ann = make_user(session, admin, full_name="Ann", attributes={"plan": "pro"})
    bob = make_user(session, admin, full_name="Bob", attributes={"plan": "pro"})
    group = rule_group(session, admin, "Pro", 'attributes.plan eq "pro"')
    assert members(session, group) == {ann.id, bob.id}
    since = utcnow()
    behind_the_rules(session, ann, changed_at=since, attributes={"plan": "free"})
    behind_the_rules(
        session, bob, changed_at=since - timedelta(hours=1), attributes={"plan": "free"}
    )

    result = evaluation.evaluate_since(session, actor=admin, group=group, since=since)
    assert (result.added, result.removed) == (0, 1)
    assert members(session, group) == {bob.id}  # changed before `since`: not looked at
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.target_id == group.id, AuditEntry.action == "group.members_removed"
        )
    ).one()
    assert entry.after == {"reason": "rule", "count": 1, "user_ids": [ids.encode(ann.id)]}
    session.refresh(group)
    assert group.member_count == 1
    assert evaluation.evaluate(session, actor=admin, group=group).removed == 1


def test_evaluate_since_evaluates_member_of_and_clock_rules_fully(
    session: Session, admin: Actor
) -> None:
    vip = service.create(session, actor=admin, data=GroupCreate(name="VIP"))
    readers = rule_group(session, admin, "VIP readers", f'member_of eq "{ids.encode(vip.id)}"')
    recent = rule_group(
        session, admin, "Recent", {"field": "last_activity_at", "op": "within_last", "value": 7}
    )
    ann = make_user(session, admin, full_name="Ann")
    since = utcnow() + timedelta(seconds=1)
    # Neither change moves Ann's own `updated_at` past `since`, yet both groups must take her.
    session.execute(
        insert(Membership).values(
            workspace_id=ann.workspace_id, group_id=vip.id, user_id=ann.id, source="manual"
        )
    )
    behind_the_rules(session, ann, changed_at=ann.updated_at, last_activity_at=utcnow())

    for group in (readers, recent):
        result = evaluation.evaluate_since(session, actor=admin, group=group, since=since)
        assert (result.added, result.removed) == (1, 0)
        assert members(session, group) == {ann.id}


def test_person_writes_leave_nothing_for_a_full_evaluation(
    session: Session, admin: Actor, fields: None
) -> None:
    """The per-person path, which evaluates only the rules a person's values can satisfy, ends
    where a full evaluation of every group would: nothing left to add or remove."""
    london_pro = rule_group(
        session, admin, "London pro", 'attributes.city eq "london" and attributes.plan eq "pro"'
    )
    paying = rule_group(
        session, admin, "Paying", {"field": "attributes.plan", "op": "in", "value": ["pro", "team"]}
    )
    groups = [
        london_pro,
        paying,
        rule_group(session, admin, "Zürich", 'attributes.city eq "ZÜRICH"'),
        rule_group(session, admin, "Not free", 'attributes.plan ne "free"'),
        rule_group(
            session,
            admin,
            "London pro, not Ann",
            f'member_of eq "{ids.encode(london_pro.id)}" and full_name ne "Ann"',
        ),
    ]
    ann = make_user(session, admin, full_name="Ann", attributes={"plan": "free"})
    bob = make_user(session, admin, full_name="Bob", attributes={"plan": "pro", "city": "LONDON"})
    memberships = [tuple(members(session, group) for group in groups)]
    for person, attributes in (
        (ann, {"city": "London", "plan": "pro"}),
        (bob, {"city": "zürich"}),
        (ann, {"plan": "team"}),
        (bob, {"plan": "free", "city": "London"}),
    ):
        people.update(
            session, actor=admin, user_id=person.id, data=UserUpdate(attributes=attributes)
        )
        memberships.append(tuple(members(session, group) for group in groups))
        for group, now in zip(groups, memberships[-1], strict=True):
            result = evaluation.evaluate(session, actor=admin, group=group)
            assert (group.name, result.added, result.removed) == (group.name, 0, 0)
            session.refresh(group)
            assert (group.name, group.member_count) == (group.name, len(now))
    assert memberships == [
        ({bob.id}, {bob.id}, set(), {bob.id}, {bob.id}),
        ({ann.id, bob.id}, {ann.id, bob.id}, set(), {ann.id, bob.id}, {bob.id}),
        ({ann.id}, {ann.id, bob.id}, {bob.id}, {ann.id, bob.id}, set()),
        (set(), {ann.id, bob.id}, {bob.id}, {ann.id, bob.id}, set()),
        (set(), {ann.id}, set(), {ann.id}, set()),
    ]
    moves = session.execute(
        select(AuditEntry.action, AuditEntry.target_label, AuditEntry.after).where(
            AuditEntry.target_id == paying.id, AuditEntry.action.startswith("group.members_")
        )
    ).all()
    assert sorted((action, label, after["user_ids"]) for action, label, after in moves) == sorted(
        [
            ("group.members_added", "Paying", [ids.encode(ann.id)]),
            ("group.members_added", "Paying", [ids.encode(bob.id)]),
            ("group.members_removed", "Paying", [ids.encode(bob.id)]),
        ]
    )
    assert {after["reason"] for _, _, after in moves} == {"rule"}
