"""The admin web UI: session cookie, static files and the page routers, mounted on the app."""

from __future__ import annotations

import os

from fastapi import Depends, FastAPI
from starlette.datastructures import QueryParams
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from coterie.settings import Settings
from coterie.web import (
    auth,
    campaigns,
    editing,
    group_detail,
    group_edit,
    group_wizard,
    groups,
    import_report,
    imports,
    integrations,
    join_codes,
    member,
    member_settings,
    member_support,
    operator_form,
    operators,
    profile,
    reports,
    saved_views,
    team_groups,
    team_resources,
    users,
)
from coterie.web.authorization import authorize
from coterie.web.templating import STATIC_DIR

SESSION_COOKIE = "coterie_session"
SESSION_MAX_AGE = 12 * 60 * 60  # an operator signs in again every working day


class VersionedStatic(StaticFiles):
    """Static files; those asked for with the `?v=` the templates add are cached for a year."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if response.status_code == 200 and "v" in QueryParams(scope.get("query_string", b"")):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the web UI's routes, static files and session middleware on `app`."""
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.environment == "production",
    )
    app.state.login_limiter = auth.LoginLimiter(settings.login_attempts_per_minute)
    app.mount("/static", VersionedStatic(directory=STATIC_DIR), name="static")
    # Order matters: fixed paths (/users/new, /groups/new, /imports/new...) before /users/{user_id},
    # /groups/{group_id} and /imports/{import_id}.
    pages = (auth, users, saved_views, editing, profile, imports, import_report)
    operator_pages = (operators, operator_form)  # fixed paths first, then /{user_id}
    admin_pages = (integrations,)
    group_pages = (
        groups,
        group_wizard,
        group_edit,
        group_detail,
        team_groups,
        team_resources,
        reports,
    )
    engagement_pages = (member, campaigns, join_codes, member_settings, member_support)
    for module in (*pages, *operator_pages, *admin_pages, *group_pages, *engagement_pages):
        app.include_router(
            module.router, include_in_schema=False, dependencies=[Depends(authorize)]
        )
