"""Create user (profile, then groups) and Edit profile, both on the shared profile form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from coterie import ids
from coterie.directory import service as users
from coterie.directory.models import Field, User
from coterie.directory.schemas import UserCreate, UserUpdate
from coterie.errors import Conflict, FieldError, Forbidden, Invalid
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
from coterie.web.userform import CONTACT_KINDS, UserForm

router = APIRouter(prefix="/users", route_class=WebRoute, dependencies=[Depends(check_csrf)])


def _page(
    request: Request,
    op: Operator,
    form: UserForm,
    custom: list[Field],
    *,
    user: User | None = None,
    banner: str | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "form": form,
        "custom_fields": custom,
        "contact_kinds": CONTACT_KINDS,
        "is_admin": op.actor.is_admin,
        "user": user,
        "banner": banner,
        "read_only": not op.actor.can_write,
        "operator": op,
        "action": f"/users/{ids.encode(user.id)}/edit" if user else "/users/new",
    }
    return render(request, "users/form.html", context, status=status)


def _submit(
    session: Session, op: Operator, form: UserForm, custom: list[Field], user: User | None
) -> tuple[User | None, str | None, int]:
    """Create or update: the saved person, or None (errors are on `form`), a banner and a status."""
    banner: str | None = "Some details need fixing; see the messages below."
    status = 400
    try:
        values = form.payload(custom, admin=op.actor.is_admin, creating=user is None)
        if user is None:
            saved = users.create(session, actor=op.actor, data=UserCreate(**values))
        else:
            saved = users.update(
                session, actor=op.actor, user_id=user.id, data=UserUpdate(**values)
            )
        session.commit()
        return saved, None, 200
    except ValidationError as exc:
        form.add_validation(exc)
    except Invalid as exc:
        form.add_errors(exc.errors or [FieldError("form", exc.detail)])
        if not exc.errors:
            banner = exc.detail
    except Conflict as exc:
        form.add_errors([FieldError(str(exc.extra.get("field", "form")), exc.detail)])
        form.conflict = {
            "message": exc.detail,
            "id": str(exc.extra.get("existing_id", "")),
            "name": str(exc.extra.get("existing_name", "")),
        }
        banner, status = None, 409
    except Forbidden as exc:
        banner, status = f"{exc.detail}. Ask an admin of {op.workspace.name} to do it.", 403
    session.rollback()
    return None, banner, status


@router.get("/new")
def new_page(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    custom = users.workspace_fields(session, workspace_id=op.actor.workspace_id)
    return _page(request, op, UserForm.blank(), custom)


@router.post("/new")
def create(request: Request, session: SessionDep, op: OperatorDep, data: FormDep) -> Response:
    custom = users.workspace_fields(session, workspace_id=op.actor.workspace_id)
    form = UserForm.read(data, custom)
    banner: str | None = "Some details need fixing; see the messages below."
    status = 400
    if not form.has_errors:
        user, banner, status = _submit(session, op, form, custom, None)
        if user is not None:
            flash(request, f"{user.full_name} was added to the directory.")
            return redirect(f"/users/{ids.encode(user.id)}/groups", request)
    return _page(request, op, form, custom, banner=banner, status=status)


@router.get("/{user_id}/groups")
def choose_groups(request: Request, session: SessionDep, op: OperatorDep, user_id: str) -> Response:
    user = users.get(session, actor=op.actor, user_id=ids.decode(user_id, what="person"))
    return render(request, "users/groups.html", {"user": user, "operator": op})


@router.get("/{user_id}/edit")
def edit_page(request: Request, session: SessionDep, op: OperatorDep, user_id: str) -> Response:
    user = users.get(session, actor=op.actor, user_id=ids.decode(user_id, what="person"))
    custom = users.workspace_fields(session, workspace_id=op.actor.workspace_id)
    return _page(request, op, UserForm.of_user(user, custom), custom, user=user)


@router.post("/{user_id}/edit")
def update(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str, data: FormDep
) -> Response:
    user = users.get(session, actor=op.actor, user_id=ids.decode(user_id, what="person"))
    custom = users.workspace_fields(session, workspace_id=op.actor.workspace_id)
    form = UserForm.read(data, custom)
    banner: str | None = "Some details need fixing; see the messages below."
    status = 400
    if not form.has_errors:
        saved, banner, status = _submit(session, op, form, custom, user)
        if saved is not None:
            flash(request, "Profile saved.")
            return redirect(f"/users/{ids.encode(saved.id)}", request)
        user = users.get(session, actor=op.actor, user_id=user.id)
    return _page(request, op, form, custom, user=user, banner=banner, status=status)
