"""What each process of `coterie serve` runs (one, or `--workers` of them): the application,
and the HTTP protocol it is served with (`Protocol`)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from coterie import app
from coterie import jobs as jobs_queue


def create_app() -> FastAPI:
    """The application, in a process whose commits that write webhook events queue a delivery
    run at once (the jobs' consumer, in `coterie serve`'s own process or in `coterie worker`,
    runs it; without the wake-up the minutely run still sends them)."""
    jobs_queue.wake_on_events()
    return app.create_app()


class Protocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, writing a response's head with its body: uvicorn writes
    the status line and headers as soon as the application starts the response, and the body
    after, two writes to the socket where one does (each a system call, and a client woken for
    the head alone: docs/performance.md, "One write per response")."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(HeadHeld(transport, self.loop))  # type: ignore[arg-type]


class HeadHeld:
    """A connection's transport that holds a response's head (what uvicorn writes when the
    response starts) until the next write, which takes it along; at the latest it leaves on
    the event loop's next turn (a response without a body: HEAD, 204, 304), or when the
    transport closes. The order of what is written never changes."""

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop = transport, loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held is not None:
            data, self._held = self._held + data, None
        elif type(data) is bytes and data.startswith(b"HTTP/") and data.endswith(b"\r\n\r\n"):
            self._held = data
            self._loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def writelines(self, lines: Any) -> None:
        self.write(b"".join(lines))

    def flush(self) -> None:
        """Write the head held, if one is."""
        if self._held is not None:
            data, self._held = self._held, None
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
