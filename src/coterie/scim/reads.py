"""The two reads identity providers make most, served without FastAPI's routing and dependency
resolution (`app.ScimApp`): `GET /Users/{id}` and `GET /Users?filter=userName eq "..."` (with at
most `startIndex` and `count` besides).

They answer as their routes in `users.py` do, through the same `Call`, `read` and page code;
the token is checked by the statement that reads the people, so that a read is one statement
(docs/performance.md, SCIM). On PostgreSQL that statement runs on an asyncio connection
(`connections`), so the one event loop of a process serves other requests while it waits; the
rows are turned into the response by the same code on either path (`respond`). Any other
request, and these with other parameters, go to the FastAPI application.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request, Response
from sqlalchemy import Connection, Select
from sqlalchemy.orm import Session
from starlette.types import Scope

from coterie import ids
from coterie.access import scim as scim_tokens
from coterie.access.scim import ScimToken
from coterie.actor import Actor
from coterie.db import Prepared, connection_slot, get_engine
from coterie.errors import CoterieError, Invalid, NotFound
from coterie.scim import connections, filters, protocol, users

_BY_ID = re.compile(r"^/Users/([A-Za-z0-9]+)$")
_NUMBER = re.compile(r"^-?[0-9]{1,9}$")
_PAGING = ("startIndex", "count")


def _with_caller(people: Select[Any]) -> Prepared:
    """The token of `hash` with its workspace (`scim_tokens.by_secret`), then the people of that
    workspace `people` selects, in one statement: on PostgreSQL a hot read is one round trip. A
    row per person in the default order, or one row without a person. The people are read
    whether the token is valid or not; `caller` refuses the token before any is used."""
    found = people.add_columns(users.PERSON_WORKSPACE).subquery()
    statement = (
        scim_tokens.by_secret()
        .add_columns(*(c for c in found.c if c.key != users.PERSON_WORKSPACE.key))
        .outerjoin(found, found.c[users.PERSON_WORKSPACE.key] == ScimToken.workspace_id)
        .order_by(found.c.created_at, found.c.id)
    )
    return Prepared(statement, convert=True)


_ONE = _with_caller(users.person_by_id(scim_tokens.secret_workspace()))
_NAMED = {
    b: _with_caller(users.people_named(scim_tokens.secret_workspace(), b)) for b in (False, True)
}
_T = scim_tokens.TOKEN_COLUMNS


@dataclass(frozen=True)
class HotRead:
    person_id: str | None = None
    filter: str | None = None
    start_index: int | None = None
    count: int | None = None


def local_path(scope: Scope) -> str:
    """The request's path inside the SCIM application (below its mount)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def hot_read(scope: Scope) -> HotRead | None:
    """The hot read a request is, or None for any other request."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path = local_path(scope)
    query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    given = dict(query)
    if len(given) != len(query):
        return None
    by_id = _BY_ID.match(path)
    if by_id is not None:
        return HotRead(person_id=by_id.group(1)) if not given else None
    if path != "/Users" or not filters.is_user_name_equals(given.pop("filter", "")):
        return None
    if set(given) - set(_PAGING) or not all(_NUMBER.match(v) for v in given.values()):
        return None
    start, count = (int(given[k]) if k in given else None for k in _PAGING)
    return HotRead(filter=dict(query)["filter"], start_index=start, count=count)


def statement(request: Request, read: HotRead) -> tuple[Prepared, dict[str, Any]]:
    """The statement a hot read runs and its parameters; 401 without a bearer token."""
    secret = scim_tokens.secret_params(protocol.bearer(request))
    if read.person_id is not None:
        try:
            user_id: int | None = ids.decode(read.person_id, what="User")
        except CoterieError:
            user_id = None  # nobody, once the token is known to be valid
        return _ONE, secret | {"id": user_id}
    assert read.filter is not None
    params = filters.user_name_params(read.filter)
    if params is None:
        raise Invalid("not a userName eq filter", field="filter")
    return _NAMED[params["id"] is not None], secret | params


def answer(connection: Connection, session: Session, request: Request, read: HotRead) -> Response:
    """The hot read's response; its failures are raised (`app.ScimApp` answers them)."""
    prepared, params = statement(request, read)
    return respond(session, request, read, params, prepared.rows(connection, params))


def serve(request: Request, read: HotRead) -> Response:
    """A hot read on a pooled connection, not a session: it is one fixed statement (SQLite;
    PostgreSQL's are served by `serve_async`)."""
    # The session is only used when the workspace's fields are not cached.
    with get_engine().connect() as connection, Session(connection) as session:
        return answer(connection, session, request, read)


def asynchronous() -> bool:
    """Whether the hot reads run on asyncio connections (`serve_async`): on PostgreSQL."""
    return get_engine().dialect.name == "postgresql"


async def serve_async(request: Request, read: HotRead) -> Response:
    """A hot read on an asyncio connection (`connections`), so that the event loop serves other
    requests while PostgreSQL answers; otherwise as `serve`."""
    prepared, params = statement(request, read)
    rows = await _rows_async(prepared, params)
    # The session connects only when the workspace's fields are not cached: then from the
    # engine's pool, for which a request waits on the loop (`db.connection_slot`).
    async with connection_slot():
        with Session(get_engine()) as session:
            return respond(session, request, read, params, rows)


async def _rows_async(prepared: Prepared, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of `prepared` read on one of the engine's asyncio connections (`connections`)."""
    engine = get_engine()
    async with connections.of(engine).connection() as connection:
        return await prepared.rows_async(connection, engine.dialect, params)


async def caller_async(request: Request) -> tuple[Actor, scim_tokens.TokenWorkspace]:
    """The request's SCIM actor and workspace (`protocol.scim_actor`), read as the hot reads
    read on PostgreSQL (`serve_async`): the event loop serves other requests meanwhile, and a
    create's transaction begins with its first write (`app.ScimApp`)."""
    params = scim_tokens.secret_params(protocol.bearer(request))
    rows = await _rows_async(scim_tokens.BY_SECRET, params)
    return scim_tokens.caller(rows[0] if rows else None)


def respond(
    session: Session,
    request: Request,
    read: HotRead,
    params: dict[str, Any],
    rows: Sequence[Sequence[Any]],
) -> Response:
    """The hot read's response from the rows its `statement` read: 401 if they hold no valid
    token, then as the read's route answers."""
    actor, workspace = scim_tokens.caller(rows[0] if rows else None)
    request.state.workspace = workspace
    ctx = users.Call(session, actor, request)
    if read.person_id is not None:
        return read_person(ctx, read.person_id, params["id"], rows)
    return search_name(ctx, rows, read.start_index, read.count)


def read_person(
    ctx: users.Call, person_id: str, user_id: int | None, rows: Sequence[Sequence[Any]]
) -> Response:
    """`GET /Users/{id}`, as `users.get_user` answers it."""
    if user_id is None:  # what `protocol.decode` answers the route
        raise NotFound(f"No User with id {person_id}")
    found = users.found_one([row[_T:] for row in rows], ids.encode(user_id))
    return users.read(ctx, found, None)


def search_name(
    ctx: users.Call, rows: Sequence[Sequence[Any]], start_index: int | None, count: int | None
) -> Response:
    """`GET /Users?filter=userName eq "..."`, as `users.list_users` answers it."""
    start, size = protocol.page_bounds(start_index, count)
    named = [row[_T:] for row in rows if row[_T] is not None]
    resources, total = users.named_page(ctx, named, start, size, None)
    return protocol.scim_json(protocol.list_response(resources, total=total, start=start))
