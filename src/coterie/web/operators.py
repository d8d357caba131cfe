"""Groups & Users (admins only): the hierarchy as a tree with breadcrumbs, and under the chosen
group either its subgroups or its operators, filtered, sorted, paged and downloadable as CSV.

The operators' filters live in the query string as plain fields (`q`, `role`, ...); they are
turned into a rule for the listing and stored as that rule by "Save filters" (a saved view of the
`operators` table), so the All Users saved-view machinery serves both tables.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from coterie import ids
from coterie.access import roles
from coterie.access.operators import roster
from coterie.actor import Role
from coterie.directory import listing, views
from coterie.directory.export import export_csv, neutralize
from coterie.directory.schemas import SavedViewSave
from coterie.errors import Invalid
from coterie.groups import hierarchy
from coterie.pagination import MAX_PAGE_SIZE, PAGE_SIZES
from coterie.settings import get_settings
from coterie.web.deps import (
    FormDep,
    Operator,
    OperatorDep,
    SessionDep,
    WebRoute,
    check_csrf,
    flash,
    redirect,
    render,
)
from coterie.web.table import TableState, parse_rule

router = APIRouter(prefix="/operators", route_class=WebRoute, dependencies=[Depends(check_csrf)])
ADMIN_ONLY = roles.needs(Role.ADMIN)
TABLE = "operators"
PATH = "/operators"
USER_COLUMNS = (
    ("full_name", "Name"),
    ("role", "Role"),
    ("agent_id", "Agent ID"),
    ("scoring_enabled", "Scoring"),
    ("roaming", "Roaming"),
    ("status", "Status"),
    ("last_activity_at", "Last Activity"),
)
GROUP_COLUMNS = (
    ("name", "Group Name"),
    ("member_count", "Direct Members"),
    ("subtree_member_count", "Members incl. Subgroups"),
    (None, "Subgroups"),
    ("status", "Status"),
    ("created_at", "Created"),
)
OPERATOR_ROLES = ("admin", "standard", "read_only", "identified_only")
ROLE_LABELS = {
    "admin": "Admin",
    "standard": "Standard",
    "read_only": "Read-Only",
    "identified_only": "Identified-Only",
}
FILTER_SELECTS = (
    ("role", "Role", (("", "Any role"), *ROLE_LABELS.items())),
    ("status", "Status", (("", "Any status"), ("active", "Active"), ("deactivated", "Off"))),
    ("scoring", "Scoring", (("", "Any"), ("yes", "Enabled"), ("no", "Not enabled"))),
    ("roaming", "Roaming agent", (("", "Any"), ("yes", "Roaming"), ("no", "Not roaming"))),
)
TREE_LIMIT = 300  # groups drawn in the tree card; deeper ones are reached by clicking through


@dataclass(frozen=True)
class OperatorFilters:
    """The filter form of the Users side; each field becomes one condition of an `all` rule."""

    q: str = ""
    role: str = ""
    status: str = ""
    scoring: str = ""
    roaming: str = ""

    @classmethod
    def from_query(cls, params: QueryParams) -> OperatorFilters:
        def one(name: str, allowed: tuple[str, ...] | None = None) -> str:
            value = params.get(name, "").strip()[:200]
            return value if allowed is None or value in allowed else ""

        return cls(
            q=one("q"),
            role=one("role", OPERATOR_ROLES),
            status=one("status", ("active", "deactivated")),
            scoring=one("scoring", ("yes", "no")),
            roaming=one("roaming", ("yes", "no")),
        )

    @classmethod
    def from_rule(cls, tree: dict[str, Any] | None) -> OperatorFilters:
        """Back from a saved rule (the shape `rule` makes); anything else is no filter."""
        found: dict[str, str] = {}
        for part in (tree or {}).get("all", []):
            if "any" in part:
                found["q"] = str(part["any"][0].get("value", ""))
            elif part.get("field") in ("scoring_enabled", "roaming"):
                key = "scoring" if part["field"] == "scoring_enabled" else "roaming"
                found[key] = "yes" if part.get("value") else "no"
            elif part.get("field") in ("role", "status"):
                found[part["field"]] = str(part.get("value", ""))
        return cls(**found)

    def rule(self) -> dict[str, Any] | None:
        parts: list[dict[str, Any]] = []
        if self.q:
            columns = ("full_name", "email", "agent_id")
            parts.append(
                {"any": [{"field": c, "op": "contains", "value": self.q} for c in columns]}
            )
        for name in ("role", "status"):
            if getattr(self, name):
                parts.append({"field": name, "op": "eq", "value": getattr(self, name)})
        for name, column in (("scoring", "scoring_enabled"), ("roaming", "roaming")):
            if getattr(self, name):
                parts.append({"field": column, "op": "eq", "value": getattr(self, name) == "yes"})
        return {"all": parts} if parts else None

    def params(self) -> list[tuple[str, str]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name)]

    @property
    def active(self) -> bool:
        return bool(self.params())


@dataclass(frozen=True)
class RosterState:
    """Everything the page shows, as it lives in the URL."""

    mode: str
    group: int | None
    table: TableState
    filters: OperatorFilters

    @classmethod
    def from_query(cls, params: QueryParams) -> RosterState:
        mode = "groups" if params.get("mode") == "groups" else "users"
        raw = params.get("group", "")
        group = ids.decode(raw, what="group") if raw else None
        table = TableState.from_query(params)
        sorts = roster.GROUP_SORTS if mode == "groups" else listing.SORTABLE
        if table.sort not in sorts:
            table = table.change(sort="name" if mode == "groups" else "full_name")
        filters = OperatorFilters.from_query(params)
        rule = filters.rule()
        table = replace(table, filter=json.dumps(rule, separators=(",", ":")) if rule else "")
        return cls(mode, group, table, filters)

    def url(self, **changes: Any) -> str:
        """This state with some changes (`mode`, `group`, `filters` or any TableState field)."""
        mode = changes.pop("mode", self.mode)
        group = changes.pop("group", self.group)
        filters = changes.pop("filters", self.filters)
        table = self.table.change(**changes) if changes else self.table
        if mode != self.mode or group != self.group:
            table = TableState(size=table.size)
        items: list[tuple[str, str]] = [("mode", mode)]
        if group is not None:
            items.append(("group", ids.encode(group)))
        if mode == "users":
            items.extend(filters.params())
        items.extend((k, v) for k, v in table.params() if k != "filter")
        return f"{PATH}?{urlencode(items)}"

    def sort_url(self, column: str) -> str:
        descending = not self.table.descending if column == self.table.sort else False
        return self.url(sort=column, descending=descending)

    def export_url(self) -> str:
        return self.url(cursor=None).replace(f"{PATH}?", f"{PATH}/export.csv?", 1)


def _tree(session: Session, op: Operator, path: list[Any]) -> list[hierarchy.Node]:
    """The level-1 groups, and the subgroups of each group on the path to the chosen one."""
    open_ids = {g.id for g in path}
    nodes = hierarchy.tree(session, actor=op.actor)
    shown = [n for n in nodes if n.parent_id is None or n.parent_id in open_ids]
    return shown[:TREE_LIMIT]


def _context(session: Session, op: Operator, state: RosterState) -> dict[str, Any]:
    path = roster.breadcrumbs(session, actor=op.actor, group_id=state.group)
    saved = list(views.list_views(session, actor=op.actor, table=TABLE))
    context: dict[str, Any] = {
        "state": state,
        "path": path,
        "current": path[-1] if path else None,
        "tree": _tree(session, op, path),
        "page_sizes": PAGE_SIZES,
        "saved_views": saved,
        "default_view": next((v for v in saved if v.is_default), None),
        "filter_selects": FILTER_SELECTS,
        "tz": op.workspace.time_zone,
        "section": "operators",
    }
    t = state.table
    if state.mode == "groups":
        found = roster.subgroups(
            session,
            actor=op.actor,
            parent_id=state.group,
            sort=t.sort,
            descending=t.descending,
            size=t.size,
            cursor=t.cursor,
        )
        counts = roster.child_counts(session, actor=op.actor, group_ids=[g.id for g in found.items])
        context.update(page=found, columns=GROUP_COLUMNS, child_counts=counts)
    else:
        page = listing.list_users(
            session,
            actor=op.actor,
            rule=parse_rule(t.filter),
            sort=t.sort,
            descending=t.descending,
            size=t.size,
            cursor=t.cursor,
            scope=roster.operators(session, actor=op.actor, group_id=state.group),
        )
        context.update(page=page, columns=USER_COLUMNS)
    return context


@router.get("", openapi_extra=ADMIN_ONLY)
def page(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    params = request.query_params
    if "view" in params:
        view = views.get(
            session, actor=op.actor, view_id=ids.decode(params["view"], what="saved view")
        )
        return redirect(_view_url(view), request)
    if not params:
        default = views.find_default(session, actor=op.actor, table=TABLE)
        if default is not None:
            return redirect(_view_url(default), request)
    state = RosterState.from_query(params)
    return render(request, "operators/list.html", _context(session, op, state))


def _view_url(view: Any) -> str:
    table = TableState.of_view(view)
    state = RosterState("users", None, table, OperatorFilters.from_rule(view.filter))
    return state.url(cursor=None)


def _group_rows(session: Session, op: Operator, state: RosterState) -> Iterator[list[str]]:
    cursor: str | None = None
    while True:
        found = roster.subgroups(
            session,
            actor=op.actor,
            parent_id=state.group,
            sort=state.table.sort,
            descending=state.table.descending,
            size=MAX_PAGE_SIZE,
            cursor=cursor,
        )
        counts = roster.child_counts(session, actor=op.actor, group_ids=[g.id for g in found.items])
        for g in found.items:
            yield [
                ids.encode(g.id),
                neutralize(g.name),
                str(g.member_count),
                str(g.subtree_member_count),
                str(counts[g.id]),
                g.status,
                g.created_at.isoformat(),
            ]
        if found.next is None:
            return
        cursor = found.next


@router.get("/export.csv", openapi_extra=ADMIN_ONLY)
def export(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    """The selection on screen (every page of it) as CSV."""
    state = RosterState.from_query(request.query_params)
    name = f"{op.workspace.slug}-{'subgroups' if state.mode == 'groups' else 'operators'}.csv"
    if state.mode == "groups":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            (
                "id",
                "name",
                "direct_members",
                "members_with_subgroups",
                "subgroups",
                "status",
                "created_at",
            )
        )
        writer.writerows(_group_rows(session, op, state))
        chunks: Iterator[str] = iter([buffer.getvalue()])
    else:
        rule = parse_rule(state.table.filter)
        scope = roster.operators(session, actor=op.actor, group_id=state.group)
        chunks = iter(
            list(
                export_csv(
                    session,
                    actor=op.actor,
                    rule=rule,
                    sort=state.table.sort,
                    descending=state.table.descending,
                    batch_size=get_settings().export_batch_size,
                    scope=scope,
                )
            )
        )
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/views", openapi_extra=ADMIN_ONLY)
def save_filters(request: Request, session: SessionDep, op: OperatorDep, form: FormDep) -> Response:
    """Save filters: the Users side's filter, sort and page size under a name."""
    pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    state = RosterState.from_query(QueryParams(pairs))
    try:
        data = SavedViewSave(
            name=str(form.get("name", "")).strip(),
            filter=state.filters.rule(),
            sort=state.table.sort,
            descending=state.table.descending,
            columns=[],
            page_size=state.table.size,
            is_default=form.get("is_default") == "on",
        )
        view = views.save(session, actor=op.actor, table=TABLE, data=data)
    except (ValidationError, Invalid) as exc:
        detail = exc.detail if isinstance(exc, Invalid) else exc.errors()[0]["msg"]
        flash(request, f"The filters were not saved: {detail}", "danger")
        return redirect(state.url(), request)
    session.commit()
    suffix = "; Groups & Users opens with them" if view.is_default else ""
    flash(request, f"Saved the filters “{view.name}”{suffix}.")
    return redirect(_view_url(view), request)


@router.post("/views/{view_id}/delete", openapi_extra=ADMIN_ONLY)
def delete_filters(
    request: Request, session: SessionDep, op: OperatorDep, view_id: str
) -> Response:
    view = views.get(session, actor=op.actor, view_id=ids.decode(view_id, what="saved view"))
    name = view.name
    views.delete(session, actor=op.actor, view_id=view.id)
    session.commit()
    flash(request, f"Deleted the saved filters “{name}”.")
    return redirect(f"{PATH}?mode=users", request)
