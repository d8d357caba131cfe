"""Operators signing in to the dashboard: workspace slug + email + password, checked with argon2.

Every failure that could tell an attacker which workspaces or emails exist gets the same message
and costs the same time; only someone who knows the password learns that their account may not
sign in (deactivated, or a contact without dashboard access).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from coterie.actor import Actor, Origin, Role
from coterie.directory import contacts, passwords
from coterie.directory import service as users
from coterie.directory.models import User
from coterie.errors import Forbidden, Unauthorized
from coterie.events import service as audit
from coterie.workspaces import service as workspaces

SIGN_IN_ROLES = frozenset({Role.ADMIN, Role.STANDARD, Role.READ_ONLY, Role.IDENTIFIED_ONLY})
WRONG_CREDENTIALS = "The workspace, email or password is not right"


def may_sign_in(user: User) -> bool:
    return user.status == "active" and user.role in SIGN_IN_ROLES


def authenticate(session: Session, *, slug: str, email: str, password: str) -> User:
    """The operator these credentials belong to; Unauthorized or Forbidden otherwise."""
    workspace = workspaces.find_by_slug(session, slug=slug.strip().lower())
    user: User | None = None
    if workspace is not None:
        try:
            address = contacts.normalize_email(email)
        except ValueError:
            address = None
        if address is not None:
            user = users.find_by_identifier(
                session, workspace_id=workspace.id, kind="email", value=address
            )
    # Always run one argon2 verification (a dummy one when there is no user), so the
    # response time does not reveal whether the workspace or email exists.
    if not passwords.verify_password(user.password_hash if user else None, password) or not user:
        raise Unauthorized(WRONG_CREDENTIALS)
    if not may_sign_in(user):
        raise Forbidden(
            "This account cannot sign in to the dashboard; ask an admin of the workspace"
        )
    audit.record(
        session,
        actor=actor_for(user),
        action="user.signed_in",
        target_type="user",
        target_id=user.id,
        target_label=users.label(user),
    )
    return user


def operator(session: Session, *, workspace_id: int, user_id: int) -> User | None:
    """The signed-in operator of a session, or None when they may no longer sign in."""
    user = session.get(User, (workspace_id, user_id))
    if user is None or not may_sign_in(user):
        return None
    return user


def actor_for(user: User, origin: Origin = Origin.WEB) -> Actor:
    return Actor(
        workspace_id=user.workspace_id,
        role=Role(user.role),
        label=user.full_name,
        origin=origin,
        user_id=user.id,
    )
