"""All Users: the filtered, sorted, paged table of people, and its CSV download.

htmx swaps only the results card for sort, page and filter changes (and pushes the URL); a request
without htmx, a reload or a history restore gets the whole page from the same URL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import scope as scopes
from coterie.directory import fields, listing, views
from coterie.directory.models import SavedView
from coterie.directory.service import workspace_fields
from coterie.errors import FieldError, Invalid
from coterie.pagination import PAGE_SIZES, Page
from coterie.web import downloads, filters
from coterie.web.deps import (
    Operator,
    OperatorDep,
    SessionDep,
    WebRoute,
    check_csrf,
    is_htmx,
    redirect,
    render,
)
from coterie.web.table import TableState, parse_rule

router = APIRouter(route_class=WebRoute, dependencies=[Depends(check_csrf)])

# (sort key or None, header) of the columns every table shows.
FIXED_COLUMNS = (
    (None, "User ID"),
    ("full_name", "Name"),
    ("phone", "Phone Number"),
    ("primary_channel", "Primary Channel"),
    ("source", "Source"),
    ("last_activity_at", "Last Activity"),
)


def _results(
    session: Session, op: Operator, state: TableState, builder_fields: list[dict[str, Any]]
) -> tuple[Page[Any] | None, list[filters.RowError], str | None]:
    """The page for `state`, or why there is none: filter errors by row, or a bad sort/cursor."""
    try:
        rule = parse_rule(state.filter)
        page = listing.list_users(
            session,
            actor=op.actor,
            rule=rule,
            sort=state.sort,
            descending=state.descending,
            size=state.size,
            cursor=state.cursor,
            scope=scopes.people(session, actor=op.actor),
        )
    except Invalid as exc:
        if any(e.field.startswith("filter") for e in exc.errors) or not exc.errors:
            found = exc.errors or [FieldError("filter", exc.detail)]
            return None, filters.row_errors(found, builder_fields), None
        return None, [], exc.detail
    return page, [], None


def _matching_view(state: TableState, saved: list[SavedView]) -> SavedView | None:
    return next((v for v in saved if state.same_as(v)), None)


def _context(session: Session, op: Operator, state: TableState) -> dict[str, Any]:
    custom = workspace_fields(session, workspace_id=op.actor.workspace_id)
    known = {f"attributes.{f.key}": f for f in custom}
    state = state.change(columns=tuple(c for c in state.columns if c in known), cursor=state.cursor)
    catalog = fields.catalog(custom, region=op.workspace.default_region)
    builder_fields = filters.field_options(catalog)
    page, errors, problem = _results(session, op, state, builder_fields)
    saved = list(views.list_views(session, actor=op.actor, table="users"))
    return {
        "state": state,
        "page": page,
        "filter_errors": errors,
        "problem": problem,
        "fixed_columns": FIXED_COLUMNS,
        "custom_fields": custom,
        "shown_custom": [known[c] for c in state.columns],
        "sortable": set(listing.SORTABLE),
        "page_sizes": PAGE_SIZES,
        "saved_views": saved,
        "current_view": _matching_view(state, saved),
        "default_view": next((v for v in saved if v.is_default), None),
        "builder": filters.builder_state(state.rule_json(), state.filter),
        "builder_fields": builder_fields,
        "operator_labels": filters.OPERATOR_LABELS,
        "operator": op,
        "tz": op.workspace.time_zone,
    }


@router.get("/")
def home() -> Response:
    return redirect("/users")


@router.get("/users")
def list_page(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    params = request.query_params
    if "view" in params:
        view = views.get(
            session, actor=op.actor, view_id=ids.decode(params["view"], what="saved view")
        )
        return redirect(TableState.of_view(view).url(), request)
    if not params:
        default = views.find_default(session, actor=op.actor, table="users")
        if default is not None:
            return redirect(TableState.of_view(default).url(), request)
    state = TableState.from_query(params)
    context = _context(session, op, state)
    status = 400 if context["filter_errors"] or context["problem"] else 200
    if is_htmx(request, "results"):
        context["partial"] = True
        return render(request, "users/_results.html", context, status=status)
    return render(request, "users/list.html", context, status=status)


@router.get("/users/export.csv")
def export(request: Request, op: OperatorDep) -> Response:
    """The same selection as the table (filter and sort), every row, streamed."""
    state = TableState.from_query(request.query_params)
    name = f"{op.workspace.slug}-users-{date.today().isoformat()}.csv"
    return downloads.people_csv(op, state, lambda s: (scopes.people(s, actor=op.actor), name))
