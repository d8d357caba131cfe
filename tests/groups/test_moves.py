"""A person's rule-driven moves, written in one statement on PostgreSQL and a few on SQLite, keep
the memberships, counts, audit entries and webhook events exactly what the ORM path would write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.directory import forms
from coterie.directory.schemas import FieldCreate, UserUpdate
from coterie.events import outbox
from coterie.events.models import AuditEntry, OutboxEvent
from coterie.groups import people, service
from coterie.groups.models import Group, Membership
from coterie.groups.schemas import GroupCreate
from tests.conftest import make_user

MOVES = ("group.members_added", "group.members_removed")


@pytest.fixture
def plans(session: Session, admin: Actor) -> None:
    data = FieldCreate(key="plan", label="Plan", type="enum", options=["free", "pro"])
    forms.create_field(session, actor=admin, data=data)


def _rule_group(session: Session, admin: Actor, name: str, plan: str, **more: Any) -> Group:
    data = GroupCreate(name=name, selection="rule", include=f'attributes.plan eq "{plan}"', **more)
    return service.create(session, actor=admin, data=data)


def _entries(session: Session, group: Group) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(
        AuditEntry.workspace_id == group.workspace_id,
        AuditEntry.target_id == group.id,
        AuditEntry.action.in_(MOVES),
    )
    return list(session.scalars(stmt.order_by(AuditEntry.created_at, AuditEntry.id)))


def _events(session: Session, workspace_id: int) -> list[OutboxEvent]:
    stmt = select(OutboxEvent).where(
        OutboxEvent.workspace_id == workspace_id, OutboxEvent.type.like("membership.%")
    )
    return list(session.scalars(stmt.order_by(OutboxEvent.seq)))


@pytest.mark.usefixtures("plans")
def test_one_write_joins_and_leaves_with_counts_audit_and_events(
    session: Session, admin: Actor
) -> None:
    free = _rule_group(session, admin, "On the free plan", "free")
    pro = _rule_group(session, admin, "Paying customers", "pro")
    ann = make_user(session, admin, full_name="Ann", attributes={"plan": "free"})
    make_user(session, admin, full_name="Bob", attributes={"plan": "free"})

    people.update(session, actor=admin, user_id=ann.id, data=UserUpdate(attributes={"plan": "pro"}))

    membership = session.get(Membership, (admin.workspace_id, pro.id, ann.id))
    assert membership is not None
    assert (membership.source, membership.added_by_label) == ("rule", admin.label)
    assert membership.added_by_id == admin.user_id
    assert session.get(Membership, (admin.workspace_id, free.id, ann.id)) is None
    for group, count in ((pro, 1), (free, 1)):  # Bob stays on the free plan
        session.refresh(group)
        assert (group.member_count, group.subtree_member_count) == (count, count)

    one = [ids.encode(ann.id)]
    (joined,) = _entries(session, pro)
    assert joined.action == "group.members_added"
    assert (joined.target_label, joined.actor_label) == ("Paying customers", admin.label)
    assert joined.origin == admin.origin.value
    assert joined.after == {"reason": "rule", "count": 1, "user_ids": one}
    # Ann and Bob joined the free plan's group when they were created, then Ann left it.
    left = _entries(session, free)[-1]
    assert left.action == "group.members_removed"
    assert left.target_label == "On the free plan"
    assert left.after == {"reason": "rule", "count": 1, "user_ids": one}

    # Each membership entry has its event, the one `audit.record` would have written.
    entries = sorted(_entries(session, free) + _entries(session, pro), key=lambda e: e.id)
    columns = [{a.key: getattr(e, a.key) for a in e.__mapper__.column_attrs} for e in entries]
    expected = sorted(
        (json.dumps(event["data"], sort_keys=True), event["type"])
        for entry in columns
        for event in outbox.event_rows(entry)
    )
    stored = _events(session, admin.workspace_id)
    assert sorted((json.dumps(e.data, sort_keys=True), e.type) for e in stored) == expected
    assert len(stored) == 4  # Ann and Bob joining the free group, Ann moving
    moved = [e.data for e in stored if e.data["user_ids"] == one][-2:]
    assert {d["group"]["name"] for d in moved} == {"Paying customers", "On the free plan"}
    assert all(e.dispatched_at is None and e.created_at is not None for e in stored)


@pytest.mark.usefixtures("plans")
def test_a_committed_move_wakes_the_delivery_of_its_events(
    session: Session, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    pro = _rule_group(session, admin, "Paying customers", "pro")
    ann = make_user(session, admin, full_name="Ann", attributes={"plan": "free"})
    session.commit()
    woken: list[bool] = []
    monkeypatch.setattr(outbox, "_notify", lambda: woken.append(True))

    people.update(session, actor=admin, user_id=ann.id, data=UserUpdate(attributes={"plan": "pro"}))
    session.commit()

    assert woken == [True]
    assert [e.after["user_ids"] for e in _entries(session, pro)] == [[ids.encode(ann.id)]]


@pytest.mark.usefixtures("plans")
def test_joining_a_group_with_subgroups_recounts_its_tree(session: Session, admin: Actor) -> None:
    top = _rule_group(session, admin, "Paying customers", "pro")
    under = GroupCreate(name="Key accounts", parent_id=ids.encode(top.id))
    key_accounts = service.create(session, actor=admin, data=under)
    ann = make_user(session, admin, full_name="Ann", attributes={"plan": "free"})
    service.add_members(session, actor=admin, group_id=key_accounts.id, user_ids=[ann.id])
    session.refresh(top)
    assert (top.member_count, top.subtree_member_count) == (0, 1)

    # Ann joins the top group by its rule; she is in its subtree already: counted once.
    people.update(session, actor=admin, user_id=ann.id, data=UserUpdate(attributes={"plan": "pro"}))
    session.refresh(top)
    assert (top.member_count, top.subtree_member_count) == (1, 1)

    people.update(
        session, actor=admin, user_id=ann.id, data=UserUpdate(attributes={"plan": "free"})
    )
    session.refresh(top)
    assert (top.member_count, top.subtree_member_count) == (0, 1)


@pytest.fixture
def statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    connection = session.connection()

    def note(*args: Any) -> None:
        seen.append(args[2])

    event.listen(connection, "before_cursor_execute", note)
    yield seen
    event.remove(connection, "before_cursor_execute", note)


@pytest.mark.usefixtures("plans")
def test_a_move_outside_any_tree_does_not_walk_trees(
    session: Session, admin: Actor, statements: list[str]
) -> None:
    pro = _rule_group(session, admin, "Paying customers", "pro")
    ann = make_user(session, admin, full_name="Ann", attributes={"plan": "free"})
    statements.clear()

    people.update(session, actor=admin, user_id=ann.id, data=UserUpdate(attributes={"plan": "pro"}))

    session.refresh(pro)
    assert pro.member_count == 1
    assert not [s for s in statements if "RECURSIVE" in s.upper()]
