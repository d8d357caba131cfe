"""User Groups: the dashboard of every group (filter, sort, pages, CSV) and the people picker.

As on All Users, every state of the table is a URL and htmx swaps only the results card.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from coterie import ids
from coterie.access import scope as scopes
from coterie.directory import listing
from coterie.directory.export import neutralize
from coterie.errors import Invalid
from coterie.groups import service as groups
from coterie.groups.models import Group
from coterie.pagination import PAGE_SIZES, Page
from coterie.rules import parse_filter
from coterie.web.deps import (
    Operator,
    OperatorDep,
    SessionDep,
    WebRoute,
    check_csrf,
    is_htmx,
    render,
)

router = APIRouter(prefix="/groups", route_class=WebRoute, dependencies=[Depends(check_csrf)])

KINDS = {"manual": "Manual", "static": "Static", "dynamic": "Dynamic"}
STATUSES = {"active": "Active", "inactive": "Inactive"}
# (sort key or None, header) of the dashboard's columns.
COLUMNS = (
    ("name", "Group Name"),
    ("member_count", "Number of Users"),
    ("status", "Status"),
    (None, "Type"),
    ("created_at", "Date Created"),
    ("created_by_label", "Created By"),
    (None, "Tags"),
)
CSV_HEADER = (
    *("id", "name", "description", "member_count", "status", "type", "source"),
    *("tags", "created_at", "created_by", "updated_at"),
)


@dataclass(frozen=True)
class GroupListState:
    """The dashboard's filter, sort and page, as they live in the query string."""

    q: str = ""
    tag: str = ""
    status: str = ""
    kind: str = ""
    sort: str = "created_at"
    descending: bool = True
    size: int = 25
    cursor: str | None = None

    @classmethod
    def from_query(cls, params: QueryParams) -> GroupListState:
        size = params.get("size", "")
        sort = params.get("sort", "")
        return cls(
            q=params.get("q", "").strip()[:200],
            tag=params.get("tag", "").strip()[:200],
            status=params.get("status", "") if params.get("status") in STATUSES else "",
            kind=params.get("kind", "") if params.get("kind") in KINDS else "",
            sort=sort if sort in groups.GROUP_SORTS else "created_at",
            descending=params.get("order", "desc") == "desc",
            size=int(size) if size.isdigit() and int(size) in PAGE_SIZES else 25,
            cursor=params.get("cursor") or None,
        )

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.tag or self.status or self.kind)

    def params(self, *, paging: bool = True) -> list[tuple[str, str]]:
        items = [(k, getattr(self, k)) for k in ("q", "tag", "status", "kind") if getattr(self, k)]
        items += [("sort", self.sort), ("order", "desc" if self.descending else "asc")]
        if paging:
            items.append(("size", str(self.size)))
            if self.cursor:
                items.append(("cursor", self.cursor))
        return items

    def url(self, **changes: Any) -> str:
        """This state changed; anything but a cursor change starts again on the first page."""
        if "cursor" not in changes:
            changes["cursor"] = None
        return f"/groups?{urlencode(replace(self, **changes).params())}"

    def sort_url(self, column: str) -> str:
        descending = not self.descending if column == self.sort else column == "created_at"
        return self.url(sort=column, descending=descending)

    def export_url(self) -> str:
        return f"/groups/export.csv?{urlencode(self.params(paging=False))}"

    def page(self, session: Session, op: Operator, *, size: int | None = None) -> Page[Group]:
        return groups.list_groups(
            session,
            actor=op.actor,
            search=self.q or None,
            tag=self.tag or None,
            status=self.status or None,
            kind=self.kind or None,
            sort=self.sort,
            descending=self.descending,
            size=size or self.size,
            cursor=self.cursor,
            with_total=size is None,
        )


@router.get("")
def dashboard(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    state = GroupListState.from_query(request.query_params)
    problem = None
    try:
        page: Page[Group] | None = state.page(session, op)
    except Invalid as exc:  # a stale or hand-made cursor
        page, problem = None, exc.detail
    context = {
        "section": "groups",
        "state": state,
        "page": page,
        "problem": problem,
        "columns": COLUMNS,
        "page_sizes": PAGE_SIZES,
        "tags": groups.all_tags(session, actor=op.actor),
        "kinds": KINDS,
        "statuses": STATUSES,
        "anything": page is not None and (page.total or state.filtered),
        "tz": op.workspace.time_zone,
        "can_write": op.actor.can_write,
    }
    status = 400 if problem else 200
    if is_htmx(request, "group-results"):
        return render(
            request, "groups/_list_results.html", {**context, "partial": True}, status=status
        )
    return render(request, "groups/list.html", {**context, "partial": False}, status=status)


def kind_of(group: Group) -> str:
    """manual, static or dynamic: the dashboard's Type column."""
    if group.selection == "rule":
        return group.behaviour or "dynamic"
    return "manual"


def _csv_rows(session: Session, op: Operator, state: GroupListState) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    cursor = None
    while True:
        page = replace(state, cursor=cursor).page(session, op, size=200)
        for group in page.items:
            cells = (
                ids.encode(group.id),
                group.name,
                group.description,
                group.member_count,
                group.status,
                kind_of(group),
                group.source,
                ";".join(group.tags),
                group.created_at.isoformat(),
                group.created_by_label,
                group.updated_at.isoformat(),
            )
            writer.writerow(neutralize(str(c)) for c in cells)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if page.next is None:
            return
        cursor = page.next


@router.get("/export.csv")
def export(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    """Every group of the dashboard's selection, in its order (all pages)."""
    state = GroupListState.from_query(request.query_params)
    text = "".join(_csv_rows(session, op, state))  # groups are few; the session closes after
    name = f"{op.workspace.slug}-groups-{date.today().isoformat()}.csv"
    return StreamingResponse(
        iter([text]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/people")
def search_people(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    """The picker's suggestions: people whose name, email or phone contains what was typed."""
    query = request.query_params.get("q", "").strip()[:100]
    picker = request.query_params.get("picker", "")[:40]
    found: list[Any] = []
    if query:
        conditions: list[dict[str, Any]] = [
            {"field": "full_name", "op": "contains", "value": query},
            {"field": "email", "op": "contains", "value": query},
        ]
        digits = "".join(c for c in query if c.isdigit())
        if len(digits) >= 3:
            conditions.append({"field": "phone", "op": "contains", "value": digits})
        found = listing.list_users(
            session,
            actor=op.actor,
            rule=parse_filter({"any": conditions}),
            size=8,
            with_total=False,
            scope=scopes.people(session, actor=op.actor),
        ).items
    return render(
        request, "groups/_picker_results.html", {"found": found, "query": query, "picker": picker}
    )
