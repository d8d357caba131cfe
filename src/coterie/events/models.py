"""The audit log: one row per change, with who made it, from where, and the before/after state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
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
