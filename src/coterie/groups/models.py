"""Groups, their stored memberships and the forms attached to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from coterie.db import Base, Id, Json, UTCDateTime, utcnow
from coterie.ids import new_id

SELECTIONS = ("manual", "rule")
BEHAVIOURS = ("static", "dynamic")
STATUSES = ("active", "inactive")
SOURCES = ("manual", "import", "scim", "api")
MEMBERSHIP_SOURCES = ("manual", "rule", "import", "code", "self", "scim")


class Group(Base):
    """A named set of people; a rule group's members are what its rule selects.

    `member_count` is kept with every membership change, so dashboards never count rows.
    `fields_read`, `references` and `time_relative` are derived from the rule when it is saved:
    they index which writes can change the group and in which order groups are evaluated.
    """

    __tablename__ = "groups"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        Index(None, "workspace_id", "created_at", "id"),
        Index(None, "workspace_id", "member_count", "id"),
        # A subgroup's parent, in the same workspace; deleting a parent with subgroups is refused
        # by the service, so the database only has to keep the link pointing at a real group.
        ForeignKeyConstraint(["workspace_id", "parent_id"], ["groups.workspace_id", "groups.id"]),
        Index(None, "workspace_id", "parent_id"),
    )

    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(Json, default=list)
    status: Mapped[str] = mapped_column(String(16), default="active")
    attributes: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    source_ref: Mapped[str | None] = mapped_column(String(300))
    selection: Mapped[str] = mapped_column(String(8), default="manual")
    behaviour: Mapped[str | None] = mapped_column(String(8))
    include_rule: Mapped[dict[str, Any] | None] = mapped_column(Json)
    exclude_rule: Mapped[dict[str, Any] | None] = mapped_column(Json)
    excluded_user_ids: Mapped[list[int]] = mapped_column(Json, default=list)
    fields_read: Mapped[list[str]] = mapped_column(Json, default=list)
    references: Mapped[list[int]] = mapped_column(Json, default=list)
    time_relative: Mapped[bool] = mapped_column(default=False)
    member_count: Mapped[int] = mapped_column(default=0)
    # The hierarchy (`coterie.groups.hierarchy`): None for a level-1 (billing-level) group.
    parent_id: Mapped[int | None] = mapped_column(Id)
    # Distinct people in this group and all its subgroups, kept by `hierarchy.recount`.
    subtree_member_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Billing fields: meaningful on level-1 groups only (docs/access.md).
    billing_email: Mapped[str | None] = mapped_column(String(320))
    billing_plan: Mapped[str | None] = mapped_column(String(100))
    billing_seats: Mapped[int | None] = mapped_column()
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(Id)
    created_by_label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def is_dynamic(self) -> bool:
        return self.selection == "rule" and self.behaviour == "dynamic"


class Membership(Base):
    """One person in one group, with how they came to be there and until when."""

    __tablename__ = "memberships"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "group_id"], ["groups.workspace_id", "groups.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["workspace_id", "user_id"], ["users.workspace_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "workspace_id", "user_id", "group_id"),
        Index(None, "workspace_id", "expires_at"),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    group_id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(8))
    added_by_id: Mapped[int | None] = mapped_column(Id)
    added_by_label: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GroupForm(Base):
    """A form attached to a group: its fields are the group's extra member-table columns."""

    __tablename__ = "group_forms"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "group_id"], ["groups.workspace_id", "groups.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["workspace_id", "form_id"], ["forms.workspace_id", "forms.id"], ondelete="CASCADE"
        ),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    group_id: Mapped[int] = mapped_column(Id, primary_key=True)
    form_id: Mapped[int] = mapped_column(Id, primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
