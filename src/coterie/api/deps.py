"""Request dependencies: a database session, and the caller as an Actor from a bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import tokens
from coterie.actor import Actor
from coterie.db import get_sessionmaker
from coterie.errors import Unauthorized


async def db_session() -> AsyncIterator[Session]:
    """A session per request. Async so FastAPI needs no thread hand-off to open and close it:
    opening does no I/O, and closing only returns the connection to the pool."""
    with get_sessionmaker()() as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]


def current_actor(
    session: SessionDep,
    authorization: Annotated[str | None, Header(description="Bearer <API token>")] = None,
) -> Actor:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'")
    return tokens.authenticate(session, secret=authorization[7:].strip())


ActorDep = Annotated[Actor, Depends(current_actor)]


def decode_id(value: str, what: str) -> int:
    return ids.decode(value, what=what)
