from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from coterie.actor import Role
from tests.conftest import Api


def test_audit_log_is_for_admins_and_shows_changes(api: Api) -> None:
    admin = api.as_role(Role.ADMIN)
    made = admin.post(
        "/api/v1/users", json={"full_name": "Audited", "email": "a@example.com"}
    ).json()
    admin.patch(f"/api/v1/users/{made['id']}", json={"full_name": "Audited Twice"})
    entries = admin.get(
        "/api/v1/audit", params={"target_type": "user", "target_id": made["id"]}
    ).json()
    assert [e["action"] for e in entries] == ["user.updated", "user.created"]
    assert entries[0]["before"] == {"full_name": "Audited"}
    assert entries[0]["after"] == {"full_name": "Audited Twice"}
    assert entries[0]["origin"] == "api"
    assert api.as_role(Role.STANDARD).get("/api/v1/audit").status_code == 403


def test_tokens_are_created_once_and_revoked(client: TestClient, api: Api) -> None:
    created = client.post("/api/v1/tokens", json={"name": "ci", "role": "read_only"})
    assert created.status_code == 201
    secret = created.json()["secret"]
    other = TestClient(api.client.app, headers={"Authorization": f"Bearer {secret}"})
    assert other.get("/api/v1/users").status_code == 200
    listed = client.get("/api/v1/tokens").json()
    assert all("secret" not in t for t in listed)
    assert client.delete(f"/api/v1/tokens/{created.json()['id']}").status_code == 204
    assert other.get("/api/v1/users").status_code == 401
    assert (
        api.as_role(Role.STANDARD)
        .post("/api/v1/tokens", json={"name": "x", "role": "admin"})
        .status_code
        == 403
    )


def test_fields_and_forms(client: TestClient) -> None:
    field = client.post(
        "/api/v1/fields",
        json={"key": "tier", "label": "Tier", "type": "enum", "options": ["A", "B"]},
    )
    assert field.status_code == 201
    dup = client.post("/api/v1/fields", json={"key": "tier", "label": "Again", "type": "text"})
    assert dup.status_code == 409
    no_options = client.post(
        "/api/v1/fields", json={"key": "kind", "label": "Kind", "type": "enum"}
    )
    assert no_options.status_code == 400
    assert no_options.json()["errors"][0]["field"] == "options"
    bad_key = client.post("/api/v1/fields", json={"key": "Bad Key", "label": "x", "type": "text"})
    assert bad_key.status_code == 422
    form = client.post("/api/v1/forms", json={"name": "Profile", "fields": ["tier"]})
    assert form.status_code == 201
    assert [f["key"] for f in form.json()["fields"]] == ["tier"]
    missing = client.post("/api/v1/forms", json={"name": "Other", "fields": ["nope"]})
    assert missing.status_code == 400
    assert client.get("/api/v1/forms").json()[0]["name"] == "Profile"
    renamed = client.patch(f"/api/v1/forms/{form.json()['id']}", json={"name": "Main"})
    assert renamed.json()["name"] == "Main"
    assert client.delete(f"/api/v1/fields/{field.json()['id']}").status_code == 204
    assert client.get(f"/api/v1/forms/{form.json()['id']}").json()["fields"] == []


def test_openapi_is_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/users" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_responses_carry_security_headers(client: TestClient) -> None:
    response = client.get("/api/v1/users")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_a_nul_in_the_audit_filter_is_refused_naming_it(client: TestClient) -> None:
    """PostgreSQL cannot compare text with a NUL in it: this was a 500 there."""
    response = client.get("/api/v1/audit", params={"target_type": "a\x00b"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "target_type"


def test_a_nul_in_a_token_name_is_refused_and_makes_no_token(client: TestClient) -> None:
    """The token body was the one request body without the NUL check: a 500 on PostgreSQL."""
    before = client.get("/api/v1/tokens").json()
    response = client.post("/api/v1/tokens", json={"name": "a\x00b", "role": "read_only"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "name"
    assert client.get("/api/v1/tokens").json() == before


@pytest.mark.parametrize(
    ("path", "body", "field", "listed"),
    [
        (
            "/api/v1/groups",
            {"name": "Tagged", "tags": ["ok", "x" * 201]},
            "tags.1",
            "/api/v1/groups",
        ),
        (
            "/api/v1/fields",
            {"key": "tier", "label": "Tier", "type": "enum", "options": ["y" * 201]},
            "options.0",
            "/api/v1/fields",
        ),
        (
            "/api/v1/users",
            {"full_name": "Nick", "nicknames": ["z" * 201]},
            "nicknames.0",
            "/api/v1/users",
        ),
    ],
)
def test_an_overlong_item_of_a_list_is_refused_naming_it(
    client: TestClient, path: str, body: dict[str, object], field: str, listed: str
) -> None:
    before = client.get(listed).json()
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert client.get(listed).json() == before
