"""SCIM creates in batches (`scim.batches`): one batch written at a time, holding what arrived
while the one before it was written."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import pytest
from sqlalchemy import create_engine

from coterie.scim import batches


class Writer:
    """Writes batches of names, each when let through; refuses names starting with "!"."""

    def __init__(self) -> None:
        self.written: list[list[str]] = []
        self.going = asyncio.Event()
        self.going.set()

    async def write(self, batch: Sequence[str]) -> list[bool]:
        self.written.append(list(batch))
        await self.going.wait()
        if any(name.startswith("!") for name in batch):
            raise RuntimeError("refused")
        return [not name.startswith("-") for name in batch]


def run(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """The test run on an event loop of its own."""

    @functools.wraps(test)
    def ran(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return ran


_TURNS = batches.SETTLE_TURNS + 3  # enough for a new batch to be taken and its write begun


def _batches(writer: Writer) -> batches.Batches[str]:
    return batches.Batches(create_engine("sqlite://"), writer.write)


async def _held(writer: Writer, name: str) -> tuple[batches.Batches[str], asyncio.Future[bool]]:
    """Batches with `name` handed over and its batch being written, held until let through."""
    into = _batches(writer)
    writer.going.clear()
    held = asyncio.ensure_future(into.submit(name))
    for _ in range(_TURNS):
        await asyncio.sleep(0)
    assert writer.written == [[name]]
    return into, held


@run
async def test_items_handed_over_together_are_one_batch() -> None:
    writer = Writer()
    found = await asyncio.gather(*(_batches(writer).submit(n) for n in ("a", "b", "-c")))
    assert found == [True, True, False]


@run
async def test_items_handed_over_in_one_turn_share_a_batch() -> None:
    writer = Writer()
    into = _batches(writer)
    assert list(await asyncio.gather(into.submit("a"), into.submit("b"))) == [True, True]
    assert writer.written == [["a", "b"]]


async def _after(turns: int, into: batches.Batches[str], name: str) -> bool:
    """`name` handed over after `turns` turns of the loop, as a request reaches its write."""
    for _ in range(turns):
        await asyncio.sleep(0)
    return await into.submit(name)


@run
async def test_items_handed_over_in_the_turns_after_the_first_share_its_batch() -> None:
    writer = Writer()
    into = _batches(writer)
    found = await asyncio.gather(*(_after(turns, into, str(turns)) for turns in range(4)))
    assert found == [True] * 4
    assert writer.written == [["0", "1", "2", "3"]]


@run
async def test_a_new_batch_waits_a_few_turns_at_most() -> None:
    writer = Writer()
    into = _batches(writer)
    found = await asyncio.gather(*(_after(turns, into, str(turns)) for turns in range(20)))
    assert all(found)
    first = writer.written[0]
    assert first == [str(n) for n in range(len(first))]
    assert 2 < len(first) <= batches.SETTLE_TURNS + 2, "it waited for more than a few turns"
    assert [name for batch in writer.written for name in batch] == [str(n) for n in range(20)]


@run
async def test_items_handed_over_during_a_write_wait_for_it_and_go_together() -> None:
    writer = Writer()
    into, first = await _held(writer, "a")
    later = []
    for name in ("b", "c"):
        later.append(asyncio.ensure_future(into.submit(name)))
        for _ in range(_TURNS):  # turns enough for a batch of its own, were one started
            await asyncio.sleep(0)
    assert writer.written == [["a"]], "a second batch was written beside the first"
    writer.going.set()
    assert await asyncio.gather(first, *later) == [True, True, True]
    assert writer.written == [["a"], ["b", "c"]]


@run
async def test_items_that_waited_during_a_write_are_written_as_it_ends() -> None:
    """Before the loop runs anything else: a request read meanwhile would hold them back for
    the whole of its build (bench/RESULTS.md, SCIM)."""
    writer = Writer()
    into, first = await _held(writer, "a")
    waiting = asyncio.ensure_future(into.submit("b"))
    await asyncio.sleep(0)
    seen: list[list[list[str]]] = []
    writer.going.set()
    asyncio.get_running_loop().call_soon(lambda: seen.append(list(writer.written)))
    assert await asyncio.gather(first, waiting) == [True, True]
    assert seen == [[["a"], ["b"]]], "other work ran between the two writes"


@run
async def test_a_failed_batch_fails_its_items_only() -> None:
    writer = Writer()
    into, failed = await _held(writer, "!a")
    after = asyncio.ensure_future(into.submit("b"))
    writer.going.set()
    with pytest.raises(RuntimeError, match="refused"):
        await failed
    assert await after is True
    assert writer.written == [["!a"], ["b"]]


@run
async def test_a_batch_holds_at_most_max_batch_items(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches, "MAX_BATCH", 2)
    writer = Writer()
    into = _batches(writer)
    assert all(await asyncio.gather(*(into.submit(str(n)) for n in range(5))))
    assert [len(batch) for batch in writer.written] == [2, 2, 1]
