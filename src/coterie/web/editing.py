"""Create user (profile, then groups) and Edit profile, both on the shared profile form.

The groups step offers the workspace's manual groups (searchable, chosen with checkboxes) and
shows the dynamic groups the new person joined by themselves, because their profile matched.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from coterie import ids
from coterie.directory import service as users
from coterie.directory.models import Field, User
from coterie.directory.schemas import UserCreate, UserUpdate
from coterie.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from coterie.groups import people
from coterie.groups import service as groups
from coterie.groups.models import Group
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
from coterie.web.profile import manual_groups
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
            saved = people.create(session, actor=op.actor, data=UserCreate(**values))
        else:
            saved = people.update(
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


CHOICES = 50  # manual groups listed at once on the groups step; a search narrows them


def _chosen(session: Session, op: Operator, values: list[str]) -> list[Group]:
    """The manual groups whose ids were ticked; unknown ids are dropped (a stale page)."""
    found: dict[int, Group] = {}
    for value in values:
        try:
            group = groups.get(session, actor=op.actor, group_id=ids.decode(value, what="group"))
        except NotFound:
            continue
        if group.selection == "manual":
            found[group.id] = group
    return list(found.values())


@router.get("/{user_id}/groups")
def choose_groups(request: Request, session: SessionDep, op: OperatorDep, user_id: str) -> Response:
    """Step 2 of Create user; a search (htmx) lists matches and keeps the ticked groups first."""
    user = users.get(session, actor=op.actor, user_id=ids.decode(user_id, what="person"))
    if not op.actor.can_write:
        return redirect(f"/users/{ids.encode(user.id)}", request)
    search = request.query_params.get("q", "").strip()[:200]
    ticked = _chosen(session, op, request.query_params.getlist("group_id")[:CHOICES])
    matches = manual_groups(session, op, search=search, size=CHOICES + 1)
    memberships = groups.groups_of(session, actor=op.actor, user_id=user.id)
    ticked_ids = {group.id for group in ticked}
    context = {
        "user": user,
        "operator": op,
        "search": search,
        "ticked": ticked_ids,
        "choices": ticked + [g for g in matches[:CHOICES] if g.id not in ticked_ids],
        "more": len(matches) > CHOICES,
        "member_of": {group.id for _, group in memberships},
        "automatic": [group for m, group in memberships if m.source == "rule"],
    }
    if is_htmx(request, "group-choices"):
        return render(request, "users/_group_choices.html", context)
    return render(request, "users/groups.html", context)


@router.post("/{user_id}/groups")
def add_to_groups(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str, data: FormDep
) -> Response:
    user = users.get(session, actor=op.actor, user_id=ids.decode(user_id, what="person"))
    chosen: list[Group] = []
    for value in dict.fromkeys(v for v in data.getlist("group_id") if isinstance(v, str)):
        group = groups.get(session, actor=op.actor, group_id=ids.decode(value, what="group"))
        groups.add_members(session, actor=op.actor, group_id=group.id, user_ids=[user.id])
        chosen.append(group)
    session.commit()
    if chosen:
        names = ", ".join(group.name for group in chosen)
        count = f"{len(chosen)} group{'s' if len(chosen) > 1 else ''}"
        flash(request, f"{user.full_name} was added to {count}: {names}.")
    return redirect(f"/users/{ids.encode(user.id)}", request)


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
