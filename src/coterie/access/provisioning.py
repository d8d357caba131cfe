"""What SCIM knows of a person or group beyond Coterie's own fields.

An identity provider sends more than Coterie models (every email with its type, the enterprise
extension, a `userName`); the SCIM adapter keeps its last document here, so what it reads back is
what it wrote, while Coterie's columns stay the truth for what they hold. `userName` is unique in
a workspace, compared case-insensitively (RFC 7643 §4.1.1).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, String, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from coterie import db, ids
from coterie.db import Base, Id, Json, UTCDateTime, utcnow
from coterie.errors import Conflict


class ScimUser(Base):
    __tablename__ = "scim_users"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "user_id"], ["users.workspace_id", "users.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("workspace_id", "user_name_key"),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_name: Mapped[str] = mapped_column(String(300))
    user_name_key: Mapped[str] = mapped_column(String(300))  # casefolded, for uniqueness
    document: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ScimGroup(Base):
    __tablename__ = "scim_groups"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "group_id"], ["groups.workspace_id", "groups.id"], ondelete="CASCADE"
        ),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    group_id: Mapped[int] = mapped_column(Id, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def user_profile(session: Session, *, workspace_id: int, user_id: int) -> ScimUser | None:
    return session.get(ScimUser, (workspace_id, user_id))


def user_profiles(
    session: Session, *, workspace_id: int, user_ids: list[int]
) -> dict[int, ScimUser]:
    if not user_ids:
        return {}
    stmt = select(ScimUser).where(
        ScimUser.workspace_id == workspace_id, ScimUser.user_id.in_(user_ids)
    )
    return {p.user_id: p for p in session.scalars(stmt)}


def new_profile(
    workspace_id: int, user_id: int, user_name: str, document: dict[str, Any]
) -> dict[str, Any]:
    """The columns of the SCIM document of a person who has none yet."""
    return {
        "workspace_id": workspace_id,
        "user_id": user_id,
        "user_name": user_name,
        "user_name_key": user_name.casefold(),
        "document": document,
        "updated_at": utcnow(),
    }


def save_user(
    session: Session,
    *,
    workspace_id: int,
    user_id: int,
    user_name: str,
    document: dict[str, Any],
    new: bool = False,
) -> ScimUser:
    """Store a person's SCIM userName and document; 409 when the name is another person's.

    `new`: the person was just created, so has no document yet (it is inserted, not looked up)."""
    key = user_name.casefold()
    if new:
        created = ScimUser(**new_profile(workspace_id, user_id, user_name, document))
        if db.insert_new(session, created):  # else the name is taken: its holder, below
            return created
    stmt = select(ScimUser).where(
        ScimUser.workspace_id == workspace_id,
        or_(ScimUser.user_name_key == key, ScimUser.user_id == user_id),
    )
    found = session.scalars(stmt).all()  # the person's own document and the name's holder
    taken = next((p for p in found if p.user_id != user_id), None)
    if taken is not None:
        raise Conflict(
            f"userName {user_name} already belongs to {ids.encode(taken.user_id)}",
            field="userName",
            existing_id=ids.encode(taken.user_id),
        )
    profile = next((p for p in found if p.user_id == user_id), None)
    if profile is None:
        profile = ScimUser(workspace_id=workspace_id, user_id=user_id)
        session.add(profile)
    profile.user_name, profile.user_name_key, profile.document = user_name, key, document
    profile.updated_at = utcnow()
    session.flush()
    return profile


def group_profile(session: Session, *, workspace_id: int, group_id: int) -> ScimGroup | None:
    return session.get(ScimGroup, (workspace_id, group_id))


def save_group(
    session: Session,
    *,
    workspace_id: int,
    group_id: int,
    external_id: str | None,
) -> ScimGroup:
    profile = session.get(ScimGroup, (workspace_id, group_id))
    if profile is None:
        profile = ScimGroup(workspace_id=workspace_id, group_id=group_id)
        session.add(profile)
    profile.external_id = external_id
    profile.updated_at = utcnow()
    session.flush()
    return profile
