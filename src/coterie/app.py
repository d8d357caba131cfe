"""`create_app(settings)`: the FastAPI application with the API, the web UI and error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coterie.api import (
    access,
    admin,
    campaigns,
    groups,
    hierarchy,
    imports,
    member,
    member_groups,
    operators,
    problems,
    reports,
    schema,
    timeline,
    users,
    webhooks,
)
from coterie.api.deps import authorize
from coterie.scim import app as scim_app
from coterie.scim import connections as scim_connections
from coterie.settings import Settings, get_settings
from coterie.web import routes as web_routes

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """Headers every response carries (pure ASGI, so streaming responses stay streamed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, with_security_headers(send))


def with_security_headers(send: Send) -> Send:
    """`send`, adding the headers every response carries to the response's start."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            extra = [h for h in _SECURITY_HEADERS if h[0] not in present]
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return send_with_headers


SCIM_ROOT = "/scim/v2"


class Coterie(FastAPI):
    """The application: FastAPI, except that the SCIM requests identity providers make most
    (`scim.app.ScimApp.serve_hot`) go to the SCIM application at once, with the security headers,
    past the middleware and routing every other request goes through (a sixth of their CPU
    time; docs/performance.md, SCIM). The SCIM application answers their errors itself; a
    session cookie and the web UI's error pages mean nothing to them."""

    scim: scim_app.ScimApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(SCIM_ROOT + "/"):
            mounted = {**scope, "app": self, "root_path": scope.get("root_path", "") + SCIM_ROOT}
            if await self.scim.serve_hot(mounted, receive, with_security_headers(send)):
                return
        await super().__call__(scope, receive, send)


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """At shutdown, the asyncio PostgreSQL connections of the SCIM reads and creates are closed
    (ended on the server at once, not when the process exits)."""
    yield
    scim_connections.close_on_this_loop()


def create_app(settings: Settings | None = None) -> Coterie:
    settings = settings or get_settings()
    app = Coterie(
        lifespan=_lifespan,
        title="Coterie",
        version="0.1.0",
        description="Users and groups for multi-tenant SaaS products.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    problems.install(app)
    app.add_middleware(SecurityHeaders)
    # First, so that a SCIM request is routed at once rather than after every other route.
    app.scim = scim_app.create()
    app.mount(SCIM_ROOT, app.scim)

    api = APIRouter(prefix="/api/v1", dependencies=[Depends(authorize)])
    for module in (users, groups, imports, timeline, schema, admin, webhooks, operators):
        api.include_router(module.router)
    for access_module in (hierarchy, access, reports):
        api.include_router(access_module.router)
    for engagement_module in (campaigns, member_groups, member):
        api.include_router(engagement_module.router)
    app.include_router(api)
    web_routes.install(app, settings)
    return app
