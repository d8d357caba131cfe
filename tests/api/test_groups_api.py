from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from coterie.actor import Role
from coterie.workspaces import service as workspaces
from tests.conftest import Api

PROBLEM = "application/problem+json"
GROUPS = "/api/v1/groups"


def _post(client: TestClient, path: str, expect: int = 201, **body: Any) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == expect, response.text
    return response.json()


def _person(client: TestClient, name: str, **fields: Any) -> str:
    email = f"{name.lower().replace(' ', '.')}@example.com"
    made = _post(client, "/api/v1/users", full_name=name, email=email, **fields)
    return str(made["id"])


def _group(client: TestClient, name: str, **fields: Any) -> dict[str, Any]:
    return _post(client, GROUPS, name=name, **fields)  # type: ignore[no-any-return]


def _names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["full_name"] for item in response.json()["items"]]


@pytest.fixture
def plan(client: TestClient) -> None:
    body = {"key": "plan", "label": "Plan", "type": "enum", "options": ["free", "pro"]}
    _post(client, "/api/v1/fields", **body)


def test_crud_round_trip(client: TestClient, plan: None) -> None:
    form = _post(client, "/api/v1/forms", name="Billing", fields=["plan"])
    made = _group(
        client,
        "VIP",
        description="Our best",
        tags=["gold", "emea"],
        attributes={"owner": "sales"},
        form_ids=[form["id"]],
    )
    assert (made["selection"], made["behaviour"]) == ("manual", None)
    assert made["form_ids"] == [form["id"]]
    assert made["member_count"] == 0
    assert made["include_text"] is None
    assert made["created_by"].startswith("token:")
    assert client.get(f"{GROUPS}/{made['id']}").json() == made

    patched = client.patch(f"{GROUPS}/{made['id']}", json={"name": "VVIP", "tags": ["gold"]})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["tags"]) == ("VVIP", ["gold"])
    assert patched.json()["description"] == "Our best"

    duplicate = client.post(GROUPS, json={"name": "VVIP"})
    assert duplicate.status_code == 409
    assert duplicate.json()["field"] == "name"

    assert client.delete(f"{GROUPS}/{made['id']}").status_code == 204
    gone = client.get(f"{GROUPS}/{made['id']}")
    assert gone.status_code == 404
    assert gone.headers["content-type"] == PROBLEM


def test_rule_group_reads_back_its_rule_as_text(client: TestClient, plan: None) -> None:
    ann = _person(client, "Ann", attributes={"plan": "pro"})
    made = _group(
        client,
        "Pro",
        selection="rule",
        include={"field": "attributes.plan", "op": "eq", "value": "pro"},
        exclude="phone pr",
        excluded_user_ids=[],
    )
    assert made["behaviour"] == "dynamic"
    assert made["include_text"] == 'attributes.plan eq "pro"'
    assert made["exclude_text"] == "phone pr"
    assert made["member_count"] == 1
    assert made["evaluated_at"] is not None
    patched = client.patch(f"{GROUPS}/{made['id']}", json={"excluded_user_ids": [ann]}).json()
    assert patched["excluded_user_ids"] == [ann]
    assert patched["member_count"] == 0


def test_manual_members_add_remove_in_bulk_with_counts(client: TestClient) -> None:
    group = _group(client, "Team")
    ann, bob, cid = (_person(client, n) for n in ("Ann", "Bob", "Cid"))
    members = f"{GROUPS}/{group['id']}/members"

    added = _post(client, members, 200, user_ids=[ann, bob, cid, ann])
    assert added == {"changed": 3, "unchanged": 0, "member_count": 3}
    again = _post(client, members, 200, user_ids=[ann])
    assert again == {"changed": 0, "unchanged": 1, "member_count": 3}

    removed = _post(client, f"{members}/remove", 200, user_ids=[ann, bob])
    assert removed == {"changed": 2, "unchanged": 0, "member_count": 1}
    assert _names(client.get(members)) == ["Cid"]

    assert client.delete(f"{members}/{cid}").status_code == 204
    missing = client.delete(f"{members}/{cid}")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert client.get(f"{GROUPS}/{group['id']}").json()["member_count"] == 0

    bad = client.post(members, json={"user_ids": [ann, "nope"]})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "user_ids[1]"
    assert client.get(f"{GROUPS}/{group['id']}").json()["member_count"] == 0


def test_dynamic_group_refuses_manual_edits(client: TestClient) -> None:
    group = _group(client, "Everyone", selection="rule", include="full_name pr")
    person = _person(client, "Ann")
    members = f"{GROUPS}/{group['id']}/members"
    for response in (
        client.post(members, json={"user_ids": [person]}),
        client.post(f"{members}/remove", json={"user_ids": [person]}),
        client.delete(f"{members}/{person}"),
    ):
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == PROBLEM
        assert "Everyone is a dynamic group" in response.json()["detail"]
    assert client.get(f"{GROUPS}/{group['id']}").json()["member_count"] == 1


