"""People, the workspace's custom fields and forms, profile timelines and saved table views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from coterie.db import Base, Id, Json, UTCDateTime, utcnow
from coterie.ids import new_id

IDENTIFIERS = ("phone", "email", "whatsapp", "instagram", "external_id")


def _unique_when_given(name: str) -> Index:
    """`name` unique in a workspace among the people who have one: a person without it writes
    no entry to its index (docs/performance.md, SCIM)."""
    given = text(f"{name} IS NOT NULL")
    return Index(
        f"uq_users_workspace_id_{name}",
        "workspace_id",
        name,
        unique=True,
        sqlite_where=given,
        postgresql_where=given,
    )


def _workspace_fk() -> Mapped[int]:
    return mapped_column(Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        *(_unique_when_given(name) for name in (*IDENTIFIERS, "agent_id")),
        Index(None, "workspace_id", "full_name", "id"),
        Index(None, "workspace_id", "last_activity_at", "id"),
        Index(None, "workspace_id", "created_at", "id"),
        Index(None, "workspace_id", "updated_at", "id"),
        Index(None, "workspace_id", "primary_channel", "id"),
        Index(None, "workspace_id", "source", "id"),
    )

    workspace_id: Mapped[int] = _workspace_fk()
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    full_name: Mapped[str] = mapped_column(String(300))
    first_name: Mapped[str | None] = mapped_column(String(150))
    last_name: Mapped[str | None] = mapped_column(String(150))
    nicknames: Mapped[list[str]] = mapped_column(Json, default=list)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    whatsapp: Mapped[str | None] = mapped_column(String(32))
    instagram: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(200))
    primary_channel: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="internal")
    source_ref: Mapped[str | None] = mapped_column(String(300))
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attributes: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    role: Mapped[str] = mapped_column(String(16), default="none")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    ring_phone: Mapped[str | None] = mapped_column(String(32))
    scoring_enabled: Mapped[bool] = mapped_column(default=False)
    roaming: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Field(Base):
    __tablename__ = "fields"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    workspace_id: Mapped[int] = _workspace_fk()
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[list[str]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FieldValueCount(Base):
    """How many people hold each value of an enum or boolean field, as a sum of deltas.

    PostgreSQL triggers (migration 2026_12_04_0008) add a row per write statement and fold them
    now and then, so a filtered list's total is read here instead of counted over every person
    (`directory.counts`). On SQLite the table stays empty and unused.
    """

    __tablename__ = "field_value_counts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "field_id"], ["fields.workspace_id", "fields.id"], ondelete="CASCADE"
        ),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    field_id: Mapped[int] = mapped_column(Id, primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delta: Mapped[int] = mapped_column(BigInteger)


class Form(Base):
    __tablename__ = "forms"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    workspace_id: Mapped[int] = _workspace_fk()
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FormField(Base):
    __tablename__ = "form_fields"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "form_id"], ["forms.workspace_id", "forms.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["workspace_id", "field_id"], ["fields.workspace_id", "fields.id"], ondelete="CASCADE"
        ),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    form_id: Mapped[int] = mapped_column(Id, primary_key=True)
    field_id: Mapped[int] = mapped_column(Id, primary_key=True)
    position: Mapped[int] = mapped_column(default=0)


class TimelineEntry(Base):
    """A note, ticket, conversation entry or media attachment on a person's profile."""

    __tablename__ = "timeline_entries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "user_id"], ["users.workspace_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "workspace_id", "user_id", "occurred_at", "id"),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    user_id: Mapped[int] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(Id)
    author_label: Mapped[str] = mapped_column(String(200), default="")
    group_id: Mapped[int | None] = mapped_column(Id)
    file_name: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(127))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    storage_key: Mapped[str | None] = mapped_column(String(255))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SavedView(Base):
    """An operator's named filter, sort, columns and page size for a table."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("workspace_id", "owner_id", "table", "name"),)

    workspace_id: Mapped[int] = _workspace_fk()
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    owner_id: Mapped[int] = mapped_column(Id)
    table: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    filter: Mapped[dict[str, Any] | None] = mapped_column(Json)
    sort: Mapped[str] = mapped_column(String(80), default="full_name")
    descending: Mapped[bool] = mapped_column(default=False)
    columns: Mapped[list[str]] = mapped_column(Json, default=list)
    page_size: Mapped[int] = mapped_column(default=25)
    is_default: Mapped[bool] = mapped_column(default=False)
