"""Webhook endpoints (admins only) and their delivery logs, with "redeliver"."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.db import utcnow
from coterie.errors import Forbidden, NotFound
from coterie.events import service as audit
from coterie.events.models import Delivery, OutboxEvent, WebhookEndpoint
from coterie.events.schemas import EndpointCreate, EndpointUpdate

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only admins can manage webhooks")


def _label(endpoint: WebhookEndpoint) -> str:
    return endpoint.url[:300]


def list_endpoints(session: Session, *, actor: Actor) -> Sequence[WebhookEndpoint]:
    _require_admin(actor)
    stmt = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.workspace_id == actor.workspace_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return session.scalars(stmt).all()


def get(session: Session, *, actor: Actor, endpoint_id: int) -> WebhookEndpoint:
    _require_admin(actor)
    endpoint = session.get(WebhookEndpoint, (actor.workspace_id, endpoint_id))
    if endpoint is None:
        raise NotFound(f"No webhook endpoint with id {ids.encode(endpoint_id)}")
    return endpoint


def create(session: Session, *, actor: Actor, data: EndpointCreate) -> WebhookEndpoint:
    _require_admin(actor)
    endpoint = WebhookEndpoint(
        workspace_id=actor.workspace_id,
        url=data.url,
        description=data.description or "",
        secret=data.secret or new_secret(),
        event_types=sorted(set(data.event_types or [])),
        active=True if data.active is None else data.active,
    )
    session.add(endpoint)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="webhook.created",
        target_type="webhook",
        target_id=endpoint.id,
        target_label=_label(endpoint),
        after={"url": endpoint.url, "event_types": endpoint.event_types, "active": endpoint.active},
    )
    return endpoint


def update(
    session: Session, *, actor: Actor, endpoint_id: int, data: EndpointUpdate
) -> WebhookEndpoint:
    endpoint = get(session, actor=actor, endpoint_id=endpoint_id)
    before = {"url": endpoint.url, "event_types": endpoint.event_types, "active": endpoint.active}
    given = data.model_dump(exclude_unset=True)
    if given.get("url") is not None:
        endpoint.url = given["url"]
    if "description" in given:
        endpoint.description = given["description"] or ""
    if "event_types" in given:
        endpoint.event_types = sorted(set(given["event_types"] or []))
    if given.get("active") is not None:
        endpoint.active = given["active"]
    endpoint.updated_at = utcnow()
    after = {"url": endpoint.url, "event_types": endpoint.event_types, "active": endpoint.active}
    session.flush()
    audit.record_update(
        session,
        actor=actor,
        action="webhook.updated",
        target_type="webhook",
        target_id=endpoint.id,
        target_label=_label(endpoint),
        before=before,
        after=after,
    )
    return endpoint


def delete(session: Session, *, actor: Actor, endpoint_id: int) -> None:
    endpoint = get(session, actor=actor, endpoint_id=endpoint_id)
    audit.record(
        session,
        actor=actor,
        action="webhook.deleted",
        target_type="webhook",
        target_id=endpoint.id,
        target_label=_label(endpoint),
    )
    session.delete(endpoint)
    session.flush()


class LoggedDelivery(NamedTuple):
    """A delivery of an endpoint's log, with its event's type and what the event is about."""

    delivery: Delivery
    event_type: str
    subject: str


# Where an event's data names what it is about (`outbox._data`, `campaigns.launch`), first found.
_SUBJECT_PATHS = (
    ("user", "name"),
    ("group", "name"),
    ("campaign", "name"),
    ("import", "file_name"),
)


def subject(name: str | None, reason: str | None) -> str:
    """An event in a few words: the person, group or campaign it names (or the import's file),
    and, for a membership change or an import's people, the reason ("VIP · rule")."""
    if name and reason:
        return f"{name} · {reason}"
    if name:
        return name
    return "people of an import" if reason == "import" else ""


def deliveries(
    session: Session,
    *,
    actor: Actor,
    endpoint_id: int,
    limit: int = 50,
    delivery_id: int | None = None,
) -> list[LoggedDelivery]:
    """The endpoint's delivery log, newest first, each with its event's type and subject (or
    the one delivery `delivery_id` alone). The subject is read out of the event's data in the
    query, not the data itself (an import's events list thousands of ids)."""
    endpoint = get(session, actor=actor, endpoint_id=endpoint_id)
    data = OutboxEvent.data
    name = func.coalesce(*(data[key][field].as_string() for key, field in _SUBJECT_PATHS))
    mine = [Delivery.workspace_id == endpoint.workspace_id, Delivery.endpoint_id == endpoint.id]
    if delivery_id is not None:
        mine.append(Delivery.id == delivery_id)
    stmt = (
        select(Delivery, OutboxEvent.type, name, data["reason"].as_string())
        .join(
            OutboxEvent,
            (OutboxEvent.workspace_id == Delivery.workspace_id)
            & (OutboxEvent.id == Delivery.event_id),
        )
        .where(*mine)
        .order_by(Delivery.created_at.desc(), Delivery.seq.desc())
        .limit(limit)
    )
    return [
        LoggedDelivery(delivery, event_type, subject(found_name, reason))
        for delivery, event_type, found_name, reason in session.execute(stmt)
    ]


def redeliver(session: Session, *, actor: Actor, endpoint_id: int, delivery_id: int) -> Delivery:
    """Send a delivered or failed event again, as a new delivery in the log."""
    endpoint = get(session, actor=actor, endpoint_id=endpoint_id)
    old = session.get(Delivery, (actor.workspace_id, delivery_id))
    if old is None or old.endpoint_id != endpoint.id:
        raise NotFound(f"No delivery with id {ids.encode(delivery_id)}")
    again = Delivery(
        workspace_id=old.workspace_id,
        endpoint_id=old.endpoint_id,
        event_id=old.event_id,
        seq=old.seq,
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
    )
    session.add(again)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="webhook.redelivered",
        target_type="webhook",
        target_id=endpoint.id,
        target_label=_label(endpoint),
        after={"delivery": ids.encode(old.id)},
    )
    session.info["coterie.outbox.pending"] = True  # wake the worker after the commit
    return again
