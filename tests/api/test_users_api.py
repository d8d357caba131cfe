from __future__ import annotations

import csv
import io
import json

from fastapi.testclient import TestClient

from coterie.actor import Role
from coterie.workspaces import service as workspaces
from tests.conftest import Api

PROBLEM = "application/problem+json"


def _create(client: TestClient, **body: object) -> dict[str, object]:
    response = client.post("/api/v1/users", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_crud_round_trip(client: TestClient) -> None:
    made = _create(
        client,
        first_name="Grace",
        last_name="Hopper",
        phone="07911 123456",
        primary_channel="phone",
    )
    assert made["full_name"] == "Grace Hopper"
    assert made["phone"] == "+447911123456"
    user_id = made["id"]
    assert isinstance(user_id, str)
    assert not user_id.isdigit()

    fetched = client.get(f"/api/v1/users/{user_id}").json()
    assert fetched == made

    patched = client.patch(f"/api/v1/users/{user_id}", json={"nicknames": ["Amazing Grace"]}).json()
    assert patched["nicknames"] == ["Amazing Grace"]

    assert client.delete(f"/api/v1/users/{user_id}").status_code == 204
    gone = client.get(f"/api/v1/users/{user_id}")
    assert gone.status_code == 404
    assert gone.headers["content-type"] == PROBLEM


def test_duplicate_is_409_naming_the_existing_person(client: TestClient) -> None:
    first = _create(client, full_name="Ada Lovelace", email="ada@example.com")
    response = client.post(
        "/api/v1/users", json={"full_name": "Imposter", "email": "ADA@example.com"}
    )
    assert response.status_code == 409
    problem = response.json()
    assert response.headers["content-type"] == PROBLEM
    assert "Ada Lovelace" in problem["detail"]
    assert problem["existing_id"] == first["id"]
    assert problem["field"] == "email"


def test_bad_input_is_a_problem_naming_each_field(client: TestClient) -> None:
    response = client.post("/api/v1/users", json={"full_name": "X", "phone": "12", "email": "bad"})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"phone", "email"}
    unknown = client.post(
        "/api/v1/users", json={"full_name": "X", "email": "x@example.com", "shoe": 4}
    )
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == PROBLEM
    assert unknown.json()["errors"][0]["field"] == "shoe"
    listed = client.get("/api/v1/users").json()
    assert listed["total"] == 0  # nothing was written


def test_null_clears_a_field_to_what_a_new_person_has(client: TestClient) -> None:
    """The fuzzer's find: `"roaming": null` was a NOT NULL violation, a 500."""
    cleared = {"nicknames": None, "role": None, "scoring_enabled": None, "roaming": None}
    made = _create(client, full_name="Ann", external_id="0", **cleared)
    assert (made["nicknames"], made["role"], made["roaming"]) == ([], "none", False)
    user_id = made["id"]
    set_up = {"nicknames": ["Annie"], "scoring_enabled": True, "roaming": True}
    assert client.patch(f"/api/v1/users/{user_id}", json=set_up).status_code == 200
    patched = client.patch(f"/api/v1/users/{user_id}", json=cleared)
    assert patched.status_code == 200, patched.text
    assert (patched.json()["nicknames"], patched.json()["roaming"]) == ([], False)
    assert patched.json()["scoring_enabled"] is False
    refused = client.patch(f"/api/v1/users/{user_id}", json={"status": None, "roaming": True})
    assert refused.status_code == 400
    assert refused.headers["content-type"] == PROBLEM
    assert [e["field"] for e in refused.json()["errors"]] == ["status"]
    assert client.get(f"/api/v1/users/{user_id}").json()["roaming"] is False  # nothing written
    no_status = client.post(
        "/api/v1/users", json={"full_name": "Bo", "external_id": "1", "status": None}
    )
    assert no_status.status_code == 400
    assert client.get("/api/v1/users").json()["total"] == 1


