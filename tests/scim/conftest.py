"""A SCIM client on the test's transaction, with a SCIM token of the test's workspace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.routing import Mount

from coterie import settings
from coterie.access import scim as scim_tokens
from coterie.actor import Actor
from coterie.app import create_app
from coterie.scim import protocol
from coterie.workspaces.models import Workspace

SCIM_JSON = "application/scim+json"


class Scim:
    """`TestClient` calls under `/scim/v2`, authenticated by a workspace's SCIM token."""

    def __init__(self, client: TestClient, secret: str) -> None:
        self.client, self.secret = client, secret
        self.client.headers["Authorization"] = f"Bearer {secret}"

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, "/scim/v2" + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.request("POST", path, json=body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.request("PUT", path, json=body, **kwargs)

    def patch(self, path: str, *operations: dict[str, Any], **kwargs: Any) -> Any:
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}
        return self.request("PATCH", path, json={**body, "Operations": list(operations)}, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def user(self, user_name: str, **attributes: Any) -> dict[str, Any]:
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name}
        response = self.post("/Users", {**body, **attributes})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


def scim_client(session: Session, admin: Actor) -> Scim:
    app = create_app()
    mounted = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/scim/v2")

    def request_session() -> Iterator[Session]:
        try:
            yield session
        finally:  # what the request did not commit, as a real request (a failed one too)
            session.rollback()

    mounted.app.dependency_overrides[protocol.db_session] = request_session  # type: ignore[attr-defined]
    _, secret = scim_tokens.create(session, actor=admin, name="okta")
    session.commit()
    return Scim(TestClient(app), secret)


@pytest.fixture
def scim(
    session: Session, admin: Actor, workspace: Workspace, isolated_settings: settings.Settings
) -> Scim:
    return scim_client(session, admin)
