"""More requests at once than a process has worker threads and pooled connections: each waits
for a connection on the event loop (`db.connection_slot`), so none waits for the pool in a
worker thread while the requests holding the connections wait for a thread, and all answer."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from sqlalchemy import Engine

from coterie import actor as actors
from coterie import db
from coterie.app import create_app
from coterie.engagement import member_tokens
from coterie.workspaces import service as workspaces
from tests.conftest import make_user

# Above the 40 worker threads FastAPI's sync dependencies and routes share.
REQUESTS = 120


@pytest.fixture
def small_pool(app_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The process's engine with two connections and a short wait for one."""
    engine = db.make_engine(app_database, pool_size=2, max_overflow=0, pool_timeout=3)
    monkeypatch.setattr(db, "get_engine", lambda: engine)
    db.get_sessionmaker.cache_clear()
    yield engine
    db.get_sessionmaker.cache_clear()
    engine.dispose()


def member_token() -> str:
    with db.get_sessionmaker()() as session:
        workspace = workspaces.create(session, slug="slots", name="Slots")
        session.commit()
        admin = actors.system(workspace.id)
        person = make_user(session, admin)
        _, token = member_tokens.issue(session, actor=admin, user_id=person.id)
        session.commit()
    return token


async def answers(token: str) -> Counter[int]:
    """The status of each of `REQUESTS` reads of a member's groups (a sync dependency, then a
    sync route: two worker-thread runs, the first taking the connection), sent at once."""
    transport = httpx.ASGITransport(app=create_app())
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        sent = [client.get("/api/v1/me/groups", headers=headers) for _ in range(REQUESTS)]
        return Counter(response.status_code for response in await asyncio.gather(*sent))


def test_requests_beyond_threads_and_connections_all_answer(small_pool: Engine) -> None:
    assert db.pool_capacity(small_pool) == 2
    assert asyncio.run(answers(member_token())) == Counter({200: REQUESTS})
    assert small_pool.pool.checkedout() == 0  # type: ignore[attr-defined]
