"""The hot reads on PostgreSQL run on asyncio connections (`scim.connections`): the event loop
serves other requests while one waits for PostgreSQL, a process opens at most
`connections.SIZE` of them, and the answer is the synchronous path's."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, select
from starlette.requests import Request
from starlette.types import ASGIApp

from coterie import actor as actors
from coterie import db, ids
from coterie.access import provisioning
from coterie.access import scim as scim_tokens
from coterie.app import create_app
from coterie.directory.models import User
from coterie.directory.schemas import UserCreate
from coterie.groups import people
from coterie.scim import connections, reads
from coterie.workspaces import service as workspaces

# Asyncio connections serve the hot reads on PostgreSQL only (SQLite's are tested by tests/scim).
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@dataclass
class Served:
    """The application as a server process runs it (no tests' session), on PostgreSQL."""

    app: ASGIApp
    secret: str
    person_id: str
    engine: Engine

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
    return Served(create_app(), secret, ids.encode(person.id), db.get_engine())


def test_the_loop_serves_others_while_a_hot_read_waits(served: Served) -> None:
    async def scenario() -> None:
        served.locked(1.0)
        read = asyncio.create_task(served.get(f"/Users/{served.person_id}"))
        await asyncio.sleep(0.3)  # a loop blocked by the read would only get here after it
        assert not read.done()
        status, body = await read
        assert (status, body["userName"]) == (200, "ann")

    asyncio.run(scenario())


def test_the_loop_serves_others_while_a_create_reads_its_token(served: Served) -> None:
    """`POST /Users` reads its token as the hot reads do, before its transaction begins."""
    user = "urn:ietf:params:scim:schemas:core:2.0:User"

    async def scenario() -> None:
        served.locked(1.0)
        made = asyncio.create_task(served.call("POST", "/Users", body={"userName": "bo"}))
        await asyncio.sleep(0.3)  # a loop blocked by the create would only get here after it
        assert not made.done()
        status, body = await made
        assert (status, body["userName"]) == (201, "bo")
        served.secret = "scim_unknown"
        refused = await served.call("POST", "/Users", body={"schemas": [user], "userName": "cy"})
        assert refused[0] == 401
        served.secret = "no scim token"
        assert (await served.call("POST", "/Users", body={"userName": "cy"}))[0] == 401

    asyncio.run(scenario())
    with db.get_sessionmaker()() as session:
        named = select(User.full_name).where(User.full_name.in_(["bo", "cy"]))
        assert list(session.scalars(named)) == ["bo"]


def test_an_asynchronous_read_answers_as_the_synchronous_one(served: Served) -> None:
    query = b"filter=" + b'userName eq "Ann"'
    scopes = [served.scope(f"/Users/{served.person_id}"), served.scope("/Users", query)]

    async def both(scope: dict[str, Any]) -> tuple[bytes, bytes]:
        read = reads.hot_read(scope)
        assert read is not None
        asynchronous = await reads.serve_async(Request(scope), read)
        return bytes(asynchronous.body), bytes(reads.serve(Request(scope), read).body)

    for scope in scopes:
        scope["root_path"] = "/scim/v2"
        asynchronous, synchronous = asyncio.run(both(scope))
        assert asynchronous == synchronous
        assert "ann@example.com" in asynchronous.decode()  # the person, found


def test_a_process_opens_at_most_a_few_connections_and_reuses_them(served: Served) -> None:
    async def scenario() -> None:
        served.locked(0.5)
        many = [served.get(f"/Users/{served.person_id}") for _ in range(3 * connections.SIZE)]
        answers = await asyncio.gather(*many)  # the rest wait on the loop for a connection
        assert {status for status, _ in answers} == {200}
        assert connections.of(served.engine).opened == connections.SIZE
        for _ in range(10):
            await served.get(f"/Users/{served.person_id}")
        assert connections.of(served.engine).opened == connections.SIZE

    asyncio.run(scenario())


def test_a_cancelled_read_leaves_its_connection_usable_or_closed(served: Served) -> None:
    async def scenario() -> None:
        served.locked(2.0)
        read = asyncio.create_task(served.get(f"/Users/{served.person_id}"))
        await asyncio.sleep(0.2)
        read.cancel()  # as when the client goes away
        with pytest.raises(asyncio.CancelledError):
            await read
        status, _ = await served.get(f"/Users/{served.person_id}")
        assert status == 200
        assert connections.of(served.engine).opened <= 1

    asyncio.run(scenario())


def test_disposing_of_the_engine_closes_its_connections(served: Served) -> None:
    async def scenario() -> list[Any]:
        await served.get(f"/Users/{served.person_id}")
        pool = connections.of(served.engine)
        return list(pool._open)  # what the disposal must close

    opened = asyncio.run(scenario())
    assert opened
    served.engine.dispose()
    assert all(c.closed for c in opened)
