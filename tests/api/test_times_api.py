"""Every time a client gives is zoned and storable: otherwise a 422 naming the field, and no change.

A time without a zone reached the database layer (which refuses naive datetimes: a 500), and one
whose UTC falls outside years 1-9999 overflowed while being stored (a 500 on PostgreSQL).
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"
NO_ZONE = "2030-01-01T00:00:00"
BEFORE_YEAR_1 = "0001-01-01T00:00:00+05:00"
AFTER_YEAR_9999 = "9999-12-31T23:59:59-05:00"


def _made(client: TestClient, path: str, body: dict[str, Any]) -> str:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _targets(client: TestClient) -> dict[str, str]:
    email = f"t.{secrets.token_hex(3)}@example.com"
    person = _made(client, "/api/v1/users", {"full_name": "Tim", "email": email})
    group = _made(client, "/api/v1/groups", {"name": f"Times {secrets.token_hex(3)}"})
    return {"person": person, "group": group}


# (method, path, the time field, where to read back what must not change)
CALLS = [
    ("patch", "/api/v1/users/{person}", "last_activity_at", "/api/v1/users/{person}"),
    ("post", "/api/v1/users/{person}/timeline", "occurred_at", "/api/v1/users/{person}/timeline"),
    ("post", "/api/v1/groups/{group}/members", "expires_at", "/api/v1/groups/{group}/members"),
    ("put", "/api/v1/groups/{group}/member-settings", "starts_at", "/api/v1/member-groups"),
    ("post", "/api/v1/users/{person}/member-tokens", "expires_at", None),
    ("post", "/api/v1/campaigns", "starts_at", "/api/v1/campaigns"),
]
EXTRA: dict[str, dict[str, Any]] = {
    "/api/v1/users/{person}/timeline": {"kind": "note", "body": "x"},
    "/api/v1/groups/{group}/members": {"user_ids": ["{person}"]},
    "/api/v1/campaigns": {"name": "C", "kind": "sms", "include_group_ids": ["{group}"]},
}


@pytest.mark.parametrize("moment", [NO_ZONE, BEFORE_YEAR_1, AFTER_YEAR_9999])
@pytest.mark.parametrize(
    ("method", "path", "field", "read"), CALLS, ids=[f"{c[1]}:{c[2]}" for c in CALLS]
)
def test_unzoned_or_unstorable_times_are_refused_naming_the_field(
    client: TestClient, method: str, path: str, field: str, read: str | None, moment: str
) -> None:
    ids = _targets(client)
    extra = {
        k: [v.format(**ids) for v in value] if isinstance(value, list) else value
        for k, value in EXTRA.get(path, {}).items()
    }
    before = client.get(read.format(**ids)).json() if read else None
    response = client.request(method.upper(), path.format(**ids), json={**extra, field: moment})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]
    if read:
        assert client.get(read.format(**ids)).json() == before


def test_a_zoned_time_is_kept_as_the_same_instant_in_utc(client: TestClient) -> None:
    ids = _targets(client)
    answer = client.patch(
        f"/api/v1/users/{ids['person']}", json={"last_activity_at": "2030-01-01T05:00:00+05:00"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["last_activity_at"] in (
        "2030-01-01T00:00:00Z",
        "2030-01-01T00:00:00+00:00",
    )
