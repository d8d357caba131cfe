"""Webhooks end to end: outbox rows in the change's transaction, delivery to a real local HTTP
receiver with Standard Webhooks signatures, retries with backoff, order, and redelivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from coterie import ids
from coterie.actor import Actor
from coterie.db import utcnow
from coterie.directory.schemas import UserUpdate
from coterie.events import delivery, webhooks
from coterie.events.models import Delivery, OutboxEvent
from coterie.events.schemas import EndpointCreate
from coterie.groups import people
from coterie.groups import service as groups
from coterie.groups.schemas import GroupCreate
from tests.conftest import make_user
from tests.receivers import Received, Receiver


@pytest.fixture
def sessions(connection: Connection) -> sessionmaker[Session]:
    """What the worker opens: sessions on the test's connection, committing to savepoints."""
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint")


def verify(secret: str, message: Received) -> bool:
    """The Standard Webhooks check a receiver makes, written independently of Coterie's code."""
    key = base64.b64decode(secret[len("whsec_") :])
    msg_id, stamp = message.headers["webhook-id"], message.headers["webhook-timestamp"]
    expected = hmac.new(key, f"{msg_id}.{stamp}.".encode() + message.body, hashlib.sha256)
    wanted = base64.b64encode(expected.digest()).decode()
    given = [s.split(",", 1)[1] for s in message.headers["webhook-signature"].split()]
    return any(hmac.compare_digest(wanted, g) for g in given)


def endpoint(session: Session, admin: Actor, url: str, *types: Any) -> Any:
    found = webhooks.create(
        session, actor=admin, data=EndpointCreate(url=url, event_types=list(types) or None)
    )
    session.commit()
    return found


def outbox_types(session: Session, workspace_id: int) -> list[str]:
    stmt = select(OutboxEvent.type).where(OutboxEvent.workspace_id == workspace_id)
    return list(session.scalars(stmt.order_by(OutboxEvent.seq)))


def test_an_event_is_written_with_its_change_and_rolled_back_with_it(
    session: Session, admin: Actor
) -> None:
    session.commit()  # the workspace
    make_user(session, admin, full_name="Gone Again")
    session.rollback()
    assert outbox_types(session, admin.workspace_id) == []
    person = make_user(session, admin, full_name="Ann Lee")
    people.update(session, actor=admin, user_id=person.id, data=UserUpdate(status="deactivated"))
    people.delete(session, actor=admin, user_id=person.id)
    session.commit()
    assert outbox_types(session, admin.workspace_id) == [
        "person.created",
        "person.deactivated",
        "person.deleted",
    ]


def test_deliveries_carry_a_standard_webhooks_signature(
    session: Session, admin: Actor, receiver: Receiver, sessions: sessionmaker[Session]
) -> None:
    hook = endpoint(session, admin, receiver.url)
    person = make_user(session, admin, full_name="Ann Lee")
    session.commit()
    delivery.deliver_due(sessions)
    assert len(receiver.received) == 1
    message = receiver.received[0]
    assert verify(hook.secret, message)
    assert message.document["type"] == "person.created"
    assert message.document["data"]["user"]["id"] == ids.encode(person.id)
    assert message.headers["webhook-id"].startswith("msg_")
    forged = Received(message.headers, message.body.replace(b"Ann", b"Bob"))
    assert not verify(hook.secret, forged)


def test_a_500_is_retried_with_backoff_and_then_delivered(
    session: Session, admin: Actor, receiver: Receiver, sessions: sessionmaker[Session]
) -> None:
    endpoint(session, admin, receiver.url)
    make_user(session, admin)
    session.commit()
    receiver.statuses = [500]
    start = utcnow()
    assert delivery.deliver_due(sessions, now=start) == start + delivery.RETRY_DELAYS[0]
    sent = session.scalars(
        select(Delivery).where(Delivery.workspace_id == admin.workspace_id)
    ).one()
    assert (sent.status, sent.attempts, sent.response_status) == ("pending", 1, 500)
    delivery.deliver_due(sessions, now=start + timedelta(seconds=1))  # not due yet
    assert len(receiver.received) == 1
    delivery.deliver_due(sessions, now=start + delivery.RETRY_DELAYS[0])
    session.expire_all()
    assert (sent.status, sent.attempts) == ("delivered", 2)
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


