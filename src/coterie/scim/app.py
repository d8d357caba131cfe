"""The SCIM application mounted at `/scim/v2`: its own error bodies, its own auth, no OpenAPI;
the requests identity providers make most served ahead of the framework (`ScimApp`)."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from coterie.access.scim import TokenWorkspace
from coterie.actor import Actor
from coterie.db import connection_slot, request_session
from coterie.scim import bulk, creates, discovery, groups, protocol, reads, search, users


def create() -> ScimApp:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    protocol.install_errors(app)
    for module in (users, groups, search, discovery, bulk):
        app.include_router(module.router)
    return ScimApp(app)


def is_create(scope: Scope) -> bool:
    """`POST /Users`: what an identity provider sends for each person it provisions."""
    return (
        scope["type"] == "http"
        and scope["method"] == "POST"
        and reads.local_path(scope) == "/Users"
    )


class ScimApp:
    """The SCIM application: the hot requests (the two reads of `reads`, and `POST /Users`)
    without FastAPI's routing and dependency resolution, which cost a third of their CPU time;
    everything else through FastAPI. A hot request is answered by the same functions as its
    route, and its errors by the same handlers."""

    def __init__(self, api: FastAPI) -> None:
        self.api = api

    @property
    def dependency_overrides(self) -> dict[Any, Any]:
        """The FastAPI application's (tests give the session this way); the hot requests obey it."""
        return self.api.dependency_overrides

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not await self.serve_hot(scope, receive, send):
            await self.api(scope, receive, send)

    async def serve_hot(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request (`scope` as mounted) if it is one of the hot requests; whether it
        was."""
        read = reads.hot_read(scope)
        if read is not None:
            request = Request(scope)
            response = await self._answered(request, self._read(request, read))
        elif is_create(scope):
            request = Request(scope, receive)
            response = await self._answered(request, self._create(request))
        else:
            return False
        await response(scope, receive, send)
        return True

    async def _answered(self, request: Request, work: Awaitable[Response]) -> Response:
        """`work`'s response, or a failure answered by the handler FastAPI would have used (the
        session rolls back when it closes)."""
        try:
            return await work
        except Exception as exc:
            handlers = self.api.exception_handlers  # the SCIM errors' (`protocol`): async
            handler: Any = next((handlers[k] for k in type(exc).__mro__ if k in handlers), None)
            if handler is None:
                raise
            answer: Response = await handler(request, exc)
            return answer

    @asynccontextmanager
    async def _overridden(self) -> AsyncIterator[Session | None]:
        """The tests' session (their override of `protocol.db_session`) for one request, in
        their transaction; None when there is no override."""
        override = self.dependency_overrides.get(protocol.db_session)
        if override is None:
            yield None
            return
        sessions: Any = override()
        asynchronous = inspect.isasyncgen(sessions)
        session: Session = await anext(sessions) if asynchronous else next(sessions)
        try:
            yield session
        finally:
            if asynchronous:
                await sessions.aclose()
            else:
                sessions.close()

    async def _read(self, request: Request, read: reads.HotRead) -> Response:
        """In the tests' session when they give one; on PostgreSQL on an asyncio connection
        (`reads.serve_async`); on SQLite on a pooled connection."""
        async with self._overridden() as session:
            if session is not None:
                return reads.answer(session.connection(), session, request, read)
        if reads.asynchronous():
            return await reads.serve_async(request, read)
        async with connection_slot():
            return reads.serve(request, read)

    async def _create(self, request: Request) -> Response:
        """Written without the unit of work (`creates`), or, where that gives way, by
        `users.create_user` with its dependencies given (the token read already)."""
        async with self._overridden() as session:
            if session is not None:
                return await _create_in(session, request)
        created, caller = await creates.serve(request)
        if created is not None:
            return created
        async with request_session() as session:
            return await _create_in(session, request, caller)


async def _create_in(
    session: Session, request: Request, caller: tuple[Actor, TokenWorkspace] | None = None
) -> Response:
    """The create, by the actor of `caller` (the token read already) or of the session."""
    if caller is None:
        actor = await protocol.scim_actor(request, session)
    else:
        actor, request.state.workspace = caller
    return await users.create_user(request, session, actor)
