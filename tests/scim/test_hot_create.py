"""`POST /Users` is served ahead of FastAPI's routing (`scim.app.ScimApp`), by the route's own
function: it creates as the route did, and answers every failure with the SCIM error the
route's handlers give, writing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.routing import Mount

from coterie import ids
from coterie.access import scim as scim_tokens
from coterie.actor import Actor
from coterie.directory.models import User
from coterie.groups import service as groups
from coterie.groups.models import Membership
from coterie.groups.schemas import GroupCreate, GroupUpdate
from coterie.scim.app import ScimApp, is_create
from tests.scim.conftest import SCIM_JSON, Scim

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


class Counting:
    """The FastAPI application of `ScimApp`, counting the requests that reach it."""

    def __init__(self, api: Any) -> None:
        self.api, self.calls = api, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await self.api(scope, receive, send)


@pytest.fixture
def routed(scim: Scim, monkeypatch: pytest.MonkeyPatch) -> Counting:
    app = scim.client.app
    mounted: ScimApp = next(
        r.app for r in app.routes if isinstance(r, Mount) and r.path == "/scim/v2"
    )
    counting = Counting(mounted.api)
    monkeypatch.setattr(mounted, "api", counting)
    return counting


def people(session: Session, admin: Actor) -> int:
    count = select(func.count()).select_from(User).where(User.workspace_id == admin.workspace_id)
    return int(session.scalar(count) or 0)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/scim/v2/Users", True),
        ("POST", "/scim/v2/Users/.search", False),
        ("POST", "/scim/v2/Groups", False),
        ("GET", "/scim/v2/Users", False),
        ("PUT", "/scim/v2/Users", False),
    ],
)
def test_which_requests_are_hot_creates(method: str, path: str, expected: bool) -> None:
    scope = {"type": "http", "method": method, "path": path, "root_path": "/scim/v2"}
    assert is_create(scope) is expected


def test_a_create_skips_the_framework_and_answers_as_the_route(
    scim: Scim, routed: Counting, session: Session, admin: Actor
) -> None:
    made = scim.post("/Users", {"schemas": [USER], "userName": "ann", "displayName": "Ann Lee"})
    assert made.status_code == 201, made.text
    assert made.headers["content-type"] == SCIM_JSON
    assert made.headers["location"].endswith(f"/scim/v2/Users/{made.json()['id']}")
    assert made.headers["etag"] == made.json()["meta"]["version"]
    assert routed.calls == 0
    assert scim.get(f"/Users/{made.json()['id']}").json() == made.json()
    search = scim.post("/Users/.search", {"filter": 'userName eq "ann"'})
    assert search.json()["totalResults"] == 1
    assert routed.calls == 1  # every other request goes through FastAPI
    assert people(session, admin) == 1


def _error(answer: Any, status: int, scim_type: str | None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == SCIM_JSON
    body = answer.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type


def test_a_failed_create_is_a_scim_error_and_writes_nothing(
    scim: Scim, routed: Counting, session: Session, admin: Actor
) -> None:
    assert scim.post("/Users", {"schemas": [USER], "userName": "ann"}).status_code == 201
    raw = {"headers": {"content-type": SCIM_JSON}}
    _error(scim.request("POST", "/Users", content=b"{not json", **raw), 400, "invalidSyntax")
    _error(scim.request("POST", "/Users", content=b"[1, 2]", **raw), 400, "invalidValue")
    _error(scim.post("/Users", {"schemas": [USER], "emails": "x"}), 400, "invalidValue")
    _error(scim.post("/Users", {"schemas": [USER]}), 400, "invalidValue")  # no userName
    taken = scim.post("/Users", {"schemas": [USER], "userName": "ANN"})
    _error(taken, 409, "uniqueness")
    assert "userName" in taken.json()["detail"]
    anonymous = scim.post(
        "/Users", {"schemas": [USER], "userName": "bob"}, headers={"Authorization": ""}
    )
    _error(anonymous, 401, None)
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="SCIM"'
    token, secret = scim_tokens.create(session, actor=admin, name="gone")
    scim_tokens.revoke(session, actor=admin, token_id=token.id)
    session.commit()
    revoked = scim.post(
        "/Users",
        {"schemas": [USER], "userName": "bob"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    _error(revoked, 401, None)
    assert routed.calls == 0
    assert people(session, admin) == 1


def test_a_new_person_joins_their_dynamic_groups_by_the_rules_their_insert_read(
    scim: Scim, session: Session, admin: Actor, sql: list[str]
) -> None:
    """A new person is in no group, and their insert reads the workspace's rules version: their
    dynamic groups are evaluated without a query of their state, by the rules of that version."""
    rule = GroupCreate(name="Acme", selection="rule", include='full_name sw "Acme"')
    group = groups.create(session, actor=admin, data=rule)
    session.commit()
    sql.clear()
    ann = scim.post("/Users", {"schemas": [USER], "userName": "ann", "displayName": "Acme Ann"})
    assert ann.status_code == 201, ann.text
    (insert,) = [s for s in sql if s.startswith("INSERT INTO users")]
    assert "RETURNING (SELECT workspaces.rules_version" in insert
    assert not [s for s in sql if s.startswith("SELECT") and "memberships" in s]
    assert members(session, group.id) == [ann.json()["id"]]

    changed = GroupUpdate(include='full_name sw "Beta"')  # a new rules version
    groups.update(session, actor=admin, group_id=group.id, data=changed)
    session.commit()
    scim.post("/Users", {"schemas": [USER], "userName": "cy", "displayName": "Acme Cy"})
    bob = scim.post("/Users", {"schemas": [USER], "userName": "bob", "displayName": "Beta Bob"})
    assert members(session, group.id) == [bob.json()["id"]]


def members(session: Session, group_id: int) -> list[str]:
    found = select(Membership.user_id).where(Membership.group_id == group_id)
    return [ids.encode(user_id) for user_id in session.scalars(found)]
