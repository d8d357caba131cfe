"""Member tokens: how the member app (or the product's backend on a member's behalf) signs in.

A token is `cmt_<workspace id>_<secret>`; the workspace part lets the lookup use the
`(workspace_id, secret_hash)` key, and only the SHA-256 of the whole token is stored. An operator
(or the product's backend, with an API token) issues one per member; it is shown once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.db import utcnow
from coterie.directory.models import User
from coterie.directory.service import require_write
from coterie.engagement.models import MemberToken
from coterie.errors import Invalid, NotFound, Unauthorized
from coterie.events import service as audit

PREFIX = "cmt_"
_REFUSED = "Unknown, expired or revoked member token"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    session: Session, *, actor: Actor, user_id: int, expires_at: datetime | None = None
) -> tuple[MemberToken, str]:
    """A new member token for a person; the secret is returned this once."""
    require_write(actor)
    user = session.get(User, (actor.workspace_id, user_id))
    if user is None:
        raise NotFound(f"No person with id {ids.encode(user_id)}")
    if expires_at is not None and expires_at <= utcnow():
        raise Invalid("The expiry must be in the future", field="expires_at")
    token = f"{PREFIX}{ids.encode(actor.workspace_id)}_{secrets.token_urlsafe(32)}"
    row = MemberToken(
        workspace_id=actor.workspace_id,
        id=ids.new_id(),
        user_id=user.id,
        secret_hash=token_hash(token),
        created_by=actor.label[:200],
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="member_token.created",
        target_type="user",
        target_id=user.id,
        target_label=user.full_name,
        after={"token_id": ids.encode(row.id), "expires_at": expires_at},
    )
    return row, token


def revoke_all(session: Session, *, actor: Actor, user_id: int) -> int:
    """Revoke every member token of a person (a lost phone); returns how many."""
    require_write(actor)
    user = session.get(User, (actor.workspace_id, user_id))
    if user is None:
        raise NotFound(f"No person with id {ids.encode(user_id)}")
    rows = session.scalars(
        select(MemberToken).where(
            MemberToken.workspace_id == actor.workspace_id,
            MemberToken.user_id == user_id,
            MemberToken.revoked_at.is_(None),
        )
    ).all()
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    if rows:
        audit.record(
            session,
            actor=actor,
            action="member_token.revoked",
            target_type="user",
            target_id=user.id,
            target_label=user.full_name,
            after={"count": len(rows)},
        )
    session.flush()
    return len(rows)


def authenticate(session: Session, *, token: str) -> User:
    """The active person a member token stands for; one 401 for every kind of bad token."""
    parts = token.split("_", 2)
    if len(parts) != 3 or f"{parts[0]}_" != PREFIX:
        raise Unauthorized(_REFUSED)
    try:
        workspace_id = ids.decode(parts[1], what="workspace")
    except NotFound:
        raise Unauthorized(_REFUSED) from None
    row = session.scalar(
        select(MemberToken).where(
            MemberToken.workspace_id == workspace_id, MemberToken.secret_hash == token_hash(token)
        )
    )
    now = utcnow()
    if row is None or row.revoked_at is not None:
        raise Unauthorized(_REFUSED)
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthorized(_REFUSED)
    user = session.get(User, (workspace_id, row.user_id))
    if user is None or user.status != "active":
        raise Unauthorized(_REFUSED)
    return user
