"""Request dependencies: a database session, and the caller as an Actor from a bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import roles, tokens
from coterie.access import scope as scopes
from coterie.actor import Actor
from coterie.db import request_session
from coterie.errors import Unauthorized


async def db_session() -> AsyncIterator[Session]:
    """A session per request (`db.request_session`)."""
    async with request_session() as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]

NO_NUL = r"^[^\x00]*$"
"""The pattern of a free-text query parameter: PostgreSQL text cannot hold NUL, so it is refused
as input (a 422 naming the parameter), not met as a 500 in the query."""


async def current_actor(
    request: Request,
    session: SessionDep,
    authorization: Annotated[str | None, Header(description="Bearer <API token>")] = None,
) -> Actor:
    """The caller of an API token; 401 without a valid one. Async, as `authorize`: its one
    indexed lookup runs on the event loop instead of paying a thread hand-off."""
    known = getattr(request.state, "actor", None)
    if isinstance(known, Actor):
        return known
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'")
    actor = tokens.authenticate(session, secret=authorization[7:].strip())
    request.state.actor = actor
    return actor


async def authorize(request: Request, session: SessionDep) -> None:
    """Every API route: the caller's role against the route's (`coterie.access.roles`), then
    the people and groups named in its path against the caller's scope, before body validation.

    Calls without an operator token pass on to the route, whose own credentials decide. Async:
    its short indexed reads run on the event loop, not through a thread hand-off per request
    (docs/performance.md, "Reading one person over HTTP").
    """
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or not header[7:].strip().startswith(tokens.PREFIX):
        return
    route = request.scope.get("route")
    needed = roles.required(getattr(route, "openapi_extra", None), request.method)
    if needed is None:
        return
    actor = await current_actor(request, session, header)
    roles.require(actor, needed)
    scopes.check_path(session, actor=actor, params=dict(request.path_params))


ActorDep = Annotated[Actor, Depends(current_actor)]


def decode_id(value: str, what: str) -> int:
    return ids.decode(value, what=what)
