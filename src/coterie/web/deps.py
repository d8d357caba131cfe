"""What every page needs: a database session, the signed-in operator, CSRF checks and rendering.

Routes of the web UI use `WebRoute`, which turns the errors services raise into an HTML page (or,
for htmx requests, an alert swapped into the page) instead of the API's problem+json, and sends
anyone not signed in to the login page.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from coterie.access import scope as scopes
from coterie.actor import Actor
from coterie.db import request_session
from coterie.directory import signin
from coterie.directory.models import User
from coterie.errors import CoterieError, Forbidden, Invalid
from coterie.web.templating import templates
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """Nobody is signed in (or the operator may no longer sign in)."""


class CsrfFailed(Forbidden):
    def __init__(self) -> None:
        super().__init__("This form has expired. Reload the page and try again.")


@dataclass(frozen=True)
class Operator:
    """The signed-in person, as a User row, as an Actor for services, and their workspace."""

    user: User
    actor: Actor
    workspace: Workspace


async def db_session() -> AsyncIterator[Session]:
    async with request_session() as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]


def current_operator(request: Request, session: SessionDep) -> Operator:
    known = getattr(request.state, "operator", None)
    if isinstance(known, Operator):
        return known
    signed = request.session.get("operator")
    if not isinstance(signed, dict):
        raise LoginRequired
    user = signin.operator(session, workspace_id=signed["w"], user_id=signed["u"])
    if user is None:
        request.session.clear()
        raise LoginRequired
    workspace = workspaces.get(session, workspace_id=user.workspace_id)
    actor = scopes.operator_actor(session, user=user)
    who = {
        "name": user.full_name,
        "role": user.role,
        "workspace": workspace.name,
        "tz": workspace.time_zone,
        "id": user.id,
        "reporting": actor.can("reporting") and user.role != "identified_only",
    }
    if request.session.get("who") != who:
        request.session["who"] = who
    found = Operator(user=user, actor=actor, workspace=workspace)
    request.state.operator = found
    return found


OperatorDep = Annotated[Operator, Depends(current_operator)]


def sign_in(request: Request, user: User) -> None:
    """Start a fresh session (a new CSRF token too), so a planted session id is worthless."""
    request.session.clear()
    request.session["operator"] = {"w": user.workspace_id, "u": user.id}
    csrf_token(request)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> AsyncIterator[None]:
    """Every POST carries the session's token, in the form or (htmx) in the X-CSRF-Token header.

    The form is parsed here once (routes read the same, cached one) and its uploaded files are
    closed when the request is done.
    """
    if request.method != "POST":
        yield
        return
    form = await request.form()
    try:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None:
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        expected = request.session.get("csrf")
        if not isinstance(expected, str) or not sent or not secrets.compare_digest(sent, expected):
            raise CsrfFailed
        yield
    finally:
        await form.close()


async def form_data(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


def flash(request: Request, message: str, kind: str = "success") -> None:
    request.session.setdefault("flash", []).append({"kind": kind, "message": message})


def is_htmx(request: Request, target: str | None = None) -> bool:
    if request.headers.get("hx-request") != "true":
        return False
    if request.headers.get("hx-history-restore-request") == "true":
        return False
    return target is None or request.headers.get("hx-target") == target


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    values = dict(context or {})
    values.setdefault("who", request.session.get("who"))
    partial = name.startswith("partials/") or "/_" in name
    # Flash messages wait for a whole page: a partial swapped into a page never shows them.
    values.setdefault("flashes", [] if partial else request.session.pop("flash", []))
    values.setdefault("section", "users")
    values["csrf"] = csrf_token(request)
    return templates().TemplateResponse(request, name, values, status_code=status, headers=headers)


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if target in ("/", "/users"):
        return "/login"
    return "/login?" + urlencode({"next": target})


def redirect(url: str, request: Request | None = None) -> Response:
    """A 303 for a normal request; for htmx, HX-Redirect so the whole page moves."""
    if request is not None and is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_response(request: Request, exc: CoterieError) -> Response:
    messages = [e.message for e in exc.errors] if isinstance(exc, Invalid) else []
    context = {"error": exc, "messages": [m for m in messages if m != exc.detail]}
    headers = {"Retry-After": str(exc.extra["retry_after"])} if "retry_after" in exc.extra else {}
    if is_htmx(request):
        headers.update({"HX-Retarget": "#flash-area", "HX-Reswap": "innerHTML"})
        return render(
            request, "partials/error_alert.html", context, status=exc.status, headers=headers
        )
    return render(request, "error.html", context, status=exc.status, headers=headers)


class WebRoute(APIRoute):
    """Renders service errors as pages and redirects to the login page when nobody is signed in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return redirect(login_url(request), request)
            except CoterieError as exc:
                return error_response(request, exc)

        return run
