"""The tenant: every other row belongs to exactly one workspace."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from coterie.db import Base, Id, UTCDateTime, utcnow
from coterie.ids import new_id


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    default_region: Mapped[str] = mapped_column(String(2), default="US")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    hierarchy_depth: Mapped[int] = mapped_column(default=3)
    upload_limit_bytes: Mapped[int] = mapped_column(BigInteger, default=100 * 1024 * 1024)
    # A new stamp with every change to a dynamic rule or to the fields: compiled rules are stale.
    rules_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