def test_preview_counts_and_what_would_change(client: TestClient, plan: None) -> None:
    ann = _person(client, "Ann", attributes={"plan": "pro"})
    bob = _person(client, "Bob", attributes={"plan": "free"})
    _person(client, "Cid", attributes={"plan": "pro"})
    group = _group(client, "Team")
    _post(client, f"{GROUPS}/{group['id']}/members", 200, user_ids=[ann, bob])

    alone = _post(client, f"{GROUPS}/preview", 200, include='attributes.plan eq "pro"')
    assert alone["count"] == 2
    assert [u["full_name"] for u in alone["sample"]] == ["Ann", "Cid"]
    assert (alone["would_add"], alone["would_remove"]) == (None, None)

    against = _post(
        client,
        f"{GROUPS}/preview",
        200,
        include='attributes.plan eq "pro"',
        group_id=group["id"],
    )
    assert (against["count"], against["would_add"], against["would_remove"]) == (2, 1, 1)
    assert [u["full_name"] for u in against["add_sample"]] == ["Cid"]
    assert [u["full_name"] for u in against["remove_sample"]] == ["Bob"]
    assert client.get(f"{GROUPS}/{group['id']}").json()["member_count"] == 2  # nothing saved

    narrowed = _post(
        client,
        f"{GROUPS}/preview",
        200,
        include='attributes.plan eq "pro"',
        excluded_user_ids=[ann],
        sample_size=0,
    )
    assert (narrowed["count"], narrowed["sample"]) == (1, [])


def test_bad_rule_is_400_naming_the_clause(client: TestClient) -> None:
    rule = {
        "all": [
            {"field": "full_name", "op": "is_set"},
            {"field": "full_name", "op": "explode", "value": 1},
        ]
    }
    for path, body in (
        (f"{GROUPS}/preview", {"include": rule}),
        (GROUPS, {"name": "Bad", "selection": "rule", "include": rule}),
    ):
        response = client.post(path, json=body)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["errors"][0]["field"] == "include.all[1].op"
    unknown = client.post(f"{GROUPS}/preview", json={"include": "x", "exclude": "shoe gt 4"})
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"].startswith("include")
    assert client.get(GROUPS).json()["total"] == 0


def test_explain_a_member(client: TestClient, plan: None) -> None:
    ann = _person(client, "Ann", attributes={"plan": "pro"}, phone="+14155552671")
    bob = _person(client, "Bob", attributes={"plan": "pro"})
    group = _group(
        client, "Pro", selection="rule", include='attributes.plan eq "pro"', exclude="phone pr"
    )
    why = client.get(f"{GROUPS}/{group['id']}/explain/{ann}")
    assert why.status_code == 200, why.text
    body = why.json()
    assert (body["member"], body["is_member"], body["excluded_by_name"]) == (False, False, False)
    assert body["include"]["matched"] is True
    assert body["include"]["actual"] == "pro"
    assert body["exclude"]["matched"] is True
    assert body["exclude"]["path"] == "exclude"
    included = client.get(f"{GROUPS}/{group['id']}/explain/{bob}").json()
    assert (included["member"], included["is_member"]) == (True, True)

    manual = _group(client, "Team")
    refused = client.get(f"{GROUPS}/{manual['id']}/explain/{ann}")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "group_id"


def test_evaluate_refreshes_a_static_snapshot(client: TestClient) -> None:
    _person(client, "Ann")
    group = _group(client, "Snapshot", selection="rule", behaviour="static", include="full_name pr")
    assert group["member_count"] == 1
    _person(client, "Bob")
    members = f"{GROUPS}/{group['id']}/members"
    assert _names(client.get(members)) == ["Ann"]
    result = _post(client, f"{GROUPS}/{group['id']}/evaluate", 200)
    assert (result["added"], result["removed"], result["member_count"]) == (1, 0, 2)
    assert _names(client.get(members)) == ["Ann", "Bob"]
    manual = _group(client, "Team")
    assert client.post(f"{GROUPS}/{manual['id']}/evaluate").status_code == 400


