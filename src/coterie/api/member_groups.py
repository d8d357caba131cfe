"""`/api/v1/member-groups` and a person's member groups and tokens: the admin side of the app.

Reading needs an operator role that reads groups; changing needs standard or admin.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from coterie import ids
from coterie.api.deps import ActorDep, SessionDep, decode_id
from coterie.engagement import member_groups, member_tokens
from coterie.engagement.models import MemberGroup
from coterie.engagement.schemas import (
    MemberGroupRead,
    MemberGroupsSet,
    MemberGroupUpdate,
    MemberTokenCreate,
    MemberTokenCreated,
)
from coterie.groups.models import Group

router = APIRouter(tags=["member groups"])


def member_group_read(group: Group, settings: MemberGroup) -> MemberGroupRead:
    return MemberGroupRead(
        group_id=ids.encode(group.id),
        name=group.name,
        join_policy=settings.join_policy,
        user_viewable=settings.user_viewable,
        app_description=settings.app_description,
        starts_at=settings.starts_at,
        ends_at=settings.ends_at,
        display_order=settings.display_order,
        member_count=group.member_count,
    )


@router.get("/member-groups", response_model=list[MemberGroupRead])
def list_member_groups(session: SessionDep, actor: ActorDep) -> list[MemberGroupRead]:
    """Every group with member settings, in display order."""
    return [member_group_read(g, s) for g, s in member_groups.list_settings(session, actor=actor)]


@router.put("/groups/{group_id}/member-settings", response_model=MemberGroupRead)
def update_member_settings(
    session: SessionDep, actor: ActorDep, group_id: str, data: MemberGroupUpdate
) -> MemberGroupRead:
    group, settings = member_groups.update(
        session, actor=actor, group_id=decode_id(group_id, "group"), data=data
    )
    session.commit()
    return member_group_read(group, settings)


@router.get("/users/{user_id}/member-groups", response_model=list[str])
def person_member_groups(session: SessionDep, actor: ActorDep, user_id: str) -> list[str]:
    """The ids of the member groups (hidden ones too) the person is in."""
    person = decode_id(user_id, "person")
    found = member_groups.of_person(session, actor=actor, user_id=person)
    return [ids.encode(g.id) for g, _, joined in found if joined]


@router.put("/users/{user_id}/member-groups", response_model=list[str])
def set_person_member_groups(
    session: SessionDep, actor: ActorDep, user_id: str, data: MemberGroupsSet
) -> list[str]:
    """Support flow: the person ends up in exactly these member groups (source manual)."""
    person = decode_id(user_id, "person")
    wanted = ids.decode_all(data.group_ids, what="group", at="group_ids")
    member_groups.set_for_person(session, actor=actor, user_id=person, group_ids=wanted)
    session.commit()
    found = member_groups.of_person(session, actor=actor, user_id=person)
    return [ids.encode(g.id) for g, _, joined in found if joined]


@router.post("/users/{user_id}/member-tokens", response_model=MemberTokenCreated, status_code=201)
def create_member_token(
    session: SessionDep, actor: ActorDep, user_id: str, data: MemberTokenCreate
) -> MemberTokenCreated:
    """A member token for the person's app; the secret is shown this once."""
    row, token = member_tokens.issue(
        session, actor=actor, user_id=decode_id(user_id, "person"), expires_at=data.expires_at
    )
    session.commit()
    return MemberTokenCreated(
        id=ids.encode(row.id),
        user_id=ids.encode(row.user_id),
        token=token,
        expires_at=row.expires_at,
    )


@router.delete("/users/{user_id}/member-tokens", status_code=204)
def revoke_member_tokens(session: SessionDep, actor: ActorDep, user_id: str) -> Response:
    member_tokens.revoke_all(session, actor=actor, user_id=decode_id(user_id, "person"))
    session.commit()
    return Response(status_code=204)
