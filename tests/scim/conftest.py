"""A SCIM client on the test's transaction, with a SCIM token of the test's workspace."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.routing import Mount
from starlette.types import ASGIApp

from coterie import actor as actors
from coterie import db, ids, settings
from coterie.access import provisioning
from coterie.access import scim as scim_tokens
from coterie.actor import Actor
from coterie.app import create_app
from coterie.directory.schemas import UserCreate
from coterie.groups import people
from coterie.scim import protocol
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace
from tests.conftest import request_sessions

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
    mounted.app.dependency_overrides[protocol.db_session] = request_sessions(session)  # type: ignore[attr-defined]
    _, secret = scim_tokens.create(session, actor=admin, name="okta")
    session.commit()
    return Scim(TestClient(app), secret)


@pytest.fixture
def scim(
    session: Session, admin: Actor, workspace: Workspace, isolated_settings: settings.Settings
) -> Scim:
    return scim_client(session, admin)


@dataclass
class Served:
    """The application as a server process runs it (no tests' session), with a workspace, its
    SCIM token and one person in it (`ann`)."""

    app: ASGIApp
    secret: str
    person_id: str
    engine: Engine
    workspace_id: int
    headers: dict[str, str] = field(default_factory=dict)  # of the last response (`call`)

    def scope(self, path: str, query: bytes = b"", method: str = "GET") -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query,
            "headers": [
                (b"host", b"scim.example"),
                (b"authorization", f"Bearer {self.secret}".encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("scim.example", 80),
            "state": {},
        }

    def request(self, method: str, path: str, body: Any) -> Request:
        """A request under `/scim/v2` as the application receives it."""
        content = json.dumps(body).encode()

        async def receive() -> Any:
            return {"type": "http.request", "body": content, "more_body": False}

        return Request(self.scope("/scim/v2" + path, method=method), receive)

    async def get(self, path: str, query: bytes = b"") -> tuple[int, Any]:
        """The status and JSON body of a GET under `/scim/v2`, through the whole application."""
        return await self.call("GET", path, query)

    async def call(
        self, method: str, path: str, query: bytes = b"", body: Any = None
    ) -> tuple[int, Any]:
        """The status and JSON body of a request under `/scim/v2`."""
        sent: list[Any] = []
        content = b"" if body is None else json.dumps(body).encode()

        async def receive() -> Any:
            return {"type": "http.request", "body": content, "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        await self.app(self.scope("/scim/v2" + path, query, method), receive, send)
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        self.headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
        return sent[0]["status"], json.loads(body)

    def locked(self, seconds: float) -> None:
        """Hold every read of SCIM tokens back for `seconds`, from another connection (released
        by a timer thread, so that a blocked event loop cannot keep it)."""
        locker = self.engine.connect()
        locker.exec_driver_sql("LOCK TABLE scim_tokens IN ACCESS EXCLUSIVE MODE")

        def release() -> None:
            locker.rollback()
            locker.close()

        threading.Timer(seconds, release).start()


@pytest.fixture
def served(process_database: str) -> Served:
    with db.get_sessionmaker()() as session:
        workspace = workspaces.create(session, slug=f"a-{secrets.token_hex(3)}", name="Async")
        admin = actors.system(workspace.id)
        _, secret = scim_tokens.create(session, actor=admin, name="async")
        data = UserCreate(full_name="Ann Lee", email="ann@example.com", source="scim")
        person = people.create(session, actor=admin, data=data)
        doc = {"userName": "ann", "emails": [{"value": "ann@example.com"}]}
        provisioning.save_user(
            session, workspace_id=workspace.id, user_id=person.id, user_name="ann", document=doc
        )
        session.commit()
    return Served(create_app(), secret, ids.encode(person.id), db.get_engine(), workspace.id)
