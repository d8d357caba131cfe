"""`directory.signin`: who may sign in, with the same answer for every kind of wrong credential.

(A directory service, tested here because the web UI is its only user so far.)
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from coterie.actor import Actor, Origin, Role
from coterie.directory import signin
from coterie.errors import Forbidden, Unauthorized
from coterie.events.models import AuditEntry
from coterie.workspaces.models import Workspace
from tests.conftest import make_user

PASSWORD = "a long password"


def test_the_right_credentials_sign_in(
    session: Session, workspace: Workspace, admin: Actor
) -> None:
    user = make_user(
        session, admin, full_name="Op", email="op@example.com", role="standard", password=PASSWORD
    )
    found = signin.authenticate(
        session, slug=workspace.slug.upper(), email=" OP@example.com ", password=PASSWORD
    )
    assert found.id == user.id
    actor = signin.actor_for(found)
    assert (actor.role, actor.origin, actor.user_id) == (Role.STANDARD, Origin.WEB, user.id)
    assert session.query(AuditEntry).filter_by(action="user.signed_in").count() == 1
    assert signin.operator(session, workspace_id=workspace.id, user_id=user.id) == user


@pytest.mark.parametrize(
    ("slug", "email", "password"),
    [
        (None, "op@example.com", "wrong password"),
        ("no-such-workspace", "op@example.com", PASSWORD),
        (None, "nobody@example.com", PASSWORD),
        (None, "not an email", PASSWORD),
    ],
)
def test_wrong_credentials_all_look_the_same(
    session: Session,
    workspace: Workspace,
    admin: Actor,
    slug: str | None,
    email: str,
    password: str,
) -> None:
    make_user(
        session, admin, full_name="Op", email="op@example.com", role="admin", password=PASSWORD
    )
    with pytest.raises(Unauthorized) as caught:
        signin.authenticate(session, slug=slug or workspace.slug, email=email, password=password)
    assert caught.value.detail == signin.WRONG_CREDENTIALS


@pytest.mark.parametrize(("role", "status"), [("none", "active"), ("admin", "deactivated")])
def test_accounts_that_may_not_sign_in(
    session: Session, workspace: Workspace, admin: Actor, role: str, status: str
) -> None:
    user = make_user(
        session,
        admin,
        full_name="Op",
        email="op@example.com",
        role=role,
        password=PASSWORD,
        status=status,
    )
    with pytest.raises(Forbidden):
        signin.authenticate(session, slug=workspace.slug, email="op@example.com", password=PASSWORD)
    assert signin.operator(session, workspace_id=workspace.id, user_id=user.id) is None
