"""Member groups (the app-facing settings of a group), member tokens, join codes and campaigns.

Member settings live in a side table rather than on `groups`: the groups domain stays ignorant of
the member app, and a group without a row here is simply not a member group.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from coterie.db import Base, Id, Json, UTCDateTime, utcnow
from coterie.ids import new_id

JOIN_POLICIES = ("closed", "open", "code")
CAMPAIGN_KINDS = ("sms", "email", "push", "whatsapp", "coupon", "game", "other")
CAMPAIGN_STATUSES = ("draft", "scheduled", "active", "ended")
CODE_KINDS = ("shared", "single")
_GROUP_FK = (["workspace_id", "group_id"], ["groups.workspace_id", "groups.id"])
_USER_FK = (["workspace_id", "user_id"], ["users.workspace_id", "users.id"])


class MemberGroup(Base):
    """How a group shows in the member app: who may join it, when, and in which place."""

    __tablename__ = "member_groups"
    __table_args__ = (
        ForeignKeyConstraint(*_GROUP_FK, ondelete="CASCADE"),
        Index(None, "workspace_id", "display_order", "group_id"),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    group_id: Mapped[int] = mapped_column(Id, primary_key=True)
    join_policy: Mapped[str] = mapped_column(String(8), default="closed")
    user_viewable: Mapped[bool] = mapped_column(default=False)
    app_description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    display_order: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MemberToken(Base):
    """A member app credential for one person; only the SHA-256 of its secret is kept."""

    __tablename__ = "member_tokens"
    __table_args__ = (
        ForeignKeyConstraint(*_USER_FK, ondelete="CASCADE"),
        UniqueConstraint("workspace_id", "secret_hash"),
        Index(None, "workspace_id", "user_id"),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    user_id: Mapped[int] = mapped_column(Id)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Campaign(Base):
    """A message or offer for the members of some groups minus others, optionally narrowed.

    A campaign with a `join_group_id` is a code campaign: it issues the codes that join that group,
    valid within the campaign's window. That group is not a foreign key: the groups service
    refuses its deletion while the campaign names it.
    """

    __tablename__ = "campaigns"
    __table_args__ = (
        ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        Index(None, "workspace_id", "created_at", "id"),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="other")
    rule: Mapped[dict[str, Any] | None] = mapped_column(Json)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    join_group_id: Mapped[int | None] = mapped_column(Id)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipient_count: Mapped[int] = mapped_column(default=0)
    created_by_label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CampaignGroup(Base):
    """A group a campaign includes or excludes."""

    __tablename__ = "campaign_groups"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "campaign_id"],
            ["campaigns.workspace_id", "campaigns.id"],
            ondelete="CASCADE",
        ),
        # Cascade only for a workspace's teardown: the groups service refuses to delete a group
        # a campaign names (`coterie.engagement.campaigns.referencing`).
        ForeignKeyConstraint(*_GROUP_FK, ondelete="CASCADE"),
        Index(None, "workspace_id", "group_id"),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Id, primary_key=True)
    group_id: Mapped[int] = mapped_column(Id, primary_key=True)
    excluded: Mapped[bool] = mapped_column(default=False)


class IdList(TypeDecorator[list[int]]):
    """Person ids held in one value: `int8[]` on PostgreSQL, comma-separated text on SQLite.

    Rows of this type are written by SQL aggregates (`array_agg` / `group_concat`), which do not
    promise an order: readers sort the ids they get.
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(BigInteger()))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: list[int] | None, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return ",".join(str(int(v)) for v in value)

    def process_result_value(self, value: Any, dialect: Dialect) -> list[int] | None:
        if value is None:
            return None
        if isinstance(value, str):
            return [int(v) for v in value.split(",")] if value else []
        return [int(v) for v in value]


class RecipientChunk(Base):
    """Up to `audience.CHUNK` people of a launched campaign's frozen audience, in one row.

    A launch writes the list as one row per run of consecutive (by person id) recipients, so
    700,000 recipients are 700 rows rather than 700,000: the write is small enough to stay within
    seconds on a busy server. `last_user_id` (the largest id in the chunk) is the key, so a page
    "after person X" starts at the first chunk whose last id is above X.

    No foreign key to `users`: the list stays as launched (a person deactivated or deleted later
    is shown marked). The chunks go with their campaign (a cascading foreign key: a launch checks
    it once per chunk, not once per person).
    """

    __tablename__ = "campaign_recipient_chunks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "campaign_id"],
            ["campaigns.workspace_id", "campaigns.id"],
            ondelete="CASCADE",
        ),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Id, primary_key=True)
    last_user_id: Mapped[int] = mapped_column(Id, primary_key=True)
    size: Mapped[int] = mapped_column()
    user_ids: Mapped[list[int]] = mapped_column(IdList)


class JoinCode(Base):
    """A code that joins its campaign's group: shared (many uses, optionally capped) or single-use.

    Only a keyed SHA-256 of the normalized code is stored; `hint` (its last four characters) lets
    admins tell codes apart.
    """

    __tablename__ = "join_codes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "campaign_id"],
            ["campaigns.workspace_id", "campaigns.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("workspace_id", "code_hash"),
        Index(None, "workspace_id", "campaign_id", "created_at"),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    campaign_id: Mapped[int] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(8))
    code_hash: Mapped[str] = mapped_column(String(64))
    hint: Mapped[str] = mapped_column(String(8))
    max_uses: Mapped[int | None] = mapped_column()
    uses: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JoinCodeUse(Base):
    """Who redeemed a code, and when; one row per person and code."""

    __tablename__ = "join_code_uses"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "code_id"],
            ["join_codes.workspace_id", "join_codes.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(*_USER_FK, ondelete="CASCADE"),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    code_id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