def test_members_filter_sort_pages_and_export(client: TestClient, plan: None) -> None:
    group = _group(client, "Team")
    people = [
        _person(client, f"User {i:02d}", attributes={"plan": "pro" if i % 2 else "free"})
        for i in range(12)
    ]
    _person(client, "User 99", attributes={"plan": "pro"})  # not a member
    _post(client, f"{GROUPS}/{group['id']}/members", 200, user_ids=people[:10])
    members = f"{GROUPS}/{group['id']}/members"
    params = {"filter": 'attributes.plan eq "pro"', "sort": "full_name", "order": "desc", "size": 2}

    first = client.get(members, params=params).json()
    assert first["total"] == 5
    seen = [u["full_name"] for u in first["items"]]
    cursor = first["cursors"]["next"]
    while cursor:
        page = client.get(members, params={**params, "cursor": cursor, "total": False}).json()
        assert page["total"] is None
        seen += [u["full_name"] for u in page["items"]]
        cursor = page["cursors"]["next"]
    assert seen == ["User 09", "User 07", "User 05", "User 03", "User 01"]

    tree = json.dumps({"field": "attributes.plan", "op": "eq", "value": "pro"})
    assert _names(client.get(members, params={**params, "filter": tree})) == seen[:2]

    export = client.get(f"{members}/export.csv", params={k: params[k] for k in ("filter", "order")})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["full_name"] for r in rows] == ["User 09", "User 07", "User 05", "User 03", "User 01"]
    bad = client.get(f"{members}/export.csv", params={"sort": "password_hash"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == PROBLEM


def test_member_of_in_the_users_filter(client: TestClient) -> None:
    group = _group(client, "Team")
    ann = _person(client, "Ann")
    _person(client, "Bob")
    _post(client, f"{GROUPS}/{group['id']}/members", 200, user_ids=[ann])
    params = {"filter": f'member_of eq "{group["id"]}"'}
    assert _names(client.get("/api/v1/users", params=params)) == ["Ann"]
    negated = {"filter": f'not (member_of eq "{group["id"]}")'}
    assert _names(client.get("/api/v1/users", params=negated)) == ["Bob"]
    export = client.get("/api/v1/users/export.csv", params=params)
    assert [r["full_name"] for r in csv.DictReader(io.StringIO(export.text))] == ["Ann"]


def test_cycle_is_refused_naming_it(client: TestClient) -> None:
    a = _group(client, "A", selection="rule", include="full_name pr")
    b = _group(client, "B", selection="rule", include=f'member_of eq "{a["id"]}"')
    response = client.patch(f"{GROUPS}/{a['id']}", json={"include": f'member_of eq "{b["id"]}"'})
    assert response.status_code == 400
    assert "cycle: A → B → A" in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "include"
    assert client.get(f"{GROUPS}/{a['id']}").json()["include_text"] == "full_name pr"


def test_delete_is_refused_while_a_rule_names_the_group(client: TestClient) -> None:
    a = _group(client, "A")
    reader = _group(client, "Reader", selection="rule", include=f'member_of eq "{a["id"]}"')
    response = client.delete(f"{GROUPS}/{a['id']}")
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert "Reader" in response.json()["detail"]
    assert response.json()["referenced_by"] == [{"id": reader["id"], "name": "Reader"}]
    assert client.delete(f"{GROUPS}/{reader['id']}").status_code == 204
    assert client.delete(f"{GROUPS}/{a['id']}").status_code == 204


def test_another_workspace_sees_nothing(api: Api) -> None:
    admin = api.as_role(Role.ADMIN)
    group = _group(admin, "Ours", selection="rule", include="full_name pr")
    person = _person(admin, "Ann")
    other = workspaces.create(api.session, slug="rival", name="Rival")
    outsider = api.as_role(Role.ADMIN, workspace_id=other.id)
    path = f"{GROUPS}/{group['id']}"
    for response in (
        outsider.get(path),
        outsider.patch(path, json={"name": "Theirs"}),
        outsider.delete(path),
        outsider.get(f"{path}/members"),
        outsider.get(f"{path}/members/export.csv"),
        outsider.post(f"{path}/evaluate"),
        outsider.get(f"{path}/explain/{person}"),
        outsider.post(
            f"{GROUPS}/preview", json={"include": "full_name pr", "group_id": group["id"]}
        ),
    ):
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == PROBLEM
    assert outsider.get(GROUPS).json()["total"] == 0
    assert outsider.get(f"/api/v1/users/{person}/groups").status_code == 404
    assert admin.get(path).json()["name"] == "Ours"


def test_roles(api: Api) -> None:
    admin = api.as_role(Role.ADMIN)
    group = _group(admin, "Team")
    person = _person(admin, "Ann")
    _post(admin, f"{GROUPS}/{group['id']}/members", 200, user_ids=[person])
    path = f"{GROUPS}/{group['id']}"

    reader = api.as_role(Role.READ_ONLY)
    for url in (GROUPS, f"{GROUPS}/export.csv", path, f"{path}/members"):
        assert reader.get(url).status_code == 200, url
    assert reader.post(f"{GROUPS}/preview", json={"include": "full_name pr"}).status_code == 200
    for response in (
        reader.post(GROUPS, json={"name": "No"}),
        reader.patch(path, json={"name": "No"}),
        reader.delete(path),
        reader.post(f"{path}/members", json={"user_ids": [person]}),
        reader.post(f"{path}/members/remove", json={"user_ids": [person]}),
        reader.delete(f"{path}/members/{person}"),
        reader.post(f"{path}/evaluate"),
    ):
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == PROBLEM
    assert admin.get(path).json()["member_count"] == 1

    identified = api.as_role(Role.IDENTIFIED_ONLY)
    for response in (
        identified.get(GROUPS),
        identified.get(path),
        identified.get(f"{path}/members"),
    ):
        assert response.status_code == 403
    assert identified.get(f"/api/v1/users/{person}/groups").status_code == 404


def test_a_persons_groups(client: TestClient) -> None:
    ann = _person(client, "Ann")
    team = _group(client, "Team")
    everyone = _group(client, "Everyone", selection="rule", include="full_name pr")
    _group(client, "Empty")
    _post(
        client,
        f"{GROUPS}/{team['id']}/members",
        200,
        user_ids=[ann],
        expires_at="2999-01-01T00:00:00Z",
    )
    response = client.get(f"/api/v1/users/{ann}/groups")
    assert response.status_code == 200, response.text
    found = {g["group_name"]: g for g in response.json()}
    assert list(found) == ["Everyone", "Team"]
    assert found["Team"]["group_id"] == team["id"]
    assert (found["Team"]["source"], found["Team"]["selection"]) == ("manual", "manual")
    assert found["Team"]["expires_at"].startswith("2999-01-01")
    assert found["Team"]["added_by"].startswith("token:")
    assert (found["Everyone"]["source"], found["Everyone"]["behaviour"]) == ("rule", "dynamic")
    assert found["Everyone"]["group_id"] == everyone["id"]


def test_dashboard_filters_sorts_pages_and_exports(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("coterie.api.groups.MAX_PAGE_SIZE", 2)  # the export walks 4 pages
    for i in range(5):
        _group(client, f"Team {i}", tags=["sales"] if i % 2 else ["ops"])
    _group(client, "=HYPERLINK(1)", status="inactive", description="+danger")
    _group(client, "Rule", selection="rule", behaviour="static", include="full_name pr")

    by_name = {"sort": "name", "order": "asc", "size": 2}
    first = client.get(GROUPS, params=by_name).json()
    assert first["total"] == 7
    names = [g["name"] for g in first["items"]]
    cursor = first["cursors"]["next"]
    while cursor:
        page = client.get(GROUPS, params={**by_name, "cursor": cursor}).json()
        names += [g["name"] for g in page["items"]]
        cursor = page["cursors"]["next"]
    assert names == sorted(names)
    assert len(names) == 7

    def listed(**params: Any) -> list[str]:
        response = client.get(GROUPS, params={"sort": "name", "order": "asc", **params})
        assert response.status_code == 200, response.text
        return [g["name"] for g in response.json()["items"]]

    assert listed(tag="sales") == ["Team 1", "Team 3"]
    assert listed(q="team 4") == ["Team 4"]
    assert listed(status="inactive") == ["=HYPERLINK(1)"]
    assert listed(kind="static") == ["Rule"]
    assert len(listed(kind="manual")) == 6
    assert client.get(GROUPS, params={"sort": "shoe"}).json()["errors"][0]["field"] == "sort"

    export = client.get(f"{GROUPS}/export.csv", params={"sort": "name", "order": "asc"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["name"] for r in rows] == ["'=HYPERLINK(1)", "Rule", *(f"Team {i}" for i in range(5))]
    assert (rows[0]["description"], rows[0]["status"], rows[0]["kind"]) == (
        "'+danger",
        "inactive",
        "manual",
    )
    assert (rows[1]["kind"], rows[2]["tags"]) == ("static", "ops")
    assert set(rows[0]) == {
        "id",
        "name",
        "members",
        "status",
        "kind",
        "tags",
        "created_at",
        "created_by",
        "description",
    }
    tagged = client.get(f"{GROUPS}/export.csv", params={"tag": "sales", "sort": "name"})
    assert [r["name"] for r in csv.DictReader(io.StringIO(tagged.text))] == ["Team 3", "Team 1"]
    bad = client.get(f"{GROUPS}/export.csv", params={"sort": "shoe"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == PROBLEM


def test_nul_in_a_search_is_bad_input(client: TestClient) -> None:
    for params in ({"q": "a\x00b"}, {"tag": "\x00"}):
        response = client.get(GROUPS, params=params)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
