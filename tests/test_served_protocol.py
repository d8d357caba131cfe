"""The HTTP protocol `coterie serve` serves with (`served.Protocol`): a response's head and
body leave in one write to the socket, and every kind of response still arrives whole."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import httpx2 as httpx
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from coterie.cli import served


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    response: Response
    if scope["path"] == "/stream":

        async def parts() -> Any:
            for part in (b"one,", b"two,", b"three"):
                yield part

        response = StreamingResponse(parts(), media_type="text/plain")
    elif scope["path"] == "/empty":
        response = Response(status_code=204)
    else:
        response = JSONResponse({"path": scope["path"]})
    await response(scope, receive, send)


async def _serving(
    protocol_class: type[asyncio.Protocol],
    ask: Callable[[httpx.AsyncClient], Any],
) -> tuple[list[bytes], Any]:
    """What the server wrote to its socket, each write apart, while `ask` asked it."""
    loop = asyncio.get_running_loop()
    config = Config(app=app, http=protocol_class, lifespan="off", log_level="warning")
    config.load()
    state = ServerState()
    writes: list[bytes] = []

    def protocol() -> asyncio.Protocol:
        made: Any = protocol_class(config=config, server_state=state, app_state={}, _loop=loop)  # type: ignore[call-arg]
        connection_made = made.connection_made

        def spied(transport: Any) -> None:  # the socket's own transport
            write = transport.write

            def recorded(data: bytes) -> None:
                writes.append(bytes(data))
                write(data)

            transport.write = recorded
            connection_made(transport)

        made.connection_made = spied
        return made  # type: ignore[no-any-return]

    server = await loop.create_server(protocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            answer = await ask(client)
    finally:
        server.close()
        for connection in list(state.connections):
            connection.shutdown()
        await server.wait_closed()
    return writes, answer


def test_a_response_leaves_in_one_write_where_uvicorn_writes_two() -> None:
    async def ask(client: httpx.AsyncClient) -> Any:
        return (await client.get("/users")).json()

    ours, answer = asyncio.run(_serving(served.Protocol, ask))
    assert answer == {"path": "/users"}
    assert len(ours) == 1
    assert ours[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert ours[0].endswith(b'{"path":"/users"}')
    theirs, _ = asyncio.run(_serving(HttpToolsProtocol, ask))
    assert len(theirs) == 2  # uvicorn's own: the head, then the body
    assert theirs[0].endswith(b"\r\n\r\n")
    assert theirs[1] == b'{"path":"/users"}'


def test_responses_without_a_body_streamed_ones_and_a_kept_connection_arrive_whole() -> None:
    async def ask(client: httpx.AsyncClient) -> Any:
        head = await client.head("/users")
        empty = await client.get("/empty")
        stream = await client.get("/stream")
        again = await client.get("/again")  # the same connection, kept alive
        return head, empty, stream, again

    writes, (head, empty, stream, again) = asyncio.run(_serving(served.Protocol, ask))
    assert head.status_code == 200
    assert head.headers["content-length"] == "17"
    assert head.content == b""
    assert empty.status_code == 204
    assert empty.content == b""
    assert stream.status_code == 200
    assert stream.text == "one,two,three"
    assert again.json() == {"path": "/again"}
    heads = [w for w in writes if w.startswith(b"HTTP/1.1 ")]
    assert len(heads) == 4  # the head of each, in order
    assert heads[2].startswith(b"HTTP/1.1 200 OK")
    assert b"one," in heads[2]


def test_a_held_head_leaves_before_whatever_is_written_after_it() -> None:
    async def written() -> bytes:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
        held = served.HeadHeld(transport, loop)
        held.write(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
        held.writelines([b"frame ", b"one;"])
        held.write(memoryview(b"HTTP/ as data\r\n\r\n"))  # not a head: written at once
        held.write(b"HTTP/1.1 200 OK\r\n\r\n")  # held, then let go when the transport ends
        held.write_eof()
        theirs.setblocking(False)
        got = b""
        for _ in range(500):  # at most 5 s
            if got.endswith(b"200 OK\r\n\r\n"):
                break
            await asyncio.sleep(0.01)
            try:
                got += theirs.recv(4096)
            except BlockingIOError:
                continue
        held.close()
        theirs.close()
        return got

    assert asyncio.run(written()) == (
        b"HTTP/1.1 101 Switching Protocols\r\n\r\nframe one;HTTP/ as data\r\n\r\n"
        b"HTTP/1.1 200 OK\r\n\r\n"
    )
