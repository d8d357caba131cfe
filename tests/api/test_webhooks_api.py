"""`/api/v1/webhooks` and `/api/v1/scim-tokens`: admins only; another workspace's are 404."""

from __future__ import annotations

import secrets

from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from coterie.actor import Role
from coterie.events import delivery
from coterie.workspaces import service as workspaces
from tests.conftest import Api
from tests.receivers import Receiver


def test_endpoints_crud_and_delivery_log(client: TestClient) -> None:
    made = client.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.com/x", "event_types": ["person.created"]},
    )
    assert made.status_code == 201, made.text
    endpoint = made.json()
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["active"] is True
    path = f"/api/v1/webhooks/{endpoint['id']}"
    changed = client.patch(path, json={"active": False, "event_types": []})
    assert (changed.json()["active"], changed.json()["event_types"]) == (False, [])
    assert client.get(f"{path}/deliveries").json() == []
    assert [e["id"] for e in client.get("/api/v1/webhooks").json()] == [endpoint["id"]]
    assert client.delete(path).status_code == 204
    assert client.get(path).status_code == 404


def test_the_delivery_log_and_a_redelivery_give_each_event_its_subject(
    client: TestClient, connection: Connection, receiver: Receiver
) -> None:
    def deliver() -> None:  # what the worker does, in the test's transaction
        delivery.deliver_due(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )

    endpoint = client.post("/api/v1/webhooks", json={"url": receiver.url}).json()
    made = client.post("/api/v1/users", json={"full_name": "Ann Lee", "email": "ann@example.com"})
    assert made.status_code == 201, made.text
    deliver()
    path = f"/api/v1/webhooks/{endpoint['id']}/deliveries"
    (logged,) = client.get(path).json()
    assert (logged["event_type"], logged["subject"]) == ("person.created", "Ann Lee")
    assert (logged["status"], logged["response_status"]) == ("delivered", 200)
    again = client.post(f"{path}/{logged['id']}/redeliver")
    assert again.status_code == 201, again.text
    assert (again.json()["subject"], again.json()["status"]) == ("Ann Lee", "pending")
    deliver()
    assert [d["status"] for d in client.get(path).json()] == ["delivered", "delivered"]
    first, second = receiver.received
    assert first.body == second.body


def test_bad_endpoints_are_refused_naming_the_field(client: TestClient) -> None:
    for body, field in (
        ({"url": "ftp://x"}, "url"),
        ({"url": "https://x", "event_types": ["nope"]}, "event_types.0"),
        ({"url": "https://x", "secret": "plain"}, "secret"),
    ):
        answer = client.post("/api/v1/webhooks", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["errors"][0]["field"] == field


def test_only_admins_manage_webhooks_and_scim_tokens(api: Api) -> None:
    standard = api.as_role(Role.STANDARD)
    assert standard.get("/api/v1/webhooks").status_code == 403
    assert standard.post("/api/v1/webhooks", json={"url": "https://x"}).status_code == 403
    assert standard.post("/api/v1/scim-tokens", json={"name": "Okta"}).status_code == 403


def test_scim_tokens_and_workspace_boundary(api: Api, session: Session) -> None:
    admin = api.as_role(Role.ADMIN)
    made = admin.post("/api/v1/scim-tokens", json={"name": "Okta"})
    assert made.status_code == 201
    assert made.json()["secret"].startswith("scim_")
    hook = admin.post("/api/v1/webhooks", json={"url": "https://hooks.example.com"}).json()
    other = workspaces.create(session, slug=f"o-{secrets.token_hex(3)}", name="Other")
    theirs = api.as_role(Role.ADMIN, workspace_id=other.id)
    assert theirs.get(f"/api/v1/webhooks/{hook['id']}").status_code == 404
    assert theirs.delete(f"/api/v1/scim-tokens/{made.json()['id']}").status_code == 404
    assert admin.delete(f"/api/v1/scim-tokens/{made.json()['id']}").status_code == 204
    listed = admin.get("/api/v1/scim-tokens").json()
    assert listed[0]["revoked_at"] is not None
