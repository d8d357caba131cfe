"""Sending the outbox: fan events out to endpoints, sign them, retry with backoff, keep order.

Run by the background worker (`coterie.jobs`). Each endpoint's deliveries go out one at a time
in event order: while the oldest is waiting for a retry, the later ones wait too, so a receiver
sees each person's events in the order they happened. After the last retry (about a day) a
delivery is marked failed and the queue moves on. State lives in the database, so a worker that
stops mid-way loses nothing: a delivery it held is sent again once its lease runs out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from coterie import ids
from coterie.db import utcnow
from coterie.events.models import Delivery, OutboxEvent, WebhookEndpoint

# Waits after attempt 1, 2, ...: exponential, 8 attempts over about 23 hours, then failed.
RETRY_DELAYS = tuple(
    timedelta(seconds=s) for s in (5, 60, 300, 1_800, 7_200, 18_000, 28_800, 28_800)
)
LEASE = timedelta(seconds=60)
TIMEOUT_SECONDS = 10.0
BATCH = 500


@dataclass(frozen=True)
class Response:
    status: int
    body: str


Sender = Callable[[str, bytes, dict[str, str]], Response]


def sign(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` with the key."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def message_id(event: OutboxEvent) -> str:
    """The same for every attempt and redelivery of an event, so receivers can deduplicate."""
    return "msg_" + ids.encode(event.id)


def body(event: OutboxEvent) -> bytes:
    document = {
        "type": event.type,
        "timestamp": event.created_at.isoformat(),
        "data": event.data,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def http_post(url: str, content: bytes, headers: dict[str, str]) -> Response:
    request = urllib.request.Request(url, data=content, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as reply:
            return Response(reply.status, reply.read(1000).decode(errors="replace"))
    except urllib.error.HTTPError as exc:
        return Response(exc.code, exc.read(1000).decode(errors="replace"))


def dispatch(session: Session, *, now: datetime) -> int:
    """Turn undelivered outbox rows into one delivery per subscribed, active endpoint."""
    events = session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.dispatched_at.is_(None))
        .order_by(OutboxEvent.seq)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    endpoints: dict[int, list[WebhookEndpoint]] = {}
    for event in events:
        if event.workspace_id not in endpoints:
            endpoints[event.workspace_id] = list(
                session.scalars(
                    select(WebhookEndpoint).where(
                        WebhookEndpoint.workspace_id == event.workspace_id,
                        WebhookEndpoint.active.is_(True),
                    )
                )
            )
        for endpoint in endpoints[event.workspace_id]:
            wanted = not endpoint.event_types or event.type in endpoint.event_types
            if wanted and endpoint.created_at <= event.created_at:
                session.add(
                    Delivery(
                        workspace_id=event.workspace_id,
                        endpoint_id=endpoint.id,
                        event_id=event.id,
                        seq=event.seq,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        event.dispatched_at = now
    session.flush()
    return len(events)


def _claim(session: Session, *, endpoint: tuple[int, int]) -> bool:
    """Hold an endpoint's queue for this worker, so one sender keeps its order (the lease runs on
    the real clock, whatever `now` a caller gives)."""
    e, now = WebhookEndpoint, utcnow()
    result = session.execute(
        update(e)
        .where(
            e.workspace_id == endpoint[0],
            e.id == endpoint[1],
            or_(e.lease_until.is_(None), e.lease_until < now),
        )
        .values(lease_until=now + LEASE)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0))


def _release(session: Session, *, endpoint: tuple[int, int]) -> None:
    e = WebhookEndpoint
    session.execute(
        update(e).where(e.workspace_id == endpoint[0], e.id == endpoint[1]).values(lease_until=None)
    )
    session.commit()


def attempt(
    delivery: Delivery,
    *,
    event: OutboxEvent,
    endpoint: WebhookEndpoint,
    now: datetime,
    send: Sender,
) -> bool:
    """One try; records the outcome and schedules the next try. True when delivered."""
    content = body(event)
    msg_id = message_id(event)
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": "Coterie-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(
            endpoint.secret, msg_id=msg_id, timestamp=timestamp, body=content
        ),
    }
    delivery.attempts += 1
    delivery.last_attempt_at = now
    try:
        reply = send(endpoint.url, content, headers)
        delivery.response_status, delivery.response_body = reply.status, reply.body[:1000]
        delivery.error = "" if 200 <= reply.status < 300 else f"HTTP {reply.status}"
    except Exception as exc:  # any failure to reach the receiver is a retry
        delivery.response_status, delivery.response_body = None, ""
        delivery.error = f"{type(exc).__name__}: {exc}"[:500]
    if not delivery.error:
        delivery.status = "delivered"
        return True
    if delivery.attempts > len(RETRY_DELAYS):
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]
    return False


def _send_queue(session: Session, *, endpoint: WebhookEndpoint, now: datetime, send: Sender) -> int:
    """Send the endpoint's due deliveries in order, stopping at the first one that must wait."""
    sent = 0
    while True:
        head = session.execute(
            select(Delivery, OutboxEvent)
            .join(
                OutboxEvent,
                (OutboxEvent.workspace_id == Delivery.workspace_id)
                & (OutboxEvent.id == Delivery.event_id),
            )
            .where(
                Delivery.workspace_id == endpoint.workspace_id,
                Delivery.endpoint_id == endpoint.id,
                Delivery.status == "pending",
            )
            .order_by(Delivery.seq, Delivery.created_at)
            .limit(1)
        ).first()
        if head is None or head[0].next_attempt_at > now:
            return sent
        delivery, event = head
        delivered = attempt(delivery, event=event, endpoint=endpoint, now=now, send=send)
        endpoint.lease_until = utcnow() + LEASE
        session.commit()
        sent += 1
        if not delivered and delivery.status == "pending":
            return sent


def deliver_due(
    sessions: sessionmaker[Session], *, now: datetime | None = None, send: Sender = http_post
) -> datetime | None:
    """Dispatch new events and send everything due; returns when the next retry is due."""
    now = now or utcnow()
    with sessions() as session:
        while dispatch(session, now=now) == BATCH:
            session.commit()
        session.commit()
        due = session.execute(
            select(Delivery.workspace_id, Delivery.endpoint_id)
            .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
            .distinct()
        ).all()
        for workspace_id, endpoint_id in due:
            key = (workspace_id, endpoint_id)
            if not _claim(session, endpoint=key):
                continue
            try:
                endpoint = session.get(WebhookEndpoint, key)
                if endpoint is not None:
                    _send_queue(session, endpoint=endpoint, now=now, send=send)
            finally:
                session.rollback()
                _release(session, endpoint=key)
        return session.scalar(
            select(func.min(Delivery.next_attempt_at)).where(
                and_(Delivery.status == "pending", Delivery.next_attempt_at > now)
            )
        )
