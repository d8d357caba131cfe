"""`create_app(settings)`: the FastAPI application with the API, the web UI and error mapping."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from coterie.api import admin, problems, schema, timeline, users
from coterie.settings import Settings, get_settings
from coterie.web import routes as web_routes


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Coterie",
        version="0.1.0",
        description="Users and groups for multi-tenant SaaS products.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    problems.install(app)
    api = APIRouter(prefix="/api/v1")
    for module in (users, timeline, schema, admin):
        api.include_router(module.router)
    app.include_router(api)
    web_routes.install(app, settings)
    return app
