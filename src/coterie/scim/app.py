"""The SCIM application mounted at `/scim/v2`: its own error bodies, its own auth, no OpenAPI."""

from __future__ import annotations

from fastapi import FastAPI

from coterie.scim import discovery, groups, protocol, search, users


def create() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    protocol.install_errors(app)
    for module in (discovery, search, users, groups):
        app.include_router(module.router)
    return app
