"""Team Management → Reports: members and resources per group and who can use what, with CSV
downloads; only for operators with the `reporting` capability (`coterie.access.reports`)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from coterie.access import reports, roles
from coterie.actor import Role
from coterie.web.deps import OperatorDep, SessionDep, WebRoute, render

router = APIRouter(prefix="/team/reports", route_class=WebRoute)
READER = roles.needs(Role.READ_ONLY)
# The page draws this many rows of a report; the CSV has them all.
SHOWN = 500
VIEWS = ("groups", "resources")


@router.get("", openapi_extra=READER)
def page(request: Request, session: SessionDep, op: OperatorDep, view: str = "groups") -> Response:
    view = view if view in VIEWS else "groups"
    if view == "groups":
        rows: list[object] = list(reports.groups_report(session, actor=op.actor))
    else:
        rows = list(reports.resources_report(session, actor=op.actor))
    return render(
        request,
        "reports/index.html",
        {
            "section": "team",
            "view": view,
            "rows": rows[:SHOWN],
            "total": len(rows),
            "shown": SHOWN,
            "scoped": op.actor.scope is not None,
        },
    )


def _download(chunks: Iterator[str], name: str) -> StreamingResponse:
    first = next(chunks)
    return StreamingResponse(
        itertools.chain([first], chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/groups.csv", openapi_extra=READER)
def groups_csv(session: SessionDep, op: OperatorDep) -> StreamingResponse:
    return _download(reports.groups_csv(session, actor=op.actor), "groups-report.csv")


@router.get("/resources.csv", openapi_extra=READER)
def resources_csv(session: SessionDep, op: OperatorDep) -> StreamingResponse:
    return _download(reports.resources_csv(session, actor=op.actor), "resources-report.csv")


@router.get("/access.csv", openapi_extra=READER)
def access_csv(session: SessionDep, op: OperatorDep) -> StreamingResponse:
    return _download(reports.access_csv(session, actor=op.actor), "access-report.csv")
