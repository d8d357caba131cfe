"""Operators over HTTP: scoped tokens and operators see only their groups' people, admins edit
permissions and passwords, moves with records, eligible agents, agent id conflicts."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from coterie.actor import Role
from tests.conftest import Api

API = "/api/v1"


def _post(client: TestClient, path: str, expect: int = 201, **body: Any) -> Any:
    answer = client.post(f"{API}{path}", json=body)
    assert answer.status_code == expect, answer.text
    return answer.json()


def _person(client: TestClient, name: str, **fields: Any) -> str:
    email = f"{name.lower().replace(' ', '.')}@example.com"
    return str(_post(client, "/users", full_name=name, email=email, **fields)["id"])


def _scoped(api: Api, client: TestClient, role: str, *group_ids: str) -> TestClient:
    made = _post(client, "/tokens", name=f"scoped-{role}", role=role, group_ids=list(group_ids))
    assert made["group_ids"] == list(group_ids)
    return TestClient(api.client.app, headers={"Authorization": f"Bearer {made['secret']}"})


def _world(client: TestClient) -> dict[str, str]:
    sales = _post(client, "/groups", name="Sales")["id"]
    support = _post(client, "/groups", name="Support")["id"]
    ann, bob, cid = (_person(client, n) for n in ("Ann", "Bob", "Cid"))
    _post(client, f"/groups/{sales}/members", 200, user_ids=[ann])
    _post(client, f"/groups/{support}/members", 200, user_ids=[bob])
    return {"sales": sales, "support": support, "ann": ann, "bob": bob, "cid": cid}


def test_a_scoped_token_sees_only_its_groups_and_their_members(
    api: Api, client: TestClient
) -> None:
    w = _world(client)
    for role in ("read_only", "standard"):
        scoped = _scoped(api, client, role, w["sales"])
        people = scoped.get(f"{API}/users").json()
        assert [p["full_name"] for p in people["items"]] == ["Ann"]
        assert people["total"] == 1
        groups = scoped.get(f"{API}/groups").json()
        assert [g["name"] for g in groups["items"]] == ["Sales"]
        exported = scoped.get(f"{API}/users/export.csv").text
        assert "Ann" in exported
        assert "Bob" not in exported
        assert scoped.get(f"{API}/users/{w['ann']}").status_code == 200
        for path in (
            f"/users/{w['bob']}",
            f"/users/{w['cid']}",
            f"/users/{w['bob']}/timeline",
            f"/users/{w['bob']}/groups",
            f"/groups/{w['support']}",
            f"/groups/{w['support']}/members",
        ):
            answer = scoped.get(f"{API}{path}")
            assert answer.status_code == 404, (role, path, answer.text)
    writer = _scoped(api, client, "standard", w["sales"])
    hidden = writer.patch(f"{API}/users/{w['bob']}", json={"full_name": "Bobby"})
    assert hidden.status_code == 404
    assert client.get(f"{API}/users/{w['bob']}").json()["full_name"] == "Bob"
    mine = writer.patch(f"{API}/users/{w['ann']}", json={"full_name": "Annie"})
    assert mine.status_code == 200
    assert writer.delete(f"{API}/groups/{w['support']}").status_code == 404


def test_scoped_token_of_another_workspace_group_is_refused(api: Api, client: TestClient) -> None:
    bad = client.post(
        f"{API}/tokens", json={"name": "x", "role": "read_only", "group_ids": ["nope"]}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "group_ids[0]"


def test_admin_edits_operator_permissions(api: Api, client: TestClient) -> None:
    w = _world(client)
    olga = _person(client, "Olga", role="standard")
    path = f"{API}/operators/{olga}/permissions"
    empty = client.get(path).json()
    assert empty == {
        "user_id": olga,
        "role": "standard",
        "group_ids": [],
        "group_names": [],
        "capabilities": [],
    }
    body = {"group_ids": [w["support"]], "capabilities": ["reporting", "audio_scoring"]}
    saved = client.put(path, json=body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["group_names"] == ["Support"]
    assert saved.json()["capabilities"] == ["reporting", "audio_scoring"]
    assert client.get(path).json() == saved.json()
    unknown = client.put(path, json={"capabilities": ["flying"]})
    assert unknown.status_code == 422
    standard = api.as_role(Role.STANDARD)
    assert standard.put(path, json=body).status_code == 403
    audit = client.get(f"{API}/audit", params={"target_type": "user", "target_id": olga}).json()
    assert audit[0]["action"] == "operator.permissions_changed"
    operators = client.get(f"{API}/operators").json()
    assert [p["full_name"] for p in operators["items"]] == ["Olga"]


def test_admin_sets_a_password(api: Api, client: TestClient) -> None:
    olga = _person(client, "Olga", role="standard")
    answer = client.put(f"{API}/operators/{olga}/password", json={"password": "long-enough-1"})
    assert answer.status_code == 204
    assert client.get(f"{API}/users/{olga}").json()["has_password"] is True
    short = client.put(f"{API}/operators/{olga}/password", json={"password": "short"})
    assert short.status_code == 422


def test_move_with_records_over_http(api: Api, client: TestClient) -> None:
    w = _world(client)
    note = _post(
        client, f"/users/{w['ann']}/timeline", kind="note", body="hello", group_id=w["sales"]
    )
    moved = client.post(
        f"{API}/users/{w['ann']}/move",
        json={"from_group_id": w["sales"], "to_group_id": w["support"], "transfer_records": True},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["moved_records"] == 1
    assert "Permissions may need updating" in moved.json()["warning"]
    entry = client.get(f"{API}/users/{w['ann']}/timeline/{note['id']}").json()
    assert entry["group_id"] == w["support"]
    groups = [m["group_name"] for m in client.get(f"{API}/users/{w['ann']}/groups").json()]
    assert groups == ["Support"]
    again = client.post(
        f"{API}/users/{w['ann']}/move",
        json={"from_group_id": w["sales"], "to_group_id": w["support"]},
    )
    assert again.status_code == 400
    assert again.json()["errors"][0]["field"] == "from_group_id"
    bad_id = client.post(
        f"{API}/users/{w['ann']}/move", json={"from_group_id": "zz", "to_group_id": w["sales"]}
    )
    assert bad_id.status_code == 400
    assert bad_id.json()["errors"][0]["field"] == "from_group_id"


def test_eligible_agents_over_http(api: Api, client: TestClient) -> None:
    w = _world(client)
    scorer = _person(client, "Scorer", scoring_enabled=True, agent_id="S-1")
    _post(client, f"/groups/{w['sales']}/members", 200, user_ids=[scorer])
    _person(client, "Roamer", roaming=True, role="standard")
    found = client.get(f"{API}/groups/{w['sales']}/eligible-agents")
    assert found.status_code == 200
    assert [u["full_name"] for u in found.json()] == ["Roamer", "Scorer"]
    reader = api.as_role(Role.READ_ONLY)
    assert reader.get(f"{API}/groups/{w['sales']}/eligible-agents").status_code == 200
    ident = api.as_role(Role.IDENTIFIED_ONLY)
    assert ident.get(f"{API}/groups/{w['sales']}/eligible-agents").status_code == 403


def test_agent_id_conflict_names_the_holder(client: TestClient) -> None:
    _person(client, "Ann", agent_id="A-7", ring_phone="020 7946 0018")
    bob = _person(client, "Bob")
    taken = client.patch(f"{API}/users/{bob}", json={"agent_id": "A-7"})
    assert taken.status_code == 409
    assert "Ann" in taken.json()["detail"]
    assert taken.json()["field"] == "agent_id"
    ann = client.get(f"{API}/users", params={"filter": 'agent_id eq "A-7"'}).json()["items"]
    assert ann[0]["ring_phone"] == "+442079460018"
