"""One group: its details panel, its member table (the All Users table scoped to the group),
adding and removing people by hand, re-evaluating a rule, and deleting the group.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from coterie import ids
from coterie.directory import forms, listing
from coterie.directory.models import Field
from coterie.errors import Conflict, FieldError, Invalid
from coterie.groups import members
from coterie.groups import service as groups
from coterie.groups.models import Group
from coterie.pagination import PAGE_SIZES
from coterie.web import downloads, filters, group_form, rule_words
from coterie.web.deps import (
    FormDep,
    Operator,
    OperatorDep,
    SessionDep,
    WebRoute,
    check_csrf,
    flash,
    is_htmx,
    redirect,
    render,
)
from coterie.web.table import TableState, parse_rule

router = APIRouter(prefix="/groups", route_class=WebRoute, dependencies=[Depends(check_csrf)])

# (sort key or None, header) of the columns every member table shows.
MEMBER_COLUMNS = (
    (None, "User ID"),
    ("full_name", "Name"),
    ("phone", "Phone"),
    ("primary_channel", "Primary Channel"),
)


@dataclass(frozen=True)
class MemberState:
    """The All Users table state, with its URLs pointing at one group's page."""

    state: TableState
    path: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.state, name)

    def url(self, **changes: Any) -> str:
        return self.state.url(self.path, **changes)

    def sort_url(self, column: str) -> str:
        descending = not self.state.descending if column == self.state.sort else False
        return self.url(sort=column, descending=descending)

    def export_url(self) -> str:
        items = [
            (k, v) for k, v in self.state.params(with_cursor=False) if k not in ("size", "col")
        ]
        return f"{self.path}/members.csv?{urlencode(items)}"


def _group(session: Session, op: Operator, group_id: str) -> Group:
    return groups.get(session, actor=op.actor, group_id=ids.decode(group_id, what="group"))


def form_columns(session: Session, op: Operator, group: Group) -> list[Field]:
    """The fields of the group's attached forms, in order, each once: its extra columns."""
    seen: dict[str, Field] = {}
    for form_id in groups.form_ids(session, group=group):
        form = forms.get_form(session, actor=op.actor, form_id=form_id)
        for spec in forms.form_fields(session, form=form):
            seen.setdefault(spec.key, spec)
    return list(seen.values())


def _members(
    session: Session, op: Operator, group: Group, state: TableState, builder: list[dict[str, Any]]
) -> tuple[Any, list[filters.RowError], str | None]:
    """The page of members for `state`, or why there is none (as All Users does)."""
    try:
        page = listing.list_users(
            session,
            actor=op.actor,
            rule=parse_rule(state.filter),
            sort=state.sort,
            descending=state.descending,
            size=state.size,
            cursor=state.cursor,
            scope=members.in_group(session, group=group),
        )
    except Invalid as exc:
        if any(e.field.startswith("filter") for e in exc.errors) or not exc.errors:
            found = exc.errors or [FieldError("filter", exc.detail)]
            return None, filters.row_errors(found, builder), None
        return None, [], exc.detail
    return page, [], None


def _context(session: Session, op: Operator, group: Group, state: TableState) -> dict[str, Any]:
    gid = ids.encode(group.id)
    builder = group_form.builder_fields(session, op)
    columns = form_columns(session, op, group)
    page, errors, problem = _members(session, op, group, state, builder)
    labels = group_form.rule_labels(builder)
    attached = [
        forms.get_form(session, actor=op.actor, form_id=f)
        for f in groups.form_ids(session, group=group)
    ]
    return {
        "section": "groups",
        "group": group,
        "gid": gid,
        "state": MemberState(state, f"/groups/{gid}"),
        "page": page,
        "filter_errors": errors,
        "problem": problem,
        "member_columns": MEMBER_COLUMNS,
        "form_fields": columns,
        "sortable": {*listing.SORTABLE, *(f"attributes.{f.key}" for f in columns)},
        "page_sizes": PAGE_SIZES,
        "builder": filters.builder_state(state.rule_json(), state.filter),
        "builder_fields": builder,
        "operator_labels": filters.OPERATOR_LABELS,
        "include_words": rule_words.describe(group.include_rule, labels),
        "exclude_words": rule_words.describe(group.exclude_rule, labels),
        "excluded_people": group_form.people(
            session, op, [ids.encode(u) for u in group.excluded_user_ids]
        ),
        "forms": attached,
        "can_write": op.actor.can_write,
        "tz": op.workspace.time_zone,
    }


