"""The SCIM wire around Coterie: bearer-token auth, `application/scim+json` responses, SCIM error
bodies for every failure (RFC 7644 §3.12), ETags and `If-Match`, and the list response."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from scim2_models import SCIMException
from sqlalchemy.orm import Session
from starlette.datastructures import URL
from starlette.exceptions import HTTPException

from coterie import ids, jsontext
from coterie.access import scim as scim_tokens
from coterie.actor import Actor
from coterie.db import request_session
from coterie.errors import Conflict, CoterieError, Invalid, NotFound, Unauthorized

MEDIA_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MAX_RESULTS = 200  # advertised as filter.maxResults; larger `count` is cut down to it
MAX_PAYLOAD = 1_048_576
MEMBERS_INLINE = 1_000  # a group with more members lists none; read them through the API


class SyntaxInvalid(Invalid):
    scim_type = "invalidSyntax"


class PreconditionFailed(CoterieError):
    status = 412
    title = "Precondition failed"


def scim_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = jsontext.dumps(body, str, datetimes_by_default=True)
    return Response(content, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def error(status: int, detail: str, scim_type: str | None = None) -> Response:
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    headers = {"WWW-Authenticate": 'Bearer realm="SCIM"'} if status == 401 else None
    return scim_json(body, status, headers)


async def coterie_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CoterieError)
    scim_type = None
    if isinstance(exc, Invalid):
        fields = {e.field for e in exc.errors}
        if getattr(exc, "scim_type", None):
            return error(exc.status, exc.detail, exc.scim_type)  # type: ignore[attr-defined]
        scim_type = "invalidFilter" if "filter" in fields else "invalidValue"
        if fields & {"sortBy", "startIndex", "count", "attributes", "excludedAttributes"}:
            scim_type = "invalidValue"
    elif isinstance(exc, Conflict):
        scim_type = "uniqueness"
    return error(exc.status, exc.detail, scim_type)


async def _scim_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SCIMException)
    body = exc.to_error().model_dump()
    return scim_json(body, int(body.get("status") or 400))


async def _validation_error(_request: Request, exc: Exception) -> Response:
    if isinstance(exc, ValidationError):
        problems = exc.errors()
    else:
        assert isinstance(exc, RequestValidationError)
        problems = list(exc.errors())
    first = problems[0] if problems else {"loc": (), "msg": "invalid"}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
    return error(400, f"{where or 'body'}: {first.get('msg')}", "invalidValue")


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = {404: "No such SCIM endpoint", 405: "Method not allowed here"}.get(
        exc.status_code, str(exc.detail)
    )
    response = error(exc.status_code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def install_errors(app: FastAPI) -> None:
    app.add_exception_handler(CoterieError, coterie_error)
    app.add_exception_handler(SCIMException, _scim_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)


async def db_session() -> AsyncIterator[Session]:
    async with request_session() as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]


def bearer(request: Request) -> str:
    """The request's bearer secret; 401 without one."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise Unauthorized("Send a SCIM token as 'Authorization: Bearer <token>'")
    return header[7:].strip()


async def scim_actor(request: Request, session: SessionDep) -> Actor:
    """The workspace's `scim` actor of the bearer SCIM token; 401 without a valid one.

    Async, like the SCIM routes: their database work is short and runs on the event loop rather
    than paying a thread hand-off per step (docs/performance.md, SCIM). The hot reads check the
    token in the statement that reads the people instead (`reads`)."""
    actor, found = scim_tokens.authenticate(session, secret=bearer(request))
    request.state.workspace = found  # read by the routes (`workspace`): no second query
    return actor


def workspace(request: Request) -> scim_tokens.TokenWorkspace:
    """The SCIM token's workspace, as `scim_actor` read it on this request."""
    found: scim_tokens.TokenWorkspace = request.state.workspace
    return found


ActorDep = Annotated[Actor, Depends(scim_actor)]


def base_url(request: Request) -> str:
    """`https://host/scim/v2`, for `meta.location` and `$ref` (the path up to the mount is the
    scope's root_path)."""
    scope = request.scope
    host = next((value for key, value in scope["headers"] if key == b"host"), None)
    server = tuple(scope["server"]) if scope.get("server") else None
    return _base_url(scope["scheme"], host, server, scope.get("root_path", ""))


