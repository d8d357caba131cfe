"""SCIM bearer tokens: one workspace each, for an identity provider's provisioning connector.

Apart from API tokens because they carry no role: a SCIM token may only call `/scim/v2`, where it
acts as the workspace's `scim` system actor. The secret (`scim_...`) is shown once and stored as
a SHA-256 hash.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from coterie import ids
from coterie.actor import Actor, Origin, Role
from coterie.db import Base, Id, UTCDateTime, utcnow
from coterie.errors import Forbidden, Invalid, NotFound, Unauthorized
from coterie.events import service as audit
from coterie.ids import new_id
from coterie.workspaces.models import Workspace

PREFIX = "scim_"


class ScimToken(Base):
    __tablename__ = "scim_tokens"
    __table_args__ = (
        UniqueConstraint("workspace_id", "secret_hash"),
        Index(None, "secret_hash"),  # found by its hash before the workspace is known
    )

    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Built once: every SCIM request runs it.
_BY_SECRET = (
    select(ScimToken.id, ScimToken.name, ScimToken.revoked_at, Workspace)
    .join(Workspace, Workspace.id == ScimToken.workspace_id)
    .where(ScimToken.secret_hash == bindparam("hash"))
)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(session: Session, *, actor: Actor, name: str) -> tuple[ScimToken, str]:
    """A new SCIM token and its secret, which is shown this once."""
    if not actor.is_admin:
        raise Forbidden("Only admins can create SCIM tokens")
    if not name.strip():
        raise Invalid("A token needs a name", field="name")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ScimToken(
        workspace_id=actor.workspace_id,
        name=name.strip()[:100],
        secret_hash=_hash(secret),
        created_by=actor.label[:200],
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="scim_token.created",
        target_type="scim_token",
        target_id=token.id,
        target_label=token.name,
    )
    return token, secret


def list_tokens(session: Session, *, actor: Actor) -> Sequence[ScimToken]:
    if not actor.is_admin:
        raise Forbidden("Only admins can see SCIM tokens")
    stmt = (
        select(ScimToken)
        .where(ScimToken.workspace_id == actor.workspace_id)
        .order_by(ScimToken.created_at, ScimToken.id)
    )
    return session.scalars(stmt).all()


def revoke(session: Session, *, actor: Actor, token_id: int) -> ScimToken:
    if not actor.is_admin:
        raise Forbidden("Only admins can revoke SCIM tokens")
    token = session.get(ScimToken, (actor.workspace_id, token_id))
    if token is None:
        raise NotFound(f"No SCIM token with id {ids.encode(token_id)}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="scim_token.revoked",
            target_type="scim_token",
            target_id=token.id,
            target_label=token.name,
        )
    return token


def authenticate(session: Session, *, secret: str) -> tuple[Actor, Workspace]:
    """The workspace's `scim` actor for a bearer secret, and the workspace; 401 for unknown or
    revoked tokens.

    Checked against the database on every request (a revoked token fails at once), in one query
    that also reads the workspace, which every SCIM request needs.
    """
    found = session.execute(_BY_SECRET, {"hash": _hash(secret)}).first()
    if found is None or found.revoked_at is not None:
        raise Unauthorized("Unknown or revoked SCIM token")
    actor = Actor(
        workspace_id=found.Workspace.id,
        role=Role.ADMIN,
        label=f"scim:{found.name}",
        origin=Origin.API,
        token_id=found.id,
    )
    return actor, found.Workspace
