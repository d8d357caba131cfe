"""The audit log (one row per change, with who made it and the before/after state) and the
webhook tables: endpoints, the outbox of events, and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from coterie.db import Base, Id, Json, UTCDateTime, utcnow
from coterie.ids import new_id


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index(None, "workspace_id", "created_at", "id"),
        Index(None, "workspace_id", "target_type", "target_id"),
    )

    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    actor_user_id: Mapped[int | None] = mapped_column(Id)
    actor_label: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(Id)
    target_label: Mapped[str] = mapped_column(String(300), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(Json)
    after: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEndpoint(Base):
    """Where an admin wants events sent, signed with the endpoint's secret."""

    __tablename__ = "webhook_endpoints"

    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(300), default="")
    # `whsec_` + base64 of the key; kept in clear because signing needs it.
    secret: Mapped[str] = mapped_column(String(100))
    event_types: Mapped[list[str]] = mapped_column(Json, default=list)  # empty: every type
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # A worker sending this endpoint's queue holds it until then (one sender keeps the order).
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxEvent(Base):
    """An event written in the same transaction as its change; the worker fans it out."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index(None, "dispatched_at", "seq"),
        Index(None, "workspace_id", "seq"),
    )

    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    seq: Mapped[int] = mapped_column(BigInteger)  # creation order (monotonic nanoseconds)
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One event for one endpoint: its attempts so far, and when the next one is due."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "endpoint_id"],
            ["webhook_endpoints.workspace_id", "webhook_endpoints.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "event_id"],
            ["webhook_events.workspace_id", "webhook_events.id"],
            ondelete="CASCADE",
        ),
        Index(None, "workspace_id", "endpoint_id", "status", "seq"),
        Index(None, "workspace_id", "endpoint_id", "created_at", "id"),
        Index(None, "status", "next_attempt_at"),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    endpoint_id: Mapped[int] = mapped_column(Id)
    event_id: Mapped[int] = mapped_column(Id)
    seq: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # delivered, failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None] = mapped_column()
    response_body: Mapped[str] = mapped_column(String(1000), default="")
    error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
