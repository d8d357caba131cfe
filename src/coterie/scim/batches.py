"""SCIM creates written in batches: the creates of the requests that arrive together, in one
statement on PostgreSQL and one transaction on SQLite (`creates`; docs/performance.md, SCIM).

A request hands its rows over and waits on the event loop. One batch is written at a time, by
a writer task: it begins by letting the loop run the requests read with the first up to their
own write (a turn of the loop, and more while the last turn handed rows over: a request reaches
its write a few turns after it is read), takes the rows waiting, writes them, and then takes
those handed over meanwhile, until none wait. Concurrent creates share a round trip and a
commit, and the pages they change are written once; while a batch waits on PostgreSQL, the
loop builds the next (bench/RESULTS.md: with four clients, batches of one to four). SQLite's
batch holds the write lock for its transaction only, which runs without waiting on the loop.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine

T = TypeVar("T")
MAX_BATCH = 64  # creates per batch at most
SETTLE_TURNS = 4  # turns of the loop a writer waits at most, after the first, for more rows

Write = Callable[[Sequence[T]], Awaitable[list[bool]]]


class Batches(Generic[T]):
    """Items written by `write` (a batch at once: whether each item was written), in batches
    on one event loop."""

    def __init__(self, engine: Engine, write: Write[T]) -> None:
        self.engine, self._write = engine, write
        self._waiting: list[tuple[T, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None  # writing batches while items wait

    async def submit(self, item: T) -> bool:
        """Whether `item` was written, once its batch was (a failed batch raises)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_waiting())
        return await future

    async def _write_waiting(self) -> None:
        """Write the waiting items, a batch at a time, until none wait: first what waits once
        the requests read with the first item have handed theirs over (`_settled`), then each
        time what was handed over while the batch before was written, at once: a turn of the
        loop would first run the requests read meanwhile, each up to its own write (with four
        clients on PostgreSQL, a seventh more creates a second; bench/RESULTS.md, SCIM)."""
        try:
            await self._settled()
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                await self._flush(batch)
        finally:
            self._writer = None

    async def _settled(self) -> None:
        """Return once a turn of the loop has passed, and then one more while the last handed
        items over, `SETTLE_TURNS` more at most: the requests read with the first item reach
        their writes over a few turns (their bodies, their callers), and each that joins the
        batch spares a commit and the pages it would write again. Under the bench's POST load a
        batch on SQLite (written without waiting on the loop) held 2.3 creates on average with
        one turn, 3.9 with this (docs/performance.md, SCIM, "Batches that wait a few turns")."""
        await asyncio.sleep(0)
        for _ in range(SETTLE_TURNS):
            waiting = len(self._waiting)
            await asyncio.sleep(0)
            if len(self._waiting) == waiting:
                return

    async def _flush(self, batch: list[tuple[T, asyncio.Future[bool]]]) -> None:
        try:
            written = await self._write([item for item, _ in batch])
        except Exception as exc:  # nothing of the batch was written
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        else:
            for (_, future), result in zip(batch, written, strict=True):
                if not future.done():  # else the request was cancelled
                    future.set_result(result)


# Per event loop (a future belongs to one), with the engine its batches are written to.
_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Batches[Any]] = (
    weakref.WeakKeyDictionary()
)


def of(engine: Engine, write: Write[T]) -> Batches[T]:
    """The batches of `engine` by `write` on the running event loop."""
    loop = asyncio.get_running_loop()
    found = _batches.get(loop)
    if found is None or found.engine is not engine:
        found = _batches[loop] = Batches(engine, write)
    return found
