"""Groups & Users: Create operator (three steps) and an operator's edit view, whose cards each post
one change (details, agent fields, permissions, password, move, delete) and come back with a
message. Admins only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from coterie import ids
from coterie.access import roles
from coterie.access.operators import moves, roster
from coterie.access.operators import service as operators
from coterie.access.operators.models import CAPABILITIES
from coterie.actor import Role
from coterie.directory import service as users
from coterie.directory.models import User
from coterie.directory.schemas import UserCreate, UserUpdate
from coterie.errors import Conflict, CoterieError, FieldError, Invalid
from coterie.groups import people
from coterie.groups import service as groups
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
from coterie.web.operators import ROLE_LABELS

router = APIRouter(prefix="/operators", route_class=WebRoute, dependencies=[Depends(check_csrf)])
ADMIN_ONLY = roles.needs(Role.ADMIN)
CAPABILITY_LABELS = {
    "group_access": "Group access (bots and personas of groups)",
    "reporting": "Reporting",
    "audio_scoring": "Audio and scoring",
}
# Which step of Create operator holds each field, to reopen the form where the first error is.
STEPS = (
    ("Identity", ("full_name", "email", "phone", "nicknames")),
    ("Access", ("role", "password", "group_ids", "capabilities")),
    ("Agent", ("agent_id", "ring_phone", "scoring_enabled", "roaming")),
)


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _nicknames(text: str) -> list[str]:
    return [n.strip() for n in text.replace("\n", ",").split(",") if n.strip()]


def _group_ids(form: FormData) -> list[int]:
    found: list[int] = []
    for value in form.getlist("group_id"):
        if isinstance(value, str) and value:
            found.append(ids.decode(value, what="group"))
    return found


def _capabilities(form: FormData) -> list[str]:
    return [c for c in form.getlist("capability") if isinstance(c, str) and c in CAPABILITIES]


def _errors(exc: Exception) -> list[FieldError]:
    if isinstance(exc, ValidationError):
        return [
            FieldError(str(e["loc"][0]) if e["loc"] else "form", e["msg"]) for e in exc.errors()
        ]
    if isinstance(exc, Invalid):
        return exc.errors or [FieldError("form", exc.detail)]
    if isinstance(exc, Conflict):
        return [FieldError(str(exc.extra.get("field", "form")), exc.detail)]
    return [FieldError("form", str(exc))]


def _form_context(session: Session, op: Operator) -> dict[str, Any]:
    return {
        "role_labels": ROLE_LABELS,
        "capability_labels": CAPABILITY_LABELS,
        "all_groups": roster.all_groups(session, actor=op.actor),
        "steps": STEPS,
        "section": "operators",
    }


@router.get("/new", openapi_extra=ADMIN_ONLY)
def new_page(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    context = _form_context(session, op)
    context.update(values={"role": "standard"}, errors={}, start=0, chosen=set(), caps=set())
    return render(request, "operators/new.html", context)


@router.post("/new", openapi_extra=ADMIN_ONLY)
def create(request: Request, session: SessionDep, op: OperatorDep, form: FormDep) -> Response:
    values = {name: _text(form, name) for _, names in STEPS for name in names}
    chosen, caps = _group_ids(form), _capabilities(form)
    try:
        if not values["password"]:
            raise Invalid("An operator needs a password to sign in", field="password")
        data = UserCreate(
            full_name=values["full_name"] or None,
            email=values["email"] or None,
            phone=values["phone"] or None,
            nicknames=_nicknames(values["nicknames"]),
            role=values["role"] or None,
            password=values["password"],
            agent_id=values["agent_id"] or None,
            ring_phone=values["ring_phone"] or None,
            scoring_enabled=form.get("scoring_enabled") == "on",
            roaming=form.get("roaming") == "on",
        )
        if data.role in (None, "none"):
            raise Invalid("Choose the operator's role", field="role")
        if not data.email:
            raise Invalid("An operator signs in with an email address", field="email")
        user = people.create(session, actor=op.actor, data=data)
        if chosen or caps:
            operators.set_permissions(
                session, actor=op.actor, user_id=user.id, group_ids=chosen, capabilities=caps
            )
        session.commit()
    except (ValidationError, Invalid, Conflict) as exc:
        session.rollback()
        errors = {e.field.split(".")[0].split("[")[0]: e.message for e in _errors(exc)}
        start = next(
            (i for i, (_, names) in enumerate(STEPS) if any(n in errors for n in names)), 0
        )
        context = _form_context(session, op)
        values["password"] = ""
        context.update(
            values=values, errors=errors, start=start, chosen=set(chosen), caps=set(caps)
        )
        return render(request, "operators/new.html", context, status=400)
    flash(request, f"{user.full_name} can now sign in as {ROLE_LABELS[user.role]}.")
    return redirect(f"/operators/{ids.encode(user.id)}", request)


def _operator(session: Session, op: Operator, user_id: str) -> User:
    return users.get(session, actor=op.actor, user_id=ids.decode(user_id, what="person"))


@router.get("/{user_id}", openapi_extra=ADMIN_ONLY)
def edit_page(request: Request, session: SessionDep, op: OperatorDep, user_id: str) -> Response:
    user = _operator(session, op, user_id)
    permissions = operators.get_permissions(session, actor=op.actor, user_id=user.id)
    memberships = groups.groups_of(session, actor=op.actor, user_id=user.id)
    context = _form_context(session, op)
    context.update(
        user=user,
        permissions=permissions,
        scope_ids={g.id for g in permissions.groups},
        memberships=[g for _, g in memberships],
        manual_groups=roster.manual_groups(session, actor=op.actor),
        is_self=user.id == op.user.id,
    )
    return render(request, "operators/edit.html", context)


def _back(request: Request, user: User) -> Response:
    return redirect(f"/operators/{ids.encode(user.id)}", request)


def _failed(request: Request, session: Session, user: User, exc: CoterieError) -> Response:
    session.rollback()
    messages = [e.message for e in _errors(exc)] if isinstance(exc, Invalid) else [exc.detail]
    flash(request, "Not saved: " + "; ".join(dict.fromkeys(messages)), "danger")
    return _back(request, user)


def _update(
    request: Request, session: Session, op: Operator, user: User, data: UserUpdate, done: str
) -> Response:
    try:
        people.update(session, actor=op.actor, user_id=user.id, data=data)
        session.commit()
    except (Invalid, Conflict) as exc:
        return _failed(request, session, user, exc)
    flash(request, done)
    return _back(request, user)


@router.post("/{user_id}/details", openapi_extra=ADMIN_ONLY)
def save_details(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str, form: FormDep
) -> Response:
    user = _operator(session, op, user_id)
    given: dict[str, Any] = {"nicknames": _nicknames(_text(form, "nicknames"))}
    for name in ("role", "status"):
        if _text(form, name) and _text(form, name) != getattr(user, name):
            given[name] = _text(form, name)
    if user.id == op.user.id and len(given) > 1:
        flash(request, "Not saved: you cannot change your own role or status.", "danger")
        return _back(request, user)
    try:
        data = UserUpdate(**given)
    except ValidationError as exc:
        flash(request, f"Not saved: {exc.errors()[0]['msg']}", "danger")
        return _back(request, user)
    return _update(request, session, op, user, data, "Details saved.")


@router.post("/{user_id}/agent", openapi_extra=ADMIN_ONLY)
def save_agent(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str, form: FormDep
) -> Response:
    user = _operator(session, op, user_id)
    try:
        data = UserUpdate(
            agent_id=_text(form, "agent_id"),
            ring_phone=_text(form, "ring_phone"),
            scoring_enabled=form.get("scoring_enabled") == "on",
            roaming=form.get("roaming") == "on",
        )
    except ValidationError as exc:
        flash(request, f"Not saved: {exc.errors()[0]['msg']}", "danger")
        return _back(request, user)
    return _update(request, session, op, user, data, "Agent settings saved.")


@router.post("/{user_id}/permissions", openapi_extra=ADMIN_ONLY)
def save_permissions(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str, form: FormDep
) -> Response:
    user = _operator(session, op, user_id)
    try:
        operators.set_permissions(
            session,
            actor=op.actor,
            user_id=user.id,
            group_ids=_group_ids(form),
            capabilities=_capabilities(form),
        )
        session.commit()
    except Invalid as exc:
        return _failed(request, session, user, exc)
    flash(request, "Permissions saved.")
    return _back(request, user)


@router.post("/{user_id}/password", openapi_extra=ADMIN_ONLY)
def save_password(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str, form: FormDep
) -> Response:
    user = _operator(session, op, user_id)
    new = _text(form, "new_password")
    try:
        if user.id == op.user.id:
            current = _text(form, "current_password")
            operators.change_own_password(session, actor=op.actor, current=current, new=new)
        else:
            operators.set_password(session, actor=op.actor, user_id=user.id, password=new)
        session.commit()
    except Invalid as exc:
        return _failed(request, session, user, exc)
    flash(request, "Password changed.")
    return _back(request, user)


@router.post("/{user_id}/move", openapi_extra=ADMIN_ONLY)
def move(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str, form: FormDep
) -> Response:
    user = _operator(session, op, user_id)
    try:
        source = ids.decode(_text(form, "from_group_id") or "-", what="group")
        target = ids.decode(_text(form, "to_group_id") or "-", what="group")
        done = moves.move(
            session,
            actor=op.actor,
            user_id=user.id,
            from_group_id=source,
            to_group_id=target,
            transfer=form.get("transfer_records") == "on",
        )
        session.commit()
    except CoterieError as exc:
        return _failed(request, session, user, exc)
    old = groups.get(session, actor=op.actor, group_id=done.from_group_id).name
    new = groups.get(session, actor=op.actor, group_id=done.to_group_id).name
    records = f" with {done.moved_records} record{'s' if done.moved_records != 1 else ''}"
    flash(request, f"Moved {user.full_name} from {old} to {new}{records}.")
    flash(request, done.warning, "warning")
    return _back(request, user)


@router.post("/{user_id}/delete", openapi_extra=ADMIN_ONLY)
def delete(request: Request, session: SessionDep, op: OperatorDep, user_id: str) -> Response:
    user = _operator(session, op, user_id)
    if user.id == op.user.id:
        flash(request, "Not deleted: you cannot delete yourself.", "danger")
        return _back(request, user)
    name = user.full_name
    people.delete(session, actor=op.actor, user_id=user.id)
    session.commit()
    flash(request, f"Deleted {name}.")
    return redirect("/operators?mode=users", request)
