"""The member app API (member tokens) and the admin API of member groups, codes and campaigns."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from coterie.actor import Role
from coterie.engagement import codes
from coterie.engagement.throttle import GuessLimiter
from coterie.errors import RateLimited
from coterie.workspaces import service as workspaces
from tests.conftest import Api

PROBLEM = "application/problem+json"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _person(client: TestClient, name: str, **fields: Any) -> str:
    email = f"{name.lower().replace(' ', '.')}.{secrets.token_hex(2)}@example.com"
    return str(
        _ok(client.post("/api/v1/users", json={"full_name": name, "email": email, **fields}), 201)[
            "id"
        ]
    )


def _group(client: TestClient, name: str, **settings: Any) -> str:
    group_id = str(_ok(client.post("/api/v1/groups", json={"name": name}), 201)["id"])
    if settings:
        _ok(client.put(f"/api/v1/groups/{group_id}/member-settings", json=settings))
    return group_id


def _member(api: Api, client: TestClient, person: str) -> TestClient:
    token = _ok(client.post(f"/api/v1/users/{person}/member-tokens", json={}), 201)["token"]
    member = TestClient(api.client.app)
    member.headers["Authorization"] = f"Bearer {token}"
    return member


def _code_campaign(client: TestClient, target: str, audience: str, **fields: Any) -> str:
    now = datetime.now(UTC)
    body = {
        "name": "Spring codes",
        "kind": "coupon",
        "include_group_ids": [audience],
        "join_group_id": target,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
        **fields,
    }
    campaign = str(_ok(client.post("/api/v1/campaigns", json=body), 201)["id"])
    _ok(client.post(f"/api/v1/campaigns/{campaign}/launch"))
    return campaign


def test_member_sees_joins_and_leaves_open_groups(api: Api, client: TestClient) -> None:
    runners = _group(
        client,
        "Runners",
        join_policy="open",
        user_viewable=True,
        app_description="5k on Sundays",
        display_order=2,
    )
    _group(client, "Bakers", join_policy="open", user_viewable=True, display_order=1)
    _group(client, "Hidden", join_policy="open", user_viewable=False)
    member = _member(api, client, _person(client, "Mia Member"))
    shown = _ok(member.get("/api/v1/me/groups"))["items"]
    assert [(g["name"], g["joined"]) for g in shown] == [("Bakers", False), ("Runners", False)]
    assert shown[1]["description"] == "5k on Sundays"
    joined = _ok(member.post(f"/api/v1/me/groups/{runners}/join"))
    assert joined["joined"] is True
    assert _ok(client.get(f"/api/v1/groups/{runners}"))["member_count"] == 1
    assert _ok(member.post(f"/api/v1/me/groups/{runners}/leave"))["joined"] is False


def test_member_routes_take_member_tokens_only(api: Api, client: TestClient) -> None:
    member = _member(api, client, _person(client, "Mo"))
    for caller in (client, TestClient(api.client.app)):
        response = caller.get("/api/v1/me/groups")
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
    assert member.get("/api/v1/users").status_code == 401
    assert (
        member.post("/api/v1/campaigns", json={"name": "x", "include_group_ids": []}).status_code
        == 401
    )


def test_revoked_member_token_and_deactivated_member_are_refused(
    api: Api, client: TestClient
) -> None:
    person = _person(client, "Rae")
    member = _member(api, client, person)
    assert member.get("/api/v1/me/groups").status_code == 200
    assert client.delete(f"/api/v1/users/{person}/member-tokens").status_code == 204
    assert member.get("/api/v1/me/groups").status_code == 401
    again = _member(api, client, person)
    _ok(client.patch(f"/api/v1/users/{person}", json={"status": "deactivated"}))
    assert again.get("/api/v1/me/groups").status_code == 401


def test_redeeming_codes_and_one_message_for_every_bad_code(api: Api, client: TestClient) -> None:
    insiders = _group(client, "Insiders", join_policy="code", user_viewable=True)
    everyone = _group(client, "Everyone")
    campaign = _code_campaign(client, insiders, everyone)
    issued = _ok(
        client.post(f"/api/v1/campaigns/{campaign}/codes", json={"kind": "single", "count": 2}), 201
    )["items"]
    good, revoked = issued[0]["code"], issued[1]["code"]
    _ok(client.post(f"/api/v1/campaigns/{campaign}/codes/{issued[1]['id']}/revoke"))
    person = _person(client, "Cody")
    member = _member(api, client, person)
    joined = _ok(member.post("/api/v1/me/codes", json={"code": good.lower()}))
    assert joined["group"]["name"] == "Insiders"
    assert joined["group"]["joined"] is True
    other = _member(api, client, _person(client, "Late"))
    details = set()
    for attempt in (good, revoked, "NOPE", "ABCD-EFGH-JKMN"):
        response = other.post("/api/v1/me/codes", json={"code": attempt})
        assert response.status_code == 400
        assert response.headers["content-type"] == PROBLEM
        details.add(response.json()["detail"])
        assert response.json()["errors"][0]["field"] == "code"
    assert details == {codes.REFUSED}
    listed = _ok(client.get(f"/api/v1/campaigns/{campaign}/codes"))["items"]
    used = next(c for c in listed if c["id"] == issued[0]["id"])
    assert used["uses"] == 1
    assert next(c for c in listed if c["id"] == issued[1]["id"])["revoked_at"] is not None
    uses = _ok(client.get(f"/api/v1/campaigns/{campaign}/codes/{used['id']}/uses"))["items"]
    assert [u["user_id"] for u in uses] == [person]


def test_code_guessing_is_rate_limited_per_member(api: Api, client: TestClient) -> None:
    member = _member(api, client, _person(client, "Guesser"))
    for _ in range(10):
        assert member.post("/api/v1/me/codes", json={"code": "WRONG"}).status_code == 400
    response = member.post("/api/v1/me/codes", json={"code": "WRONG"})
    assert response.status_code == 429
    assert response.headers["content-type"] == PROBLEM
    assert int(response.headers["Retry-After"]) >= 1
    # Another member (same address, under its limit of 30) is not held up by this one.
    fresh = _member(api, client, _person(client, "Other"))
    assert fresh.post("/api/v1/me/codes", json={"code": "WRONG"}).status_code == 400


@pytest.mark.parametrize("redis_url", [None, "redis://127.0.0.1:6379/0"])
def test_guess_limiter_per_member_and_per_address(redis_url: str | None) -> None:
    limiter = GuessLimiter(per_member=2, per_address=3, redis_url=redis_url)
    run = secrets.token_hex(4)
    address = f"10.0.0.{run}"
    for _ in range(2):
        limiter.check(f"a-{run}", address)
        limiter.failed(f"a-{run}", address)
    with pytest.raises(RateLimited) as caught:
        limiter.check(f"a-{run}", address)
    assert caught.value.retry_after >= 1
    limiter.check(f"b-{run}", address)
    limiter.failed(f"b-{run}", address)
    with pytest.raises(RateLimited):
        limiter.check(f"c-{run}", address)  # the address is used up, whoever asks
    limiter.check(f"c-{run}", f"other-{run}")


def test_campaign_audience_launch_recipients_and_csv(api: Api, client: TestClient) -> None:
    a, b, x = _group(client, "A"), _group(client, "B"), _group(client, "X")
    people = {name: _person(client, name) for name in ("Ann", "Bob", "Xavier", "Nobody")}
    people["Eve"] = _person(client, "=cmd|' /C calc'!A0")
    for group, names in ((a, ["Ann", "Xavier", "Eve"]), (b, ["Bob"]), (x, ["Xavier"])):
        _ok(
            client.post(
                f"/api/v1/groups/{group}/members", json={"user_ids": [people[n] for n in names]}
            )
        )
    preview = {"include_group_ids": [a, b], "exclude_group_ids": [x]}
    assert _ok(client.post("/api/v1/campaigns/audience", json=preview))["count"] == 3
    narrowed = {**preview, "rule": 'full_name sw "A"'}
    assert _ok(client.post("/api/v1/campaigns/audience", json=narrowed))["count"] == 1
    made = _ok(
        client.post("/api/v1/campaigns", json={"name": "Promo", "kind": "sms", **preview}), 201
    )
    assert made["status"] == "draft"
    launched = _ok(client.post(f"/api/v1/campaigns/{made['id']}/launch"))
    assert (launched["status"], launched["recipient_count"]) == ("active", 3)
    frozen = client.patch(f"/api/v1/campaigns/{made['id']}", json={"exclude_group_ids": []})
    assert frozen.status_code == 409
    # Deactivated later: still listed, marked.
    _ok(client.patch(f"/api/v1/users/{people['Bob']}", json={"status": "deactivated"}))
    first = _ok(client.get(f"/api/v1/campaigns/{made['id']}/recipients", params={"size": 2}))
    assert first["total"] == 3
    assert len(first["items"]) == 2
    rest = _ok(
        client.get(
            f"/api/v1/campaigns/{made['id']}/recipients", params={"size": 2, "after": first["next"]}
        )
    )
    assert rest["next"] is None
    everyone = {r["user_id"]: r for r in first["items"] + rest["items"]}
    assert set(everyone) == {people["Ann"], people["Bob"], people["Eve"]}
    assert everyone[people["Bob"]]["active"] is False
    exported = client.get(f"/api/v1/campaigns/{made['id']}/recipients.csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0][:2] == ["id", "full_name"]
    assert "'=cmd|' /C calc'!A0" in [r[1] for r in rows[1:]]


def test_deleting_a_group_a_campaign_targets_is_refused(client: TestClient) -> None:
    a, x = _group(client, "Audience"), _group(client, "Left out")
    _ok(
        client.post(
            "/api/v1/campaigns",
            json={"name": "Winter promo", "include_group_ids": [a], "exclude_group_ids": [x]},
        ),
        201,
    )
    for group in (a, x):
        response = client.delete(f"/api/v1/groups/{group}")
        assert response.status_code == 409
        assert "Winter promo" in response.json()["detail"]


def test_campaign_input_errors_name_the_field(client: TestClient) -> None:
    a = _group(client, "A")
    bad = client.post("/api/v1/campaigns", json={"name": "x", "include_group_ids": ["nope"]})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "include_group_ids[0]"
    both = client.post(
        "/api/v1/campaigns", json={"name": "x", "include_group_ids": [a], "exclude_group_ids": [a]}
    )
    assert both.json()["errors"][0]["field"] == "exclude_group_ids"
    rule = client.post(
        "/api/v1/campaigns/audience", json={"include_group_ids": [a], "rule": "nosuch eq 1"}
    )
    assert rule.status_code == 400
    assert rule.json()["errors"][0]["field"].startswith("rule")


def test_roles_and_workspaces(api: Api, client: TestClient) -> None:
    a = _group(client, "A")
    campaign = _ok(
        client.post("/api/v1/campaigns", json={"name": "C", "include_group_ids": [a]}), 201
    )["id"]
    reader = api.as_role(Role.READ_ONLY)
    assert reader.get(f"/api/v1/campaigns/{campaign}").status_code == 200
    assert (
        reader.post("/api/v1/campaigns/audience", json={"include_group_ids": [a]}).status_code
        == 200
    )
    assert reader.post(f"/api/v1/campaigns/{campaign}/launch").status_code == 403
    assert (
        reader.put(f"/api/v1/groups/{a}/member-settings", json={"join_policy": "open"}).status_code
        == 403
    )
    other = workspaces.create(api.session, slug=f"other-{secrets.token_hex(3)}", name="Other")
    api.session.commit()
    stranger = api.as_role(Role.ADMIN, workspace_id=other.id)
    assert stranger.get(f"/api/v1/campaigns/{campaign}").status_code == 404
    assert (
        stranger.put(
            f"/api/v1/groups/{a}/member-settings", json={"join_policy": "open"}
        ).status_code
        == 404
    )


def test_support_flow_sets_a_persons_member_groups(client: TestClient) -> None:
    open_group = _group(client, "Open", join_policy="open", user_viewable=True)
    hidden = _group(client, "Hidden", join_policy="closed", user_viewable=False)
    person = _person(client, "Sue")
    both = {"group_ids": [hidden, open_group]}
    assert set(_ok(client.put(f"/api/v1/users/{person}/member-groups", json=both))) == {
        open_group,
        hidden,
    }
    assert set(_ok(client.get(f"/api/v1/users/{person}/member-groups"))) == {open_group, hidden}
    assert _ok(
        client.put(f"/api/v1/users/{person}/member-groups", json={"group_ids": [open_group]})
    ) == [open_group]


def test_issued_codes_as_csv(client: TestClient) -> None:
    insiders = _group(client, "Insiders", join_policy="code")
    campaign = _code_campaign(client, insiders, _group(client, "All"))
    response = client.post(
        f"/api/v1/campaigns/{campaign}/codes.csv", json={"kind": "single", "count": 3}
    )
    assert response.status_code == 201
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["code", "kind", "max_uses", "id"]
    assert len(rows) == 4
    assert all(codes.normalize(r[0]) for r in rows[1:])
