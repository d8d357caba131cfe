"""The lean read path of SCIM Users: the resource built as a dict says what the scim2-models
User would, the workspace's fields are cached only as long as they are unchanged, and a hot
read is one statement (the token with its workspace, and the people with their SCIM documents)
that refuses a revoked token at once and sees only the token's workspace."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from scim2_models import Context
from sqlalchemy import bindparam
from sqlalchemy.orm import Session
from starlette.requests import Request

from coterie import actor as actors
from coterie import db, ids
from coterie.access import scim as scim_tokens
from coterie.actor import Actor
from coterie.app import create_app
from coterie.directory.forms import create_field, update_field
from coterie.directory.schemas import FieldCreate, FieldUpdate
from coterie.scim import people as scim_people
from coterie.scim import users
from coterie.scim.reads import HotRead, hot_read
from coterie.scim.users import Call
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace
from tests.scim.conftest import Scim, scim_client

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
COTERIE = "urn:coterie:params:scim:schemas:extension:workspace:2.0:User"
FIELDS = (
    ("plan", "enum", ["free", "pro"]),
    ("tags", "multi_enum", ["a", "b", "c"]),
    ("seats", "integer", []),
    ("score", "number", []),
    ("vip", "boolean", []),
    ("team", "text", []),
    ("site", "url", []),
)


def _call(session: Session, admin: Actor, workspace: Workspace) -> Call:
    scope = {
        "type": "http",
        "scheme": "https",
        "server": ("scim.example", 443),
        "path": "/scim/v2/Users",
        "root_path": "/scim/v2",
        "headers": [(b"host", b"scim.example")],
        "query_string": b"",
        "state": {"workspace": workspace},
    }
    return Call(session, admin, Request(scope))


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


@pytest.mark.parametrize("rich", [True, False], ids=["rich", "bare"])
def test_a_read_says_what_the_scim2_models_user_would(
    scim: Scim, session: Session, admin: Actor, workspace: Workspace, rich: bool
) -> None:
    for key, kind, options in FIELDS:
        data = FieldCreate(key=key, label=key.title(), type=kind, options=options)
        create_field(session, actor=admin, data=data)
    session.commit()
    extra: dict[str, Any] = {}
    if rich:
        extra = {
            "name": {"givenName": "Ann", "familyName": "Lee", "middleName": "Q"},
            "displayName": "Ann Lee",
            "nickName": "Annie",
            "emails": [
                {"value": "Ann@Work.example", "type": "work", "primary": True},
                {"value": "ann@home.example", "type": "home"},
            ],
            "phoneNumbers": [{"value": "+44 20 7946 0958", "type": "work"}],
            "ims": [
                {"value": "@ann.lee", "type": "instagram"},
                {"value": "ann-skype", "type": "skype"},
            ],
            "title": "Engineer",
            "locale": "en-GB",
            "addresses": [{"locality": "London", "country": "GB", "type": "work"}],
            "active": False,
            "externalId": "okta-1",
            ENTERPRISE: {
                "employeeNumber": "42",
                "department": "R&D",
                "manager": {"value": "m-1", "$ref": "../Users/m-1"},
            },
            COTERIE: {
                "plan": "pro",
                "tags": ["a", "c"],
                "seats": 12,
                "score": 4.5,
                "vip": True,
                "team": "Core",
                "site": "https://ann.example",
            },
        }
    created = scim.user("ann.lee", **extra)
    ctx = _call(session, admin, workspace)
    person, profile = ctx.load(created["id"])
    direct = ctx.answer(person, profile, Context.RESOURCE_QUERY_RESPONSE)
    modelled = ctx.dump(ctx.resource(person, profile), Context.RESOURCE_QUERY_RESPONSE)
    assert _json(direct) == _json(modelled)
    assert direct["id"] == created["id"]
    assert direct["meta"]["location"] == f"https://scim.example/scim/v2/Users/{created['id']}"
    # the HTTP read (built from a row, not ORM objects) answers what the creation answered
    assert scim.get(f"/Users/{created['id']}").json() == created
    listed = scim.get("/Users", params={"filter": 'userName eq "ann.lee"'}).json()
    assert listed["Resources"] == [created]


def test_a_field_made_after_a_read_is_known_to_the_next_request(
    scim: Scim, session: Session, admin: Actor
) -> None:
    first = scim.user("ann")
    assert scim.get(f"/Users/{first['id']}").status_code == 200  # the fields are cached now
    refused = scim.post("/Users", {"userName": "bob", COTERIE: {"plan": "pro"}})
    assert refused.status_code == 400
    field = create_field(
        session,
        actor=admin,
        data=FieldCreate(key="plan", label="Plan", type="enum", options=["free", "pro"]),
    )
    session.commit()
    made = scim.post("/Users", {"userName": "bob", COTERIE: {"plan": "pro"}})
    assert made.status_code == 201, made.text
    update_field(
        session, actor=admin, field_id=field.id, data=FieldUpdate(options=["free", "pro", "max"])
    )
    session.commit()
    changed = scim.put(f"/Users/{made.json()['id']}", {"userName": "bob", COTERIE: {"plan": "max"}})
    assert changed.status_code == 200, changed.text
    assert changed.json()[COTERIE] == {"plan": "max"}


def verbs(sql: list[str]) -> list[str]:
    """The statements a request ran (`sql`), by their first word, without the test's own
    transaction control."""
    return [s.split()[0] for s in sql if s.split()[0] not in ("SAVEPOINT", "RELEASE", "ROLLBACK")]


def test_a_hot_read_is_one_statement_with_the_token_check(scim: Scim, sql: list[str]) -> None:
    created = scim.user("ann", emails=[{"value": "ann@example.com"}])
    sql.clear()
    assert scim.get(f"/Users/{created['id']}").status_code == 200
    assert verbs(sql) == ["SELECT"]
    sql.clear()
    found = scim.get("/Users", params={"filter": 'userName eq "ANN"'})
    assert [r["id"] for r in found.json()["Resources"]] == [created["id"]]
    assert found.json()["totalResults"] == 1
    assert verbs(sql) == ["SELECT"]
    sql.clear()
    missing = scim.get(f"/Users/{ids.encode(ids.new_id())}")
    assert missing.status_code == 404
    assert verbs(sql) == ["SELECT"]
    # through the routes (attributes picked): the token, then the person or the lookup
    sql.clear()
    picked = scim.get(f"/Users/{created['id']}", params={"attributes": "userName"})
    assert picked.json()["userName"] == "ann"
    assert verbs(sql) == ["SELECT", "SELECT"]
    sql.clear()
    picked = scim.get("/Users", params={"filter": 'userName eq "ANN"', "attributes": "userName"})
    assert [r["userName"] for r in picked.json()["Resources"]] == ["ann"]
    assert verbs(sql) == ["SELECT", "SELECT"]


def test_the_hot_reads_check_the_token_every_time_and_answer_like_their_routes(
    scim: Scim, session: Session, admin: Actor
) -> None:
    created = scim.user("ann", emails=[{"value": "ann@example.com"}])
    by_id, lookup = f"/Users/{created['id']}", {"filter": 'userName eq "ann"'}
    token, secret = scim_tokens.create(session, actor=admin, name="soon gone")
    session.commit()
    mine = {"Authorization": f"Bearer {secret}"}
    assert scim.get(by_id, headers=mine).status_code == 200
    scim_tokens.revoke(session, actor=admin, token_id=token.id)
    session.commit()
    for path, params in ((by_id, None), ("/Users", lookup)):
        refused = scim.get(path, params=params, headers=mine)
        assert refused.status_code == 401
        assert refused.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert refused.headers["www-authenticate"].startswith("Bearer")
    missing = scim.get(f"/Users/{ids.encode(ids.new_id())}")
    assert (missing.status_code, missing.json()["status"]) == (404, "404")
    tag = scim.get(by_id).headers["etag"]
    assert scim.get(by_id, headers={"If-None-Match": tag}).status_code == 304
    paged = scim.get("/Users", params={**lookup, "startIndex": "2", "count": "5"}).json()
    assert (paged["totalResults"], paged["startIndex"], paged["Resources"]) == (1, 2, [])
    only_total = scim.get("/Users", params={**lookup, "count": "0"}).json()
    assert (only_total["totalResults"], only_total["Resources"]) == (1, [])
    # other parameters go to the route, which answers the same way
    picked = scim.get("/Users", params={**lookup, "attributes": "userName"}).json()
    assert [sorted(r) for r in picked["Resources"]] == [["id", "schemas", "userName"]]


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/scim/v2/Users/abc123", "", HotRead(person_id="abc123")),
        (
            "GET",
            "/scim/v2/Users",
            "filter=userName%20eq%20%22a%22",
            HotRead(filter='userName eq "a"'),
        ),
        (
            "GET",
            "/scim/v2/Users",
            "filter=userName+eq+%22a%22&startIndex=3&count=7",
            HotRead(filter='userName eq "a"', start_index=3, count=7),
        ),
        ("GET", "/scim/v2/Users/abc123", "attributes=userName", None),
        ("GET", "/scim/v2/Users", "filter=userName%20eq%20%22a%22&sortBy=id", None),
        ("GET", "/scim/v2/Users", "filter=userName%20eq%20%22a%22&count=x", None),
        ("GET", "/scim/v2/Users", "filter=userName%20sw%20%22a%22", None),
        ("GET", "/scim/v2/Users", "", None),
        ("PUT", "/scim/v2/Users/abc123", "", None),
        ("GET", "/scim/v2/Groups/abc123", "", None),
    ],
)
def test_which_requests_are_hot_reads(
    method: str, path: str, query: str, expected: HotRead | None
) -> None:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "/scim/v2",
        "query_string": query.encode(),
    }
    assert hot_read(scope) == expected


def test_a_hot_read_finds_nobody_of_another_workspace_and_checks_the_token_first(
    scim: Scim, session: Session
) -> None:
    created = scim.user("ann", emails=[{"value": "ann@example.com"}])
    unnamed = scim.post("/Users", {"userName": "bob@example.com"}).json()
    other = workspaces.create(session, slug=f"o-{secrets.token_hex(3)}", name="Other")
    theirs = scim_client(session, actors.system(other.id))
    assert theirs.get(f"/Users/{created['id']}").status_code == 404
    for name in ("ann", "ANN", "bob@example.com", created["id"], unnamed["id"]):
        found = theirs.get("/Users", params={"filter": f'userName eq "{name}"'}).json()
        assert (found["totalResults"], found["Resources"]) == (0, [])
    assert scim.get("/Users", params={"filter": 'userName eq "ann"'}).json()["totalResults"] == 1
    wrong = {"Authorization": "Bearer scim_nothing"}
    for path in (f"/Users/{created['id']}", "/Users/notanid", f"/Users/{ids.encode(ids.new_id())}"):
        assert scim.get(path, headers=wrong).status_code == 401
    assert (
        scim.get("/Users", params={"filter": 'userName eq "ann"'}, headers=wrong).status_code == 401
    )
    missing = scim.get("/Users/notanid")
    assert (missing.status_code, missing.json()["detail"]) == (404, "No User with id notanid")


def test_the_hot_reads_run_on_a_pooled_connection_of_their_own(process_database: str) -> None:
    """Without the tests' session (as in production): committed data, a revoked token refused
    at once, and every connection given back to the pool."""
    with db.get_sessionmaker()() as session:
        workspace = workspaces.create(session, slug=f"h-{secrets.token_hex(3)}", name="Hot")
        admin = actors.system(workspace.id)
        token, secret = scim_tokens.create(session, actor=admin, name="hot")
        session.commit()
    client = TestClient(create_app(), headers={"Authorization": f"Bearer {secret}"})
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann"}
    created = client.post("/scim/v2/Users", json=body).json()
    scim_people._SCHEMAS.clear()  # the read loads the fields itself, on its connection
    assert client.get(f"/scim/v2/Users/{created['id']}").json() == created
    lookup = {"filter": 'userName eq "Ann"'}
    assert client.get("/scim/v2/Users", params=lookup).json()["Resources"] == [created]
    assert client.get(f"/scim/v2/Users/{ids.encode(ids.new_id())}").status_code == 404
    with db.get_sessionmaker()() as session:
        scim_tokens.revoke(session, actor=admin, token_id=token.id)
        session.commit()
    assert client.get(f"/scim/v2/Users/{created['id']}").status_code == 401
    assert client.get("/scim/v2/Users", params=lookup).status_code == 401
    assert db.get_engine().pool.checkedout() == 0


def test_a_prepared_read_converts_its_columns_as_sqlalchemy_would(
    scim: Scim, session: Session, admin: Actor
) -> None:
    created = scim.user("ann", emails=[{"value": "ann@example.com"}], nickName="Annie")
    statement = users.person_by_id(bindparam("ws"))
    params = {"ws": admin.workspace_id, "id": ids.decode(created["id"])}
    expected = tuple(session.execute(statement, params).one())
    assert isinstance(expected[-2], dict)  # the SCIM document, and UTC times
    assert expected[-1].utcoffset() == timedelta(0)
    prepared = db.Prepared(statement, convert=True)
    assert prepared.rows(session, params) == [expected]
    assert prepared.rows(session.connection(), params) == [expected]
