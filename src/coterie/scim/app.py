"""The SCIM application mounted at `/scim/v2`: its own error bodies, its own auth, no OpenAPI;
the hottest reads served ahead of the framework (`reads`)."""

from __future__ import annotations

from fastapi import FastAPI

from coterie.scim import bulk, discovery, groups, protocol, search, users
from coterie.scim.reads import ScimApp


def create() -> ScimApp:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    protocol.install_errors(app)
    for module in (users, groups, search, discovery, bulk):
        app.include_router(module.router)
    return ScimApp(app)
