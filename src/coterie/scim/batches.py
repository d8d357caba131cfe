"""SQLite creates written in batches, one transaction per batch (`creates`; docs/performance.md,
SCIM).

SQLite takes one writer at a time, and a commit (with the checkpoints commits trigger) costs more
than a create's inserts. A request hands its rows over and waits; the rows of every request that
does so in the event loop's next two turns are written in one transaction, so that concurrent
creates share a commit and the pages they change are written once (bench/RESULTS.md: with four
clients, batches of four). The batch is written on the
event loop in one go, as each request's writes were: it holds the write lock for its transaction
only, and nothing waits for another turn of the loop meanwhile.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine

T = TypeVar("T")
MAX_BATCH = 64  # creates per transaction at most


class Batches(Generic[T]):
    """Items of `engine`'s database written by `write` (a batch on a connection, in one
    transaction: whether each item was written), in batches on one event loop."""

    def __init__(
        self, engine: Engine, write: Callable[[Connection, Sequence[T]], list[bool]]
    ) -> None:
        self.engine, self._write = engine, write
        self._waiting: list[tuple[T, asyncio.Future[bool]]] = []

    async def submit(self, item: T) -> bool:
        """Whether `item` was written, once its batch committed (a failed batch raises)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        if not self._waiting:  # written two turns on: the other requests that arrived with
            # this one are created as tasks in the next turn, and reach here in the turn after
            loop.call_soon(loop.call_soon, self._flush)
        self._waiting.append((item, future))
        if len(self._waiting) >= MAX_BATCH:
            self._flush()
        return await future

    def _flush(self) -> None:
        batch, self._waiting = self._waiting, []
        if not batch:
            return
        try:
            with self.engine.connect() as connection:
                written = self._write(connection, [item for item, _ in batch])
        except Exception as exc:  # the transaction rolled back: nothing of it was written
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


def of(engine: Engine, write: Callable[[Connection, Sequence[T]], list[bool]]) -> Batches[T]:
    """The batches of `engine` by `write` on the running event loop."""
    loop = asyncio.get_running_loop()
    found = _batches.get(loop)
    if found is None or found.engine is not engine:
        found = _batches[loop] = Batches(engine, write)
    return found
