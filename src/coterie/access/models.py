"""Credentials that are not passwords (bearer API tokens, each with a role), and the resources
groups give access to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from coterie.db import Base, Id, Json, UTCDateTime, utcnow
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


RESOURCE_KINDS = ("bot", "persona")  # the kinds the UI knows; any other kind is allowed by name


class Resource(Base):
    """Something a group gives its members access to: a bot, a persona, or any kind by name."""

    __tablename__ = "resources"
    __table_args__ = (
        UniqueConstraint("workspace_id", "kind", "name"),
        Index(None, "workspace_id", "kind", "id"),
    )

    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Feature badges shown on the resource's card ("voice", "scoring", ...).
    features: Mapped[list[str]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Assignment(Base):
    """A resource given to a group: every member of it and of its subgroups may use it."""

    __tablename__ = "assignments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "group_id"], ["groups.workspace_id", "groups.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["workspace_id", "resource_id"],
            ["resources.workspace_id", "resources.id"],
            ondelete="CASCADE",
        ),
        Index(None, "workspace_id", "resource_id", "group_id"),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    group_id: Mapped[int] = mapped_column(Id, primary_key=True)
    resource_id: Mapped[int] = mapped_column(Id, primary_key=True)
    assigned_by_id: Mapped[int | None] = mapped_column(Id)
    assigned_by_label: Mapped[str] = mapped_column(String(200), default="")
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