def test_a_delivery_that_never_succeeds_fails_after_about_a_day(
    session: Session, admin: Actor, receiver: Receiver, sessions: sessionmaker[Session]
) -> None:
    endpoint(session, admin, receiver.url)
    make_user(session, admin)
    session.commit()
    receiver.statuses = [503] * 50
    start = now = utcnow()
    while (next_due := delivery.deliver_due(sessions, now=now)) is not None:
        now = next_due
    sent = session.scalars(
        select(Delivery).where(Delivery.workspace_id == admin.workspace_id)
    ).one()
    session.refresh(sent)
    assert sent.status == "failed"
    assert sent.attempts == len(delivery.RETRY_DELAYS) + 1 == len(receiver.received)
    assert timedelta(hours=20) < now - start < timedelta(hours=30)


def test_later_events_wait_for_an_earlier_one_so_order_is_kept(
    session: Session, admin: Actor, receiver: Receiver, sessions: sessionmaker[Session]
) -> None:
    endpoint(session, admin, receiver.url, "person.created", "person.updated")
    person = make_user(session, admin, full_name="Ann Lee")
    session.commit()
    people.update(session, actor=admin, user_id=person.id, data=UserUpdate(full_name="Ann Bee"))
    session.commit()
    receiver.statuses = [500]
    start = utcnow()
    delivery.deliver_due(sessions, now=start)
    assert [m.document["type"] for m in receiver.received] == ["person.created"]
    delivery.deliver_due(sessions, now=start + timedelta(minutes=1))
    kinds = [m.document["type"] for m in receiver.received]
    assert kinds == ["person.created", "person.created", "person.updated"]


def test_rule_memberships_are_events_with_their_reason(
    session: Session, admin: Actor, receiver: Receiver, sessions: sessionmaker[Session]
) -> None:
    endpoint(session, admin, receiver.url, "membership.added", "membership.removed")
    group = groups.create(
        session,
        actor=admin,
        data=GroupCreate(name="Pro", selection="rule", include='primary_channel eq "sms"'),
    )
    person = make_user(session, admin, primary_channel="sms")
    people.update(session, actor=admin, user_id=person.id, data=UserUpdate(primary_channel="email"))
    manual = groups.create(session, actor=admin, data=GroupCreate(name="Team"))
    groups.add_members(session, actor=admin, group_id=manual.id, user_ids=[person.id])
    session.commit()
    delivery.deliver_due(sessions)
    seen = [
        (m.document["type"], m.document["data"]["reason"], m.document["data"]["group"]["id"])
        for m in receiver.received
    ]
    assert seen == [
        ("membership.added", "rule", ids.encode(group.id)),
        ("membership.removed", "rule", ids.encode(group.id)),
        ("membership.added", "manual", ids.encode(manual.id)),
    ]
    assert receiver.received[0].document["data"]["user_ids"] == [ids.encode(person.id)]


def test_nothing_is_lost_when_a_worker_stops_mid_delivery(
    session: Session, admin: Actor, receiver: Receiver, sessions: sessionmaker[Session]
) -> None:
    hook = endpoint(session, admin, receiver.url)
    make_user(session, admin)
    session.commit()
    with sessions() as worker:  # a worker that fanned out, took the queue, then died
        delivery.dispatch(worker, now=utcnow())
        worker.commit()
    hook.lease_until = utcnow() - timedelta(seconds=1)  # its lease has run out since
    session.commit()
    delivery.deliver_due(sessions)
    assert [m.document["type"] for m in receiver.received] == ["person.created"]


def test_an_endpoint_held_by_a_live_worker_is_left_to_it(
    session: Session, admin: Actor, receiver: Receiver, sessions: sessionmaker[Session]
) -> None:
    hook = endpoint(session, admin, receiver.url)
    make_user(session, admin)
    hook.lease_until = utcnow() + timedelta(minutes=1)
    session.commit()
    delivery.deliver_due(sessions)
    assert receiver.received == []


