"""The member page: a phone-sized page where a member joins open groups with a toggle, private
ones with a code, and sees what they belong to.

The product's app opens `/member/enter?token=<member token>` (a link its backend builds with a
member token from the API); that signs the member in to this page with the session cookie, apart
from any operator signed in on the same browser. The token is checked again on every request, so
revoking it or deactivating the person ends the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import roles
from coterie.actor import Origin
from coterie.db import utcnow
from coterie.directory.models import User
from coterie.engagement import codes, member_groups, member_tokens, throttle
from coterie.engagement.models import MemberToken
from coterie.errors import CoterieError, RateLimited, Unauthorized
from coterie.web.deps import (
    FormDep,
    SessionDep,
    WebRoute,
    check_csrf,
    is_htmx,
    redirect,
    render,
)
from coterie.workspaces import service as workspaces

router = APIRouter(prefix="/member", route_class=WebRoute, dependencies=[Depends(check_csrf)])
# Members are not operators: these routes check the member's own sign-in, not a dashboard role.
_OWN = roles.needs(roles.OWN_AUTH)
_KEY = "member"


class MemberSignedOut(Unauthorized):
    def __init__(self) -> None:
        super().__init__("Open this page from the app to see your groups.")


@dataclass(frozen=True)
class Member:
    user: User
    time_zone: str


def current_member(request: Request, session: SessionDep) -> Member:
    signed = request.session.get(_KEY)
    if not isinstance(signed, dict):
        raise MemberSignedOut
    token = session.get(MemberToken, (signed.get("w"), signed.get("k")))
    now = utcnow()
    usable = token is not None and token.revoked_at is None
    if not usable or token is None or (token.expires_at is not None and token.expires_at <= now):
        request.session.pop(_KEY, None)
        raise MemberSignedOut
    user = session.get(User, (token.workspace_id, token.user_id))
    if user is None or user.status != "active":
        request.session.pop(_KEY, None)
        raise MemberSignedOut
    workspace = workspaces.get(session, workspace_id=user.workspace_id)
    return Member(user=user, time_zone=workspace.time_zone)


MemberDep = Annotated[Member, Depends(current_member)]


def _signed_out(request: Request, exc: CoterieError) -> Response:
    return render(request, "member/signed_out.html", {"message": exc.detail}, status=exc.status)


def _app(
    request: Request,
    session: Session,
    member: Member,
    *,
    message: dict[str, str] | None = None,
    code: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    shown = member_groups.shown_to(session, member=member.user)
    context: dict[str, Any] = {
        "member": member.user,
        "tz": member.time_zone,
        "groups": shown,
        "mine": [item for item in shown if item.joined],
        "message": message,
        "code": code,
    }
    name = "member/_app.html" if is_htmx(request) else "member/page.html"
    return render(request, name, context, status=status, headers=headers)


@router.get("/enter", openapi_extra=_OWN)
def enter(request: Request, session: SessionDep, token: str = "") -> Response:
    """Sign a member in from the app's link, then drop the token from the address bar."""
    try:
        user = member_tokens.authenticate(session, token=token[:200])
    except CoterieError as exc:
        return _signed_out(request, exc)
    row = session.scalar(
        select(MemberToken).where(
            MemberToken.workspace_id == user.workspace_id,
            MemberToken.secret_hash == member_tokens.token_hash(token),
        )
    )
    assert row is not None
    request.session[_KEY] = {"w": row.workspace_id, "k": row.id}
    return redirect("/member")


@router.get("", openapi_extra=_OWN)
def page(request: Request, session: SessionDep) -> Response:
    try:
        member = current_member(request, session)
    except MemberSignedOut as exc:
        return _signed_out(request, exc)
    return _app(request, session, member)


def _change(request: Request, session: Session, group_id: str, joining: bool) -> Response:
    try:
        member = current_member(request, session)
    except MemberSignedOut as exc:
        return _signed_out(request, exc)
    try:
        change = member_groups.join if joining else member_groups.leave
        item = change(
            session,
            member=member.user,
            group_id=ids.decode(group_id, what="group"),
            origin=Origin.WEB,
        )
        session.commit()
    except CoterieError as exc:
        session.rollback()
        return _app(request, session, member, message={"kind": "danger", "text": exc.detail})
    verb = "You joined" if joining else "You left"
    text = f"{verb} {item.group.name}."
    if not is_htmx(request):
        return redirect("/member")
    return _app(request, session, member, message={"kind": "success", "text": text})


@router.post("/groups/{group_id}/join", openapi_extra=_OWN)
def join(request: Request, session: SessionDep, group_id: str) -> Response:
    return _change(request, session, group_id, joining=True)


@router.post("/groups/{group_id}/leave", openapi_extra=_OWN)
def leave(request: Request, session: SessionDep, group_id: str) -> Response:
    return _change(request, session, group_id, joining=False)


@router.post("/groups/{group_id}/toggle", openapi_extra=_OWN)
def toggle(request: Request, session: SessionDep, form: FormDep, group_id: str) -> Response:
    """The switch: on joins, off leaves (a checkbox sends its value only when checked)."""
    return _change(request, session, group_id, joining=form.get("joined") == "on")


@router.post("/codes", openapi_extra=_OWN)
def redeem(request: Request, session: SessionDep, form: FormDep) -> Response:
    try:
        member = current_member(request, session)
    except MemberSignedOut as exc:
        return _signed_out(request, exc)
    code = str(form.get("code", ""))[:64]
    limiter = throttle.shared(request.app.state)
    member_key = f"{member.user.workspace_id}:{member.user.id}"
    address = request.client.host if request.client else "unknown"
    try:
        limiter.check(member_key, address)
        item = codes.redeem(session, member=member.user, code=code, origin=Origin.WEB)
        session.commit()
    except RateLimited as exc:
        headers = {"Retry-After": str(exc.retry_after)}
        message = {"kind": "danger", "text": exc.detail}
        return _app(
            request, session, member, message=message, code=code, status=429, headers=headers
        )
    except CoterieError as exc:
        session.rollback()
        if isinstance(exc, codes.CodeRefused):
            limiter.failed(member_key, address)
        message = {"kind": "danger", "text": exc.detail}
        return _app(request, session, member, message=message, code=code, status=exc.status)
    text = f"Welcome to {item.group.name}!"
    return _app(request, session, member, message={"kind": "success", "text": text})


@router.post("/leave-app", openapi_extra=_OWN)
def sign_out(request: Request) -> Response:
    request.session.pop(_KEY, None)
    return redirect("/member")
