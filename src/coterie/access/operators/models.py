"""What limits an operator beyond their role: capability flags and the groups in their scope.

A token can be scoped too (`TokenScope`); an operator or token without scope rows sees the
whole workspace.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKeyConstraint
from sqlalchemy.orm import Mapped, mapped_column

from coterie.db import Base, Id, UTCDateTime, utcnow

CAPABILITIES = ("group_access", "reporting", "audio_scoring")


def _user_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["workspace_id", "user_id"], ["users.workspace_id", "users.id"], ondelete="CASCADE"
    )


def _group_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["workspace_id", "group_id"], ["groups.workspace_id", "groups.id"], ondelete="CASCADE"
    )


class OperatorPermission(Base):
    """One operator's capability flags; no row means none of them."""

    __tablename__ = "operator_permissions"
    __table_args__ = (_user_fk(),)

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, primary_key=True)
    group_access: Mapped[bool] = mapped_column(default=False)
    reporting: Mapped[bool] = mapped_column(default=False)
    audio_scoring: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OperatorScope(Base):
    """A group (with its subgroups) an operator may see and manage."""

    __tablename__ = "operator_scopes"
    __table_args__ = (_user_fk(), _group_fk())

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, primary_key=True)
    group_id: Mapped[int] = mapped_column(Id, primary_key=True)


class TokenScope(Base):
    """A group (with its subgroups) an API token may see and manage."""

    __tablename__ = "token_scopes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "token_id"],
            ["api_tokens.workspace_id", "api_tokens.id"],
            ondelete="CASCADE",
        ),
        _group_fk(),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_id: Mapped[int] = mapped_column(Id, primary_key=True)
    group_id: Mapped[int] = mapped_column(Id, primary_key=True)
