"""Every mutating route of the OpenAPI, with a token of every role: the role is decided first.

The routes are read from `app.openapi()`, so a route added later is walked too. A route names the
least role it needs in `x-coterie-role` (default: writing needs `standard`); a role below it gets
403 whatever the body (a plausible one built from the schema, or nonsense) and changes nothing;
a role at or above it is never refused for its role (its fake ids give 404, its body 400/422).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from coterie import ids
from coterie.access import roles
from coterie.actor import Role
from coterie.events.models import AuditEntry
from tests.conftest import Api

ROLES = (Role.IDENTIFIED_ONLY, Role.READ_ONLY, Role.STANDARD, Role.ADMIN)
MUTATING = ("post", "put", "patch", "delete")
FAKE_ID = ids.encode(4242)
# Routes whose least role is part of DESIGN.md section 5, pinned here so a wrong mark is caught.
PINNED = {
    ("post", "/api/v1/tokens"): Role.ADMIN,
    ("delete", "/api/v1/tokens/{token_id}"): Role.ADMIN,
    ("put", "/api/v1/operators/{user_id}/permissions"): Role.ADMIN,
    ("put", "/api/v1/operators/{user_id}/password"): Role.ADMIN,
    ("post", "/api/v1/users"): Role.STANDARD,
    ("post", "/api/v1/users/{user_id}/move"): Role.STANDARD,
    ("post", "/api/v1/groups"): Role.STANDARD,
}


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def plausible(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A small value of the schema's shape: required properties only, the first enum value."""
    schema = _resolve(schema, spec)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(s, spec).get("type") != "null"]
            return plausible(options[0], spec) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: plausible(props[k], spec) for k in schema.get("required", []) if k in props}
    if kind == "array":
        return []
    if kind == "integer" or kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if schema.get("format") == "email":
        return "someone@example.com"
    return "x" * max(1, schema.get("minLength", 1))


