"""The support flow on a person's profile: an operator ticks the member groups the person should
be in (hidden ones too) and saves. The card loads with htmx, so the profile page stays as it is;
saving reloads the profile, whose group list and timeline change with it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from coterie import ids
from coterie.db import utcnow
from coterie.directory.models import User
from coterie.engagement import member_groups, member_tokens
from coterie.errors import CoterieError, Forbidden, NotFound
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

router = APIRouter(prefix="/users", route_class=WebRoute, dependencies=[Depends(check_csrf)])


def _person(session: Session, op: Operator, user_id: str) -> User:
    person = session.get(User, (op.actor.workspace_id, ids.decode(user_id, what="person")))
    if person is None:
        raise NotFound(f"No person with id {user_id}")
    return person


def _card(
    request: Request,
    session: Session,
    op: Operator,
    person: User,
    *,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "person": person,
        "rows": member_groups.of_person(session, actor=op.actor, user_id=person.id),
        "can_write": op.actor.can_write,
    }
    return render(request, "member_groups/_profile_card.html", context, status=status)


@router.get("/{user_id}/member-groups")
def card(request: Request, session: SessionDep, op: OperatorDep, user_id: str) -> Response:
    """The card, or nothing for an operator who may not see groups (their own profile loads it)."""
    try:
        groups.require_read(op.actor)
    except Forbidden:
        return Response("")
    return _card(request, session, op, _person(session, op, user_id))


@router.post("/{user_id}/member-groups")
def save(
    request: Request, session: SessionDep, op: OperatorDep, form: FormDep, user_id: str
) -> Response:
    person = _person(session, op, user_id)
    chosen = [v for v in form.getlist("group") if isinstance(v, str)][:500]
    try:
        wanted = ids.decode_all(chosen, what="group", at="group_ids")
        changed = member_groups.set_for_person(
            session, actor=op.actor, user_id=person.id, group_ids=wanted
        )
        session.commit()
    except CoterieError as exc:
        session.rollback()
        flash(request, exc.detail, "danger")
        return redirect(f"/users/{user_id}", request)
    parts = []
    if changed["added"]:
        parts.append("added to " + ", ".join(changed["added"]))
    if changed["removed"]:
        parts.append("removed from " + ", ".join(changed["removed"]))
    flash(request, ("Member groups saved: " + "; ".join(parts) + ".") if parts else "No changes.")
    return redirect(f"/users/{user_id}", request)


@router.post("/{user_id}/member-page")
def open_member_page(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str
) -> Response:
    """See the member app as this person does: a one-hour member token, straight into the page."""
    person = _person(session, op, user_id)
    expires = utcnow() + timedelta(hours=1)
    _, token = member_tokens.issue(session, actor=op.actor, user_id=person.id, expires_at=expires)
    session.commit()
    return RedirectResponse(f"/member/enter?token={token}", status_code=303)
