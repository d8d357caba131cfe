"""Team Management → Bots & personas: the workspace's resources (bots, personas, any other kind
by name) with their feature badges; create, edit and delete (`coterie.access.resources`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import resources, roles
from coterie.access.schemas import ResourceCreate, ResourceUpdate
from coterie.actor import Role
from coterie.errors import Conflict, Invalid
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

router = APIRouter(
    prefix="/team/resources", route_class=WebRoute, dependencies=[Depends(check_csrf)]
)
PAGE = "/team/resources"
KINDS = ("bot", "persona")
PAGE_SIZE = 50


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _page(
    request: Request,
    session: Session,
    op: Operator,
    *,
    kind: str = "",
    cursor: str | None = None,
    problem: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    found = resources.list_resources(
        session,
        actor=op.actor,
        kind=kind or None,
        size=PAGE_SIZE,
        cursor=cursor,
        with_total=True,
    )
    return render(
        request,
        "team/resources.html",
        {
            "section": "team",
            "page": found,
            "kind": kind,
            "kinds": KINDS,
            # Changing the catalog needs the group access permission (`resources.create`).
            "can_write": op.actor.can_write and op.actor.can(resources.GROUP_ACCESS),
            "problem": problem,
        },
        status=status,
    )


@router.get("", openapi_extra=roles.needs(Role.READ_ONLY))
def page(
    request: Request,
    session: SessionDep,
    op: OperatorDep,
    kind: str = "",
    cursor: str | None = None,
) -> Response:
    return _page(request, session, op, kind=kind[:40], cursor=cursor)


def _features(form: Any) -> list[str]:
    return [f.strip() for f in _text(form, "features").split(",") if f.strip()]


def _kind(form: Any) -> str:
    chosen = _text(form, "kind")
    return _text(form, "other_kind").lower() if chosen == "other" else chosen


def _refused(
    request: Request, session: Session, op: Operator, exc: Exception, form: Any, action: str
) -> Response:
    """The page again with the dialog open, what was typed kept and the problem by its field."""
    session.rollback()
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "name"
        message = str(error["msg"])
        if field == "kind":
            message = "A kind is a lower-case word (letters, digits, - or _), e.g. playbook"
    else:
        assert isinstance(exc, Invalid | Conflict)
        errors = exc.errors if isinstance(exc, Invalid) else []
        field = errors[0].field if errors else str(exc.extra.get("field", "name"))
        message = errors[0].message if errors else exc.detail
    problem = {
        "field": field.split("[")[0],
        "message": message,
        "action": action,
        "values": {
            k: _text(form, k) for k in ("kind", "other_kind", "name", "description", "features")
        },
    }
    return _page(request, session, op, problem=problem, status=400)


@router.post("")
def create(request: Request, session: SessionDep, op: OperatorDep, form: FormDep) -> Response:
    try:
        data = ResourceCreate(
            kind=_kind(form),
            name=_text(form, "name"),
            description=_text(form, "description"),
            features=_features(form),
        )
        made = resources.create(session, actor=op.actor, data=data)
    except (ValidationError, Invalid, Conflict) as exc:
        return _refused(request, session, op, exc, form, PAGE)
    session.commit()
    flash(request, f"Created the {made.kind} {made.name}.")
    return redirect(f"{PAGE}#resource-{ids.encode(made.id)}", request)


@router.post("/{resource_id}/edit")
def edit(
    request: Request, session: SessionDep, op: OperatorDep, resource_id: str, form: FormDep
) -> Response:
    rid = ids.decode(resource_id, what="resource")
    try:
        data = ResourceUpdate(
            name=_text(form, "name"),
            description=_text(form, "description"),
            features=_features(form),
        )
        changed = resources.update(session, actor=op.actor, resource_id=rid, data=data)
    except (ValidationError, Invalid, Conflict) as exc:
        return _refused(request, session, op, exc, form, f"{PAGE}/{resource_id}/edit")
    session.commit()
    flash(request, f"Saved the {changed.kind} {changed.name}.")
    return redirect(f"{PAGE}#resource-{resource_id}", request)


@router.post("/{resource_id}/delete")
def delete(request: Request, session: SessionDep, op: OperatorDep, resource_id: str) -> Response:
    rid = ids.decode(resource_id, what="resource")
    found = resources.get(session, actor=op.actor, resource_id=rid)
    name, kind = found.name, found.kind
    resources.delete_resource(session, actor=op.actor, resource_id=rid)
    session.commit()
    flash(request, f"Deleted the {kind} {name}. The groups that had it no longer give it.")
    return redirect(PAGE, request)