def _body(operation: dict[str, Any], spec: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return plausible(content["application/json"]["schema"], spec)


def _mutating_routes(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in MUTATING
    ]


def _url(path: str, real: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: real.get(m.group(1), FAKE_ID), path)


def _call(client: TestClient, method: str, url: str, body: Any) -> Any:
    return client.request(method.upper(), url, json=body)


@pytest.fixture
def clients(api: Api) -> dict[Role, TestClient]:
    return {role: api.as_role(role) for role in ROLES}


def test_every_mutating_route_answers_by_role_first(
    api: Api, clients: dict[Role, TestClient]
) -> None:
    admin = clients[Role.ADMIN]
    spec = admin.app.openapi()  # type: ignore[attr-defined]
    person = admin.post("/api/v1/users", json={"full_name": "Kept", "email": "kept@example.com"})
    group = admin.post("/api/v1/groups", json={"name": "Kept group"})
    real = {"user_id": person.json()["id"], "group_id": group.json()["id"]}
    routes = _mutating_routes(spec)
    assert len(routes) >= 25, "the walk must see the whole API"
    for (method, path), role in PINNED.items():
        marked = spec["paths"][path][method].get(roles.ROLE_KEY)
        assert roles.required({roles.ROLE_KEY: marked} if marked else None, method) is role

    checked = 0
    for method, path, operation in routes:
        needed = roles.required(operation, method)
        if needed is None:  # a route with its own credentials (member app, SCIM)
            continue
        body = _body(operation, spec)
        for role in ROLES:
            client = clients[role]
            if roles.RANK[role] < roles.RANK[needed]:
                audited = api.session.query(AuditEntry).count()
                for sent in (body, {"nonsense": [1, {"x": None}]}):
                    answer = _call(client, method, _url(path, real), sent)
                    assert answer.status_code == 403, (role, method, path, answer.text)
                    assert answer.headers["content-type"] == "application/problem+json"
                assert api.session.query(AuditEntry).count() == audited, (role, method, path)
            else:
                answer = _call(client, method, _url(path, {}), body)
                assert answer.status_code not in (401, 403), (role, method, path, answer.text)
                assert answer.status_code < 500, (role, method, path, answer.text)
            checked += 1
    assert checked >= 4 * 25
    # The records the refused calls named are still there.
    assert admin.get(f"/api/v1/users/{real['user_id']}").status_code == 200
    assert admin.get(f"/api/v1/groups/{real['group_id']}").status_code == 200


def test_admin_only_reads_refuse_other_roles(clients: dict[Role, TestClient]) -> None:
    person = clients[Role.ADMIN].post(
        "/api/v1/users", json={"full_name": "Op", "email": "op@example.com", "role": "standard"}
    )
    user_id = person.json()["id"]
    for path in ("/api/v1/tokens", "/api/v1/audit", f"/api/v1/operators/{user_id}/permissions"):
        assert clients[Role.ADMIN].get(path).status_code == 200, path
        for role in (Role.STANDARD, Role.READ_ONLY, Role.IDENTIFIED_ONLY):
            assert clients[role].get(path).status_code == 403, (role, path)


def test_without_a_token_every_route_is_401(clients: dict[Role, TestClient], api: Api) -> None:
    anonymous = TestClient(api.client.app)
    spec = clients[Role.ADMIN].app.openapi()  # type: ignore[attr-defined]
    for method, path, operation in _mutating_routes(spec):
        if roles.required(operation, method) is None:
            continue
        answer = _call(anonymous, method, _url(path, {}), {})
        assert answer.status_code == 401, (method, path, answer.text)


def _reading_routes(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(path, item["get"]) for path, item in spec["paths"].items() if "get" in item]


def test_every_reading_route_keeps_identified_only_to_their_own_people(
    api: Api, clients: dict[Role, TestClient]
) -> None:
    """An identified-only token whose scope names one group (the people assigned to it) walks
    every GET route of the OpenAPI: an outsider never appears in any answer, whether named in
    the path or not; the assigned person's own pages answer."""
    admin = clients[Role.ADMIN]
    spec = admin.app.openapi()  # type: ignore[attr-defined]
    mine = admin.post("/api/v1/users", json={"full_name": "Ines Assigned", "email": "ines@x.org"})
    other = admin.post("/api/v1/users", json={"full_name": "Otto Outsider", "email": "otto@x.org"})
    assigned, outsider = mine.json()["id"], other.json()["id"]
    route = admin.post("/api/v1/groups", json={"name": "Route 7"}).json()["id"]
    elsewhere = admin.post("/api/v1/groups", json={"name": "Elsewhere"}).json()["id"]
    for group, person in ((route, assigned), (elsewhere, outsider)):
        added = admin.post(f"/api/v1/groups/{group}/members", json={"user_ids": [person]})
        assert added.status_code < 300, added.text
    made = admin.post(
        "/api/v1/tokens", json={"name": "rep", "role": "identified_only", "group_ids": [route]}
    )
    rep = TestClient(admin.app)
    rep.headers["Authorization"] = f"Bearer {made.json()['secret']}"
    secrets_of_outsider = (outsider, "otto@x.org", "Otto Outsider")

    routes = _reading_routes(spec)
    assert len(routes) >= 40, "the walk must see the whole API"
    walked = 0
    for path, operation in routes:
        needed = roles.required(operation, "get")
        if needed is None:
            continue
        for person, group in ((outsider, elsewhere), (assigned, route)):
            answer = rep.get(_url(path, {"user_id": person, "group_id": group}))
            assert answer.status_code < 500, (path, answer.text)
            if roles.RANK[Role.IDENTIFIED_ONLY] < roles.RANK[needed]:
                assert answer.status_code == 403, (path, answer.text)
            # A 404 repeats the id it was asked for; nothing else may name the outsider.
            named = secrets_of_outsider if answer.status_code < 400 else secrets_of_outsider[1:]
            for secret in named:
                assert secret not in answer.text, (path, person, answer.text[:300])
            walked += 1
    assert walked >= 2 * 40
    # What is theirs answers: the assigned person, their groups and resources, the people list.
    for path in ("/api/v1/users/{user_id}", "/api/v1/users/{user_id}/resources"):
        assert rep.get(_url(path, {"user_id": assigned})).status_code == 200, path
        assert rep.get(_url(path, {"user_id": outsider})).status_code == 404, path
    listed = {p["id"] for p in rep.get("/api/v1/users").json()["items"]}
    assert listed == {assigned}
    groups = rep.get(f"/api/v1/users/{assigned}/groups").json()
    assert [g["group_name"] for g in groups] == ["Route 7"]
