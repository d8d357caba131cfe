"""Every page and form of the web UI: the operator's role against the route's, then the people
and groups in its path against the operator's scope (`coterie.access.roles`, `access.scope`).

A route names the least role it needs with `openapi_extra=roles.needs(...)`; without one, pages
need any dashboard role and POSTs need `standard`. Nobody signed in passes on to the route, which
sends them to the login page (or is the login page).
"""

from __future__ import annotations

from fastapi import Request

from coterie.access import roles
from coterie.access import scope as scopes
from coterie.web.deps import SessionDep, current_operator


def authorize(request: Request, session: SessionDep) -> None:
    if not isinstance(request.session.get("operator"), dict):
        return
    route = request.scope.get("route")
    needed = roles.required(getattr(route, "openapi_extra", None), request.method)
    if needed is None:
        return
    op = current_operator(request, session)
    roles.require(op.actor, needed)
    scopes.check_path(session, actor=op.actor, params=dict(request.path_params))
