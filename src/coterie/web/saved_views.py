"""Saving the All Users table's state under a name, picking a default, and deleting views."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from starlette.datastructures import QueryParams

from coterie import ids
from coterie.access import roles
from coterie.actor import Role
from coterie.directory import views
from coterie.directory.schemas import SavedViewSave
from coterie.errors import Invalid
from coterie.web.deps import FormDep, OperatorDep, SessionDep, WebRoute, check_csrf, flash, redirect
from coterie.web.table import TableState

router = APIRouter(prefix="/users/views", route_class=WebRoute, dependencies=[Depends(check_csrf)])
# A saved view is the operator's own preference, not data: every dashboard role may keep some.
ANY_OPERATOR = roles.needs(Role.IDENTIFIED_ONLY)


def _state(form: FormDep) -> TableState:
    pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    return TableState.from_query(QueryParams(pairs))


@router.post("", openapi_extra=ANY_OPERATOR)
def save(request: Request, session: SessionDep, op: OperatorDep, form: FormDep) -> Response:
    state = _state(form)
    name = str(form.get("name", "")).strip()
    try:
        data = SavedViewSave(
            name=name,
            filter=state.rule_json() if state.filter else None,
            sort=state.sort,
            descending=state.descending,
            columns=list(state.columns),
            page_size=state.size,
            is_default=form.get("is_default") == "on",
        )
        if state.filter and data.filter is None:
            raise Invalid("Only filters made with the builder can be saved", field="filter")
        view = views.save(session, actor=op.actor, table="users", data=data)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(p) for p in problem["loc"])
        flash(request, f"The view was not saved: {field}: {problem['msg']}", "danger")
        return redirect(state.url(), request)
    except Invalid as exc:
        flash(request, f"The view was not saved: {exc.detail}", "danger")
        return redirect(state.url(), request)
    session.commit()
    suffix = " and made it your default" if view.is_default else ""
    flash(request, f"Saved the view “{view.name}”{suffix}.")
    return redirect(TableState.of_view(view).url(), request)


@router.post("/{view_id}/default", openapi_extra=ANY_OPERATOR)
def make_default(request: Request, session: SessionDep, op: OperatorDep, view_id: str) -> Response:
    view = views.set_default(
        session, actor=op.actor, table="users", view_id=ids.decode(view_id, what="saved view")
    )
    session.commit()
    assert view is not None
    flash(request, f"“{view.name}” now opens when you open All Users.")
    return redirect(TableState.of_view(view).url(), request)


@router.post("/default/clear", openapi_extra=ANY_OPERATOR)
def clear_default(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    views.set_default(session, actor=op.actor, table="users", view_id=None)
    session.commit()
    flash(request, "All Users now opens with everyone, sorted by name.")
    return redirect("/users", request)


@router.post("/{view_id}/delete", openapi_extra=ANY_OPERATOR)
def delete(request: Request, session: SessionDep, op: OperatorDep, view_id: str) -> Response:
    view = views.get(session, actor=op.actor, view_id=ids.decode(view_id, what="saved view"))
    name = view.name
    views.delete(session, actor=op.actor, view_id=view.id)
    session.commit()
    flash(request, f"Deleted the view “{name}”.")
    return redirect("/users", request)