def test_roles_and_workspaces(api: Api) -> None:
    admin = api.as_role(Role.ADMIN)
    reader = api.as_role(Role.READ_ONLY)
    made = _create(admin, full_name="Someone", email="someone@example.com")
    assert reader.get(f"/api/v1/users/{made['id']}").status_code == 200
    refused = reader.post("/api/v1/users", json={"full_name": "No", "email": "no@example.com"})
    assert refused.status_code == 403
    assert reader.patch(f"/api/v1/users/{made['id']}", json={"full_name": "No"}).status_code == 403
    assert reader.delete(f"/api/v1/users/{made['id']}").status_code == 403

    other = workspaces.create(api.session, slug="rival", name="Rival")
    outsider = api.as_role(Role.ADMIN, workspace_id=other.id)
    assert outsider.get(f"/api/v1/users/{made['id']}").status_code == 404
    assert outsider.patch(f"/api/v1/users/{made['id']}", json={"full_name": "x"}).status_code == 404
    assert outsider.get("/api/v1/users").json()["total"] == 0


def test_no_or_bad_token_is_401(api: Api) -> None:
    anonymous = TestClient(api.client.app)
    assert anonymous.get("/api/v1/users").status_code == 401
    anonymous.headers["Authorization"] = "Bearer cot_nope"
    response = anonymous.get("/api/v1/users")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM


def test_list_filter_sort_page_and_export(client: TestClient) -> None:
    created = client.post(
        "/api/v1/fields",
        json={"key": "plan", "label": "Plan", "type": "enum", "options": ["Free", "Pro"]},
    )
    assert created.status_code == 201
    for i in range(12):
        _create(
            client,
            full_name=f"User {i:02d}",
            email=f"u{i}@example.com",
            attributes={"plan": "Pro" if i % 2 else "Free"},
        )
    params = {"filter": 'attributes.plan eq "Pro"', "sort": "full_name", "order": "desc", "size": 4}
    first = client.get("/api/v1/users", params=params).json()
    assert first["total"] == 6
    assert [u["full_name"] for u in first["items"]] == ["User 11", "User 09", "User 07", "User 05"]
    second = client.get(
        "/api/v1/users", params={**params, "cursor": first["cursors"]["next"]}
    ).json()
    assert [u["full_name"] for u in second["items"]] == ["User 03", "User 01"]
    assert second["cursors"]["next"] is None
    tree = json.dumps({"all": [{"field": "attributes.plan", "op": "eq", "value": "Pro"}]})
    same = client.get("/api/v1/users", params={**params, "filter": tree}).json()
    assert same["items"] == first["items"]

    export = client.get(
        "/api/v1/users/export.csv", params={k: v for k, v in params.items() if k != "size"}
    )
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["full_name"] for r in rows] == [
        "User 11",
        "User 09",
        "User 07",
        "User 05",
        "User 03",
        "User 01",
    ]


def test_bad_filter_sort_and_size_are_400(client: TestClient) -> None:
    for params, field in [
        ({"filter": "shoe_size gt 4"}, "filter"),
        ({"filter": '{"field": "full_name", "op": "explode", "value": 1}'}, "filter"),
        ({"filter": "full_name eq"}, "filter"),
        ({"sort": "password_hash"}, "sort"),
    ]:
        response = client.get("/api/v1/users", params=params)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["errors"][0]["field"].startswith(field)
    assert client.get("/api/v1/users", params={"size": 201}).status_code == 422
    assert client.get("/api/v1/users/export.csv", params={"sort": "nope"}).status_code == 400


def test_sort_by_user_id(client: TestClient) -> None:
    for i in range(5):
        _create(client, full_name=f"P{i}", email=f"p{i}@example.com")
    ids = [u["id"] for u in client.get("/api/v1/users", params={"sort": "id"}).json()["items"]]
    assert ids == sorted(ids)
    down = client.get("/api/v1/users", params={"sort": "id", "order": "desc"}).json()["items"]
    assert [u["id"] for u in down] == sorted(ids, reverse=True)


def test_a_nul_character_is_a_validation_error_naming_the_field(client: TestClient) -> None:
    response = client.post("/api/v1/users", json={"full_name": "a\u0000b", "email": "n@x.io"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == ["full_name"]
