"""`/api/v1/me`: the member app's API, called with a member token (`Bearer cmt_...`).

Operator API tokens do not work here, and member tokens work nowhere else.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import roles
from coterie.api.deps import SessionDep, decode_id
from coterie.directory.models import User
from coterie.engagement import codes, member_groups, member_tokens, throttle
from coterie.engagement.schemas import (
    MemberGroupsView,
    MemberGroupView,
    RedeemInput,
    RedeemResult,
)
from coterie.errors import CoterieError, Unauthorized

# Member routes authenticate their callers themselves (a member token, not an operator token).
router = APIRouter(prefix="/me", tags=["member app"])
_OWN = roles.needs(roles.OWN_AUTH)


def current_member(
    session: SessionDep,
    authorization: Annotated[str | None, Header(description="Bearer <member token>")] = None,
) -> User:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("Send a member token as 'Authorization: Bearer <token>'")
    return member_tokens.authenticate(session, token=authorization[7:].strip())


MemberDep = Annotated[User, Depends(current_member)]


def view(item: member_groups.Shown) -> MemberGroupView:
    return MemberGroupView(
        id=ids.encode(item.group.id),
        name=item.group.name,
        description=item.settings.app_description,
        join_policy=item.settings.join_policy,
        joined=item.joined,
        can_leave=item.can_leave,
        ends_at=item.settings.ends_at,
    )


def redeem_code(session: Session, request: Request, *, member: User, code: str) -> RedeemResult:
    """Redeem under the guessing limits: checked first, and only failures count."""
    limiter = throttle.shared(request.app.state)
    member_key = f"{member.workspace_id}:{member.id}"
    address = request.client.host if request.client else "unknown"
    limiter.check(member_key, address)
    try:
        item = codes.redeem(session, member=member, code=code)
        session.commit()
    except codes.CodeRefused:
        session.rollback()
        limiter.failed(member_key, address)
        raise
    except CoterieError:
        session.rollback()
        raise
    return RedeemResult(group=view(item))


@router.get("/groups", response_model=MemberGroupsView, openapi_extra=_OWN)
def my_groups(session: SessionDep, member: MemberDep) -> MemberGroupsView:
    """The member groups shown to this member, in display order, with whether they are in each."""
    return MemberGroupsView(items=[view(i) for i in member_groups.shown_to(session, member=member)])


@router.post("/groups/{group_id}/join", response_model=MemberGroupView, openapi_extra=_OWN)
def join_group(session: SessionDep, member: MemberDep, group_id: str) -> MemberGroupView:
    item = member_groups.join(session, member=member, group_id=decode_id(group_id, "group"))
    session.commit()
    return view(item)


@router.post("/groups/{group_id}/leave", response_model=MemberGroupView, openapi_extra=_OWN)
def leave_group(session: SessionDep, member: MemberDep, group_id: str) -> MemberGroupView:
    item = member_groups.leave(session, member=member, group_id=decode_id(group_id, "group"))
    session.commit()
    return view(item)


@router.post("/codes", response_model=RedeemResult, openapi_extra=_OWN)
def redeem(
    session: SessionDep, member: MemberDep, data: RedeemInput, request: Request
) -> RedeemResult:
    """Join a private group with a code. Any code that cannot be used gets the same 400."""
    return redeem_code(session, request, member=member, code=data.code)