@router.get("/{group_id}")
def show(request: Request, session: SessionDep, op: OperatorDep, group_id: str) -> Response:
    group = _group(session, op, group_id)
    state = TableState.from_query(request.query_params)
    context = _context(session, op, group, state)
    status = 400 if context["filter_errors"] or context["problem"] else 200
    if is_htmx(request, "members"):
        return render(request, "groups/_members.html", {**context, "partial": True}, status=status)
    return render(request, "groups/show.html", {**context, "partial": False}, status=status)


@router.get("/{group_id}/members.csv")
def export_members(request: Request, op: OperatorDep, group_id: str) -> Response:
    """The members the table shows (filter and sort), every row, streamed as All Users does."""
    state = TableState.from_query(request.query_params)

    def selection(session: Session) -> tuple[listing.Scope, str]:
        group = _group(session, op, group_id)
        slug = "".join(c if c.isalnum() else "-" for c in group.name.lower()).strip("-")[:60]
        name = f"{op.workspace.slug}-{slug or 'group'}-members-{date.today().isoformat()}.csv"
        return members.in_group(session, group=group), name

    return downloads.people_csv(op, state, selection)


def _back(form: FormDep, group: Group) -> str:
    """Where a member change returns to: the table as it was, on this group's page only."""
    home = f"/groups/{ids.encode(group.id)}"
    back = form.get("back")
    if isinstance(back, str) and (back == home or back.startswith(home + "?")):
        return back
    return home


def _chosen(form: FormDep) -> list[str]:
    return [v for v in form.getlist("user_id") if isinstance(v, str) and v]


def _people_ids(form: FormDep) -> list[int]:
    return [ids.decode(v, what="person") for v in _chosen(form)]


@router.post("/{group_id}/members/add")
def add_people(
    request: Request, session: SessionDep, op: OperatorDep, group_id: str, form: FormDep
) -> Response:
    group = _group(session, op, group_id)
    people = _people_ids(form)
    if not people:
        flash(request, "Choose at least one person to add.", "warning")
        return redirect(_back(form, group), request)
    added, already = groups.add_members(session, actor=op.actor, group_id=group.id, user_ids=people)
    session.commit()
    message = f"Added {added} {'person' if added == 1 else 'people'} to {group.name}."
    if already:
        message += f" {already} {'was' if already == 1 else 'were'} already in it."
    flash(request, message)
    return redirect(_back(form, group), request)


@router.post("/{group_id}/members/remove")
def remove_people(
    request: Request, session: SessionDep, op: OperatorDep, group_id: str, form: FormDep
) -> Response:
    group = _group(session, op, group_id)
    people = _people_ids(form)
    names = ", ".join(p.full_name for p in group_form.people(session, op, _chosen(form)))
    removed, _ = groups.remove_members(session, actor=op.actor, group_id=group.id, user_ids=people)
    session.commit()
    if removed:
        flash(request, f"Removed {names} from {group.name}.")
    else:
        flash(request, f"{names or 'They'} had already left {group.name}.", "info")
    return redirect(_back(form, group), request)


@router.post("/{group_id}/reevaluate")
def reevaluate(request: Request, session: SessionDep, op: OperatorDep, group_id: str) -> Response:
    group = _group(session, op, group_id)
    result = groups.reevaluate(session, actor=op.actor, group_id=group.id)
    session.commit()
    what = "Took a new snapshot" if group.behaviour == "static" else "Re-evaluated the rule"
    if result.added or result.removed:
        flash(request, f"{what}: {result.added} joined and {result.removed} left.")
    else:
        flash(request, f"{what}: the members were already up to date.", "info")
    return redirect(f"/groups/{ids.encode(group.id)}", request)


@router.post("/{group_id}/delete")
def delete(request: Request, session: SessionDep, op: OperatorDep, group_id: str) -> Response:
    group = _group(session, op, group_id)
    name = group.name
    try:
        groups.delete_group(session, actor=op.actor, group_id=group.id)
    except Conflict as exc:
        session.rollback()
        flash(request, f"{name} was not deleted: {exc.detail}.", "danger")
        return redirect(f"/groups/{ids.encode(group.id)}", request)
    session.commit()
    flash(request, f"Deleted the group {name}. Its members are still in the directory.")
    return redirect("/groups", request)
