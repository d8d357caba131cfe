"""Asynchronous PostgreSQL connections for the hot reads (`reads.serve_async`), so that the event
loop serves other requests while PostgreSQL answers one (docs/performance.md, SCIM).

A few autocommit psycopg connections per process and event loop, opened when first needed, of
the engine's database and with its driver settings. A request waits for a free one on the
loop; one left mid-statement (a cancelled request) or broken is closed, not reused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, event

SIZE = 4  # per process: enough for the reads one process's CPU can keep waiting at once


class Connections:
    """Up to `SIZE` connections of one engine for one event loop (an asyncio connection
    belongs to the loop it was opened on)."""

    def __init__(self, engine: Engine, loop: asyncio.AbstractEventLoop) -> None:
        self.engine, self.loop = engine, loop
        self._free: asyncio.LifoQueue[psycopg.AsyncConnection | None] = asyncio.LifoQueue()
        for _ in range(SIZE):
            self._free.put_nowait(None)  # a place for a connection not opened yet
        self._open: set[psycopg.AsyncConnection] = set()

    @property
    def opened(self) -> int:
        """How many are open now (never more than `SIZE`)."""
        return len(self._open)

    async def _connect(self) -> psycopg.AsyncConnection:
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        found = await psycopg.AsyncConnection.connect(*cargs, **cparams, autocommit=True)
        self._open.add(found)
        return found

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        """A free connection, the most recently used first (so a quiet process keeps one)."""
        found = await self._free.get()
        try:
            if found is None:
                found = await self._connect()
            yield found
        finally:
            if found is not None and not self._reusable(found):
                self._discard(found)
                found = None
            self._free.put_nowait(found)

    def _reusable(self, connection: psycopg.AsyncConnection) -> bool:
        """Not closed meanwhile (`close`) and not left in a statement or broken."""
        idle = connection.pgconn.transaction_status == TransactionStatus.IDLE
        return idle and connection in self._open

    def _discard(self, connection: psycopg.AsyncConnection) -> None:
        self._open.discard(connection)
        connection.pgconn.finish()  # closes the socket without the loop (it may be gone)

    def close(self) -> None:
        for connection in list(self._open):
            self._discard(connection)


_current: Connections | None = None


def _closed_with(engine: Engine) -> None:
    """Close the connections when their engine is disposed (tests change databases)."""
    if _current is not None and _current.engine is engine:
        _current.close()


def close_on_this_loop() -> None:
    """Close the connections opened on the running event loop (the server is stopping)."""
    if _current is not None and _current.loop is asyncio.get_running_loop():
        _current.close()


def of(engine: Engine) -> Connections:
    """The connections of `engine` for the running loop; those of another loop or engine are
    closed (one loop serves a process: in tests, a client may run a loop per request)."""
    global _current
    loop = asyncio.get_running_loop()
    if _current is None or _current.engine is not engine or _current.loop is not loop:
        if _current is not None:
            _current.close()
        if not event.contains(engine, "engine_disposed", _closed_with):
            event.listen(engine, "engine_disposed", _closed_with)
        _current = Connections(engine, loop)
    return _current
