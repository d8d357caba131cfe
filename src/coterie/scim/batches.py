"""SCIM creates written in batches: the creates of the requests that arrive together, in one
statement on PostgreSQL and one transaction on SQLite (`creates`; docs/performance.md, SCIM).

A request hands its rows over and waits on the event loop; the rows of every request that does
so in the loop's next two turns are written together (the other requests that arrived with this
one are created as tasks in the next turn, and reach here in the turn after). Concurrent creates
then share a round trip and a commit, and the pages they change are written once (bench/RESULTS.md:
with four clients, batches of four). A batch is written by a task of its own, while the next
gathers; SQLite's holds the write lock for its transaction only, which runs without waiting on
the loop.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine

T = TypeVar("T")
MAX_BATCH = 64  # creates per batch at most

Write = Callable[[Sequence[T]], Awaitable[list[bool]]]


class Batches(Generic[T]):
    """Items written by `write` (a batch at once: whether each item was written), in batches
    on one event loop."""

    def __init__(self, engine: Engine, write: Write[T]) -> None:
        self.engine, self._write = engine, write
        self._waiting: list[tuple[T, asyncio.Future[bool]]] = []
        self._writing: set[asyncio.Task[None]] = set()  # kept until done (the loop keeps none)

    async def submit(self, item: T) -> bool:
        """Whether `item` was written, once its batch was (a failed batch raises)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        if not self._waiting:
            loop.call_soon(loop.call_soon, self._start)
        self._waiting.append((item, future))
        if len(self._waiting) >= MAX_BATCH:
            self._start()
        return await future

    def _start(self) -> None:
        batch, self._waiting = self._waiting, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._flush(batch))
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)

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
