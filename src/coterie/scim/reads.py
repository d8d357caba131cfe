"""The two reads identity providers make most, served without FastAPI's routing and dependency
resolution: `GET /Users/{id}` and `GET /Users?filter=userName eq "..."` (with at most
`startIndex` and `count` besides).

They run the same code as their routes in `users.py` (token check, `Call`, `read` and `search`)
and answer the same; only the framework's per-request work is skipped, which was a third of
their CPU time (docs/performance.md, SCIM). Any other request, and these with other parameters,
go to the FastAPI application.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from coterie.errors import CoterieError
from coterie.scim import filters, protocol, users

_BY_ID = re.compile(r"^/Users/([A-Za-z0-9]+)$")
_NUMBER = re.compile(r"^-?[0-9]{1,9}$")
_PAGING = ("startIndex", "count")


@dataclass(frozen=True)
class HotRead:
    person_id: str | None = None
    filter: str | None = None
    start_index: int | None = None
    count: int | None = None


def hot_read(scope: Scope) -> HotRead | None:
    """The hot read a request is, or None for any other request."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path, root = scope["path"], scope.get("root_path", "")
    path = path[len(root) :] if root and path.startswith(root) else path
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


class ScimApp:
    """The SCIM application: the hot reads, then FastAPI for everything else."""

    def __init__(self, api: FastAPI) -> None:
        self.api = api

    @property
    def dependency_overrides(self) -> dict[Any, Any]:
        """The FastAPI application's (tests give the session this way); the hot reads obey it."""
        return self.api.dependency_overrides

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        read = hot_read(scope)
        if read is None:
            await self.api(scope, receive, send)
            return
        response = await self._serve(Request(scope), read)
        await response(scope, receive, send)

    async def _serve(self, request: Request, read: HotRead) -> Response:
        own = protocol.db_session not in self.dependency_overrides  # tests give theirs
        sessions: Any = self.dependency_overrides.get(protocol.db_session, protocol.db_session)()
        asynchronous = inspect.isasyncgen(sessions)  # the tests' override is a plain generator
        session: Session = await anext(sessions) if asynchronous else next(sessions)
        try:
            if own and session.get_bind().dialect.name == "postgresql":
                # Independent reads need no transaction: no BEGIN and ROLLBACK round trips.
                session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            actor = await protocol.scim_actor(request, session)
            ctx = users.Call(session, actor, request)
            if read.person_id is not None:
                return users.read(ctx, read.person_id, None)
            return users.search(
                ctx, read.filter, None, None, read.start_index, read.count, None, None
            )
        except CoterieError as exc:
            return await protocol.coterie_error(request, exc)
        finally:
            if asynchronous:
                await sessions.aclose()
            else:
                sessions.close()
