"""The hot reads on PostgreSQL run on asyncio connections (`scim.connections`): the event loop
serves other requests while one waits for PostgreSQL, a process opens at most
`connections.SIZE` of them, and the answer is the synchronous path's."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import select
from starlette.requests import Request

from coterie import db
from coterie.directory.models import User
from coterie.scim import connections, reads
from tests.scim.conftest import Served

# Asyncio connections serve the hot reads on PostgreSQL only (SQLite's are tested by tests/scim).
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


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


def test_the_servers_shutdown_ends_its_connections_on_postgresql(served: Served) -> None:
    """The application's lifespan: at shutdown the asyncio connections are closed, and their
    backends end on the server."""
    sent: list[str] = []

    async def scenario() -> list[int]:
        incoming: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        answered = asyncio.Event()

        async def send(message: Any) -> None:
            sent.append(message["type"])
            answered.set()

        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        life = asyncio.create_task(served.app(scope, incoming.get, send))
        await incoming.put({"type": "lifespan.startup"})
        await answered.wait()
        assert (await served.get(f"/Users/{served.person_id}"))[0] == 200
        pool = connections.of(served.engine)
        backends = [c.info.backend_pid for c in pool._open]
        assert backends
        await incoming.put({"type": "lifespan.shutdown"})
        await life
        assert pool.opened == 0
        return backends

    backends = asyncio.run(scenario())
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    with served.engine.connect() as conn:
        for _ in range(50):  # a backend ends as soon as it reads the goodbye
            alive = conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE pid = ANY(%(pids)s)", {"pids": backends}
            ).all()
            if not alive:
                break
            conn.rollback()  # pg_stat_activity is read once per transaction: look again
            time.sleep(0.05)
    assert alive == []