def test_redeliver_sends_the_same_event_again(
    session: Session, admin: Actor, receiver: Receiver, sessions: sessionmaker[Session]
) -> None:
    hook = endpoint(session, admin, receiver.url)
    make_user(session, admin)
    session.commit()
    delivery.deliver_due(sessions)
    first, *_ = webhooks.deliveries(session, actor=admin, endpoint_id=hook.id)
    webhooks.redeliver(session, actor=admin, endpoint_id=hook.id, delivery_id=first.delivery.id)
    session.commit()
    delivery.deliver_due(sessions)
    assert len(receiver.received) == 2
    assert receiver.received[0].body == receiver.received[1].body
    log = webhooks.deliveries(session, actor=admin, endpoint_id=hook.id)
    assert [row.delivery.status for row in log] == ["delivered", "delivered"]


def test_the_delivery_log_says_what_each_event_is_about(
    session: Session, admin: Actor, receiver: Receiver, sessions: sessionmaker[Session]
) -> None:
    """Read out of each event's data in the log's query, on either database."""
    from coterie.events import outbox
    from coterie.events import service as events

    hook = endpoint(session, admin, receiver.url)
    person = make_user(session, admin, full_name="Ann Lee")
    team = groups.create(session, actor=admin, data=GroupCreate(name="Team"))
    groups.add_members(session, actor=admin, group_id=team.id, user_ids=[person.id])
    people.update(session, actor=admin, user_id=person.id, data=UserUpdate(status="deactivated"))
    campaign = {"id": "c1", "name": "Spring sale"}
    events.emit(
        session,
        workspace_id=admin.workspace_id,
        event_type="campaign.launched",
        data={"campaign": campaign},
    )
    entry = {"workspace_id": admin.workspace_id, "action": "users.imported", "target_id": None}
    entry |= {"actor_label": "admin", "origin": "import", "after": {"created": ["a", "b"]}}
    (imported,) = outbox.event_rows(entry)
    session.add(OutboxEvent(**imported))
    session.commit()
    delivery.deliver_due(sessions)
    log = webhooks.deliveries(session, actor=admin, endpoint_id=hook.id)
    assert [(row.event_type, row.subject) for row in reversed(log)] == [
        ("person.created", "Ann Lee"),
        ("group.created", "Team"),
        ("membership.added", "Team · manual"),
        ("person.deactivated", "Ann Lee"),
        ("campaign.launched", "Spring sale"),
        ("person.created", "people of an import"),
    ]


def test_inactive_and_unsubscribed_endpoints_get_nothing(
    session: Session, admin: Actor, receiver: Receiver, sessions: sessionmaker[Session]
) -> None:
    endpoint(session, admin, receiver.url, "group.created")
    off = endpoint(session, admin, receiver.url)
    off.active = False
    session.commit()
    make_user(session, admin)
    session.commit()
    delivery.deliver_due(sessions)
    assert receiver.received == []


def test_emit_is_for_events_without_an_audit_entry(session: Session, admin: Actor) -> None:
    from coterie.events import service as events

    events.emit(
        session,
        workspace_id=admin.workspace_id,
        event_type="campaign.launched",
        data={"campaign": {"id": "x", "at": datetime(2026, 1, 1)}},
    )
    with pytest.raises(ValueError, match="unknown webhook event type"):
        events.emit(session, workspace_id=admin.workspace_id, event_type="nope", data={})
    assert outbox_types(session, admin.workspace_id) == ["campaign.launched"]


def test_an_entry_and_its_event_are_written_at_once(
    session: Session, admin: Actor, sql: list[str]
) -> None:
    """Not left to the unit of work (every change pays for them); on PostgreSQL in one
    statement."""
    sql.clear()
    person = make_user(session, admin, full_name="Ann Lee")
    assert not session.new
    entries = [s for s in sql if "INSERT INTO audit_entries" in s]
    events = [s for s in sql if "INSERT INTO webhook_events" in s]
    if session.get_bind().dialect.name == "postgresql":
        assert len(entries) == 1
        assert entries == events
    else:
        assert (len(entries), len(events)) == (1, 1)
    mine = OutboxEvent.workspace_id == admin.workspace_id
    row = session.execute(select(OutboxEvent.type, OutboxEvent.data).where(mine)).one()
    assert row.type == "person.created"
    assert row.data["user"]["id"] == ids.encode(person.id)
    assert row.data["user"]["full_name"] == "Ann Lee"