@lru_cache(maxsize=256)
def _base_url(
    scheme: str, host: bytes | None, server: tuple[str, int] | None, root_path: str
) -> str:
    """`base_url` of a request from these parts, as Starlette reads its URL (once per host)."""
    headers = [] if host is None else [(b"host", host)]
    scope = {"scheme": scheme, "server": server, "path": "/", "headers": headers}
    url = URL(scope=scope)
    return f"{url.scheme}://{url.netloc}{root_path}".rstrip("/")


def etag(*moments: datetime | None, extra: str = "") -> str:
    """A weak version from when the record (and its SCIM document) last changed."""
    seed = "|".join(m.isoformat() for m in moments if m is not None) + extra
    return 'W/"' + hashlib.sha256(seed.encode()).hexdigest()[:16] + '"'


def check_if_match(request: Request, version: str) -> None:
    """412 when `If-Match` names another version (RFC 7644 §3.14)."""
    wanted = request.headers.get("if-match")
    if wanted is None:
        return
    tags = {t.strip() for t in wanted.split(",")}
    if "*" in tags or version in tags or version.removeprefix("W/") in tags:
        return
    raise PreconditionFailed("The resource has changed since that version (If-Match)")


def not_modified(request: Request, version: str) -> bool:
    wanted = request.headers.get("if-none-match")
    return wanted is not None and version in {t.strip() for t in wanted.split(",")}


def decode(value: str, what: str) -> int:
    try:
        found: int = ids.decode(value, what=what)
        return found
    except CoterieError:
        raise NotFound(f"No {what} with id {value}") from None


def page_bounds(start_index: int | None, count: int | None) -> tuple[int, int]:
    """1-based `startIndex` (below 1 is 1) and `count` (negative is 0, at most MAX_RESULTS)."""
    start = max(1, start_index or 1)
    size = MAX_RESULTS if count is None else min(max(0, count), MAX_RESULTS)
    return start, size


@dataclass(frozen=True)
class ListQuery:
    """What a list or a `.search` asks for (RFC 7644 §3.4.2), from the query string
    (`ListQueryDep`) or a `.search` body (`of_body`)."""

    filter: str | None = None
    sort_by: str | None = None
    sort_order: str | None = None
    start_index: int | None = None
    count: int | None = None
    attributes: str | None = None
    excluded: str | None = None

    @classmethod
    def of_body(cls, body: dict[str, Any]) -> ListQuery:
        def text(key: str) -> str | None:
            value = body.get(key)
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            return None if value is None else str(value)

        def number(key: str) -> int | None:
            value = body.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise Invalid(f"{key} must be an integer", field=key)
            return value

        return cls(
            text("filter"),
            text("sortBy"),
            text("sortOrder"),
            number("startIndex"),
            number("count"),
            text("attributes"),
            text("excludedAttributes"),
        )

    @property
    def descending(self) -> bool:
        return (self.sort_order or "ascending").lower() == "descending"

    def bounds(self) -> tuple[int, int]:
        """`page_bounds` of its `startIndex` and `count`."""
        return page_bounds(self.start_index, self.count)


async def list_query(
    filter: Annotated[str | None, Query(max_length=10_000)] = None,
    sort_by: Annotated[str | None, Query(alias="sortBy", max_length=300)] = None,
    sort_order: Annotated[str | None, Query(alias="sortOrder", max_length=20)] = None,
    start_index: Annotated[int | None, Query(alias="startIndex")] = None,
    count: Annotated[int | None, Query()] = None,
    attributes: Annotated[str | None, Query(max_length=2000)] = None,
    excluded: Annotated[str | None, Query(alias="excludedAttributes", max_length=2000)] = None,
) -> ListQuery:
    """A list's parameters from its query string (async: no thread hand-off)."""
    return ListQuery(filter, sort_by, sort_order, start_index, count, attributes, excluded)


ListQueryDep = Annotated[ListQuery, Depends(list_query)]


def list_response(resources: list[dict[str, Any]], *, total: int, start: int) -> dict[str, Any]:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


async def read_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_PAYLOAD:
        raise Invalid(f"the body is over {MAX_PAYLOAD} bytes", field="body")
    try:
        body = json.loads(raw or b"null")
    except json.JSONDecodeError as exc:
        raise SyntaxInvalid(f"the body is not JSON: {exc.msg}", field="body") from None
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object", field="body")
    return body
