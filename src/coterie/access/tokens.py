"""Bearer API tokens: `cot_<secret>`, stored as a SHA-256 hash, each with a role."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import scope as scopes
from coterie.access.models import ApiToken
from coterie.access.operators.models import CAPABILITIES, TokenScope
from coterie.actor import Actor, Origin, Role
from coterie.db import utcnow
from coterie.errors import Forbidden, Invalid, NotFound, Unauthorized
from coterie.events import service as audit

PREFIX = "cot_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(
    session: Session, *, actor: Actor, name: str, role: Role, group_ids: Iterable[int] = ()
) -> tuple[ApiToken, str]:
    """A new token and its secret, which is shown this once; `group_ids` limit what it reaches."""
    if not actor.is_admin:
        raise Forbidden("Only admins can create API tokens")
    if not name.strip():
        raise Invalid("A token needs a name", field="name")
    if role is Role.NONE:
        raise Invalid("A token needs a role other than none", field="role")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        workspace_id=actor.workspace_id,
        name=name.strip(),
        role=role.value,
        secret_hash=_hash(secret),
        created_by=actor.label,
    )
    session.add(token)
    session.flush()
    wanted = list(dict.fromkeys(group_ids))
    found = scopes.groups_in_scope(session, actor=actor, group_ids=wanted, at="group_ids")
    scope = [g.id for g in found]
    session.add_all(
        TokenScope(workspace_id=actor.workspace_id, token_id=token.id, group_id=g) for g in scope
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.created",
        target_type="token",
        target_id=token.id,
        target_label=token.name,
        after={"name": token.name, "role": token.role, "group_ids": [ids.encode(g) for g in scope]},
    )
    return token, secret


def list_tokens(session: Session, *, actor: Actor) -> Sequence[ApiToken]:
    if not actor.is_admin:
        raise Forbidden("Only admins can see API tokens")
    stmt = (
        select(ApiToken)
        .where(ApiToken.workspace_id == actor.workspace_id)
        .order_by(ApiToken.created_at)
    )
    return session.scalars(stmt).all()


def revoke(session: Session, *, actor: Actor, token_id: int) -> None:
    if not actor.is_admin:
        raise Forbidden("Only admins can revoke API tokens")
    token = session.get(ApiToken, (actor.workspace_id, token_id))
    if token is None:
        raise NotFound(f"No token with id {ids.encode(token_id)}")
    token.revoked_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="token.revoked",
        target_type="token",
        target_id=token.id,
        target_label=token.name,
    )


def authenticate(session: Session, *, secret: str) -> Actor:
    """The actor a bearer secret stands for; 401 for unknown or revoked tokens."""
    # The token and the groups of its scope in one round trip: this runs on every API request.
    rows = session.execute(
        select(ApiToken, TokenScope.group_id)
        .outerjoin(
            TokenScope,
            (TokenScope.workspace_id == ApiToken.workspace_id)
            & (TokenScope.token_id == ApiToken.id),
        )
        .where(ApiToken.secret_hash == _hash(secret))
    ).all()
    token = rows[0][0] if rows else None
    if token is None or token.revoked_at is not None:
        raise Unauthorized("Unknown or revoked API token")
    role = Role(token.role)
    roots = [group_id for _, group_id in rows if group_id is not None]
    scope = None
    if roots and role is not Role.ADMIN:
        scope = scopes.expand(session, workspace_id=token.workspace_id, group_ids=roots)
    return Actor(
        workspace_id=token.workspace_id,
        role=role,
        label=f"token:{token.name}",
        origin=Origin.API,
        token_id=token.id,
        scope=scope,
        capabilities=frozenset(CAPABILITIES),
        assigned=scopes.assigned_people(
            session, workspace_id=token.workspace_id, role=role, scope=scope
        ),
    )


def scope_of(session: Session, *, token: ApiToken) -> list[int]:
    stmt = select(TokenScope.group_id).where(
        TokenScope.workspace_id == token.workspace_id, TokenScope.token_id == token.id
    )
    return list(session.scalars(stmt))
