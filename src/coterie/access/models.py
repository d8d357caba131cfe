"""Credentials that are not passwords: bearer API tokens, each with a role."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from coterie.db import Base, Id, UTCDateTime, utcnow
from coterie.ids import new_id


class ApiToken(Base):
    __tablename__ = "api_tokens"

    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    # sha256 of the secret; the secret itself is shown once and never stored.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
