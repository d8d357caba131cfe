"""The hierarchy, resources, assignments and access checks over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from coterie.actor import Role
from tests.conftest import Api

API = "/api/v1"
PROBLEM = "application/problem+json"


def _post(client: TestClient, path: str, expect: int = 201, **body: Any) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == expect, response.text
    return response.json()


def _team(client: TestClient) -> dict[str, str]:
    emea = _post(client, f"{API}/groups", name="EMEA", billing_plan="Enterprise")["id"]
    team = _post(client, f"{API}/groups", name="Sales Team", parent_id=emea)["id"]
    ann = _post(client, f"{API}/users", full_name="Ann Lee", email="ann@example.com")["id"]
    _post(client, f"{API}/groups/{team}/members", 200, user_ids=[ann])
    bot = _post(client, f"{API}/resources", kind="bot", name="Closer", features=["voice"])["id"]
    return {"emea": emea, "team": team, "ann": ann, "bot": bot}


def test_access_flow(client: TestClient) -> None:
    t = _team(client)
    check = f"{API}/access/check?user_id={t['ann']}&resource_id={t['bot']}"
    denied = client.get(check).json()
    assert denied["allowed"] is False
    assert denied["via"] is None
    result = _post(
        client, f"{API}/assignments", 200, group_ids=[t["emea"]], resource_ids=[t["bot"]]
    )
    assert result == {"changed": 1, "unchanged": 0}
    allowed = client.get(check).json()
    assert allowed["allowed"] is True
    assert allowed["via"] == "Sales Team ← EMEA"
    assert [s["name"] for s in allowed["path"]] == ["Sales Team", "EMEA"]
    mine = client.get(f"{API}/users/{t['ann']}/resources").json()
    assert mine["active"] is True
    assert [(g["resource"]["name"], g["via"]) for g in mine["resources"]] == [
        ("Closer", "Sales Team ← EMEA")
    ]
    users = client.get(f"{API}/resources/{t['bot']}/users").json()
    assert [u["full_name"] for u in users["items"]] == ["Ann Lee"]
    assert users["total"] == 1
    held = client.get(f"{API}/groups/{t['emea']}/resources").json()
    assert [r["name"] for r in held["resources"]] == ["Closer"]
    _post(client, f"{API}/assignments/remove", 200, group_ids=[t["emea"]], resource_ids=[t["bot"]])
    assert client.get(check).json()["allowed"] is False


def test_deactivated_person_is_refused_with_a_reason(client: TestClient) -> None:
    t = _team(client)
    _post(client, f"{API}/assignments", 200, group_ids=[t["team"]], resource_ids=[t["bot"]])
    assert (
        client.patch(f"{API}/users/{t['ann']}", json={"status": "deactivated"}).status_code == 200
    )
    answer = client.get(f"{API}/access/check?user_id={t['ann']}&resource_id={t['bot']}").json()
    assert answer["allowed"] is False
    assert "deactivated" in answer["reason"]


def test_tree_subtree_and_move(client: TestClient) -> None:
    t = _team(client)
    tree = client.get(f"{API}/hierarchy").json()
    assert tree["depth_limit"] == 3
    rows = {n["name"]: n for n in tree["items"]}
    assert rows["EMEA"]["subtree_member_count"] == 1
    assert rows["EMEA"]["member_count"] == 0
    assert rows["Sales Team"]["level"] == 2
    assert rows["Sales Team"]["parent_id"] == t["emea"]
    sub = client.get(f"{API}/groups/{t['emea']}/subtree").json()
    assert [n["name"] for n in sub["items"]] == ["EMEA", "Sales Team"]
    apac = _post(client, f"{API}/groups", name="APAC")["id"]
    moved = _post(client, f"{API}/groups/{t['team']}/move", 200, parent_id=apac)
    assert moved["parent_id"] == apac
    read = client.get(f"{API}/groups/{apac}").json()
    assert read["subtree_member_count"] == 1
    cycle = client.post(f"{API}/groups/{apac}/move", json={"parent_id": t["team"]})
    assert cycle.status_code == 400
    assert cycle.headers["content-type"] == PROBLEM
    assert cycle.json()["errors"][0]["field"] == "parent_id"
    assert "cycle" in cycle.json()["detail"]
    top = _post(client, f"{API}/groups/{t['team']}/move", 200, parent_id=None)
    assert top["parent_id"] is None


def test_depth_overflow_names_the_field(client: TestClient) -> None:
    one = _post(client, f"{API}/groups", name="One")["id"]
    two = _post(client, f"{API}/groups", name="Two", parent_id=one)["id"]
    three = _post(client, f"{API}/groups", name="Three", parent_id=two)["id"]
    four = client.post(f"{API}/groups", json={"name": "Four", "parent_id": three})
    assert four.status_code == 400
    assert four.json()["errors"][0]["field"] == "parent_id"
    bad_billing = client.patch(f"{API}/groups/{two}", json={"billing_seats": 3})
    assert bad_billing.status_code == 400
    assert bad_billing.json()["errors"][0]["field"] == "billing_seats"


def test_read_only_reads_but_cannot_write(api: Api, client: TestClient) -> None:
    t = _team(client)
    reader = api.as_role(Role.READ_ONLY)
    assert reader.get(f"{API}/resources").status_code == 200
    assert reader.get(f"{API}/hierarchy").status_code == 200
    refused = reader.post(
        f"{API}/assignments", json={"group_ids": [t["emea"]], "resource_ids": [t["bot"]]}
    )
    assert refused.status_code == 403
    assert reader.post(f"{API}/resources", json={"kind": "bot", "name": "X"}).status_code == 403
    assert (
        reader.post(f"{API}/groups/{t['team']}/move", json={"parent_id": None}).status_code == 403
    )
    identified = api.as_role(Role.IDENTIFIED_ONLY)
    assert identified.get(f"{API}/resources").status_code == 403


def test_other_workspace_is_not_found(api: Api, client: TestClient) -> None:
    from coterie.workspaces import service as workspaces

    t = _team(client)
    other = workspaces.create(api.session, slug="elsewhere", name="Elsewhere")
    api.session.commit()
    stranger = api.as_role(Role.ADMIN, workspace_id=other.id)
    assert stranger.get(f"{API}/resources/{t['bot']}").status_code == 404
    answer = stranger.get(f"{API}/access/check?user_id={t['ann']}&resource_id={t['bot']}")
    assert answer.status_code == 404


def test_resources_list_and_kinds(client: TestClient) -> None:
    _post(client, f"{API}/resources", kind="bot", name="Alpha")
    _post(client, f"{API}/resources", kind="persona", name="Beta")
    _post(client, f"{API}/resources", kind="playbook", name="Gamma", features=["new"])
    assert [r["name"] for r in client.get(f"{API}/resources").json()["items"]] == [
        "Alpha",
        "Beta",
        "Gamma",
    ]
    personas = client.get(f"{API}/resources?kind=persona").json()["items"]
    assert [r["name"] for r in personas] == ["Beta"]
    bad = client.post(f"{API}/resources", json={"kind": "Bad Kind!", "name": "x"})
    assert bad.status_code in (400, 422)
    assert bad.headers["content-type"] == PROBLEM
    dup = client.post(f"{API}/resources", json={"kind": "bot", "name": "Alpha"})
    assert dup.status_code == 409
