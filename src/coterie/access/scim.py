"""SCIM bearer tokens: one workspace each, for an identity provider's provisioning connector.

Apart from API tokens because they carry no role: a SCIM token may only call `/scim/v2`, where it
acts as the workspace's `scim` system actor. The secret (`scim_...`) is shown once and stored as
a SHA-256 hash.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    ForeignKey,
    Index,
    ScalarSelect,
    Select,
    String,
    UniqueConstraint,
    bindparam,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from coterie import ids
from coterie.actor import Actor, Origin, Role
from coterie.db import Base, Id, Prepared, UTCDateTime, utcnow
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


@dataclass(frozen=True)
class TokenWorkspace:
    """What a SCIM request needs of its token's workspace, read with the token every time."""

    id: int
    rules_version: int  # keys the per-process cache of its custom fields (scim.people)
    default_region: str


def by_secret() -> Select[int, str, datetime | None, int, int, str]:
    """The token of a secret's hash (`hash`, see `secret_params`) and its workspace, in the
    first `TOKEN_COLUMNS` columns, which `caller` reads. SCIM's hot reads extend it with the
    people they read, so that a read is one statement (scim.reads)."""
    return (
        select(
            ScimToken.id,
            ScimToken.name,
            ScimToken.revoked_at,
            Workspace.id.label("workspace_id"),
            Workspace.rules_version,
            Workspace.default_region,
        )
        .join(Workspace, Workspace.id == ScimToken.workspace_id)
        .where(ScimToken.secret_hash == bindparam("hash"))
    )


def secret_workspace() -> ScalarSelect[int]:
    """The workspace of the token of `hash`, for what a statement reads beside `by_secret`: its
    rows are only returned once `caller` has accepted the token."""
    return (
        select(ScimToken.workspace_id)
        .where(ScimToken.secret_hash == bindparam("hash"))
        .scalar_subquery()
    )


TOKEN_COLUMNS = 6
BY_SECRET = Prepared(by_secret(), convert=True)  # every SCIM request runs it


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


def secret_params(secret: str) -> dict[str, str]:
    """The parameters of `by_secret` for a bearer secret."""
    return {"hash": _hash(secret)}


def caller(found: Sequence[Any] | None) -> tuple[Actor, TokenWorkspace]:
    """The workspace's `scim` actor and the workspace from a row of `by_secret` (None: no such
    token); 401 for unknown or revoked tokens."""
    if found is None or found[2] is not None:
        raise Unauthorized("Unknown or revoked SCIM token")
    token_id, name, _, workspace_id, rules_version, region = found[:TOKEN_COLUMNS]
    actor = Actor(
        workspace_id=workspace_id,
        role=Role.ADMIN,
        label=f"scim:{name}",
        origin=Origin.API,
        token_id=token_id,
    )
    return actor, TokenWorkspace(workspace_id, rules_version, region)


# The callers of the secrets last read, by hash (`remembered`), for SCIM's creates, which check
# the token again where they write (scim.creates).
_REMEMBERED: dict[str, tuple[Actor, TokenWorkspace]] = {}
_REMEMBERED_MAX = 1024


def remembered(secret: str) -> tuple[str, tuple[Actor, TokenWorkspace] | None]:
    """The secret's hash, and its caller as last read (`remember`), if it was."""
    found = _hash(secret)
    return found, _REMEMBERED.get(found)


def remember(secret_hash: str, found: tuple[Actor, TokenWorkspace] | None) -> None:
    """Keep the caller a token was just read as; None forgets it (refused)."""
    if found is None:
        _REMEMBERED.pop(secret_hash, None)
        return
    if len(_REMEMBERED) >= _REMEMBERED_MAX:
        _REMEMBERED.clear()
    _REMEMBERED[secret_hash] = found


def still_valid(source: Session | Connection, secret_hash: str, workspace: TokenWorkspace) -> bool:
    """Whether the token of `secret_hash` is valid and its workspace is still `workspace` (its
    rules version and region unchanged), read now."""
    found = BY_SECRET.rows(source, {"hash": secret_hash})
    try:
        return caller(found[0] if found else None)[1] == workspace
    except Unauthorized:
        return False


def authenticate(session: Session | Connection, *, secret: str) -> tuple[Actor, TokenWorkspace]:
    """The workspace's `scim` actor for a bearer secret, and what SCIM needs of the workspace;
    401 for unknown or revoked tokens.

    Checked against the database on every request (a revoked token fails at once), in one query
    that also reads the workspace, which every SCIM request needs.
    """
    found = BY_SECRET.rows(session, secret_params(secret))
    return caller(found[0] if found else None)
