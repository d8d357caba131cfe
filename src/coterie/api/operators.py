"""`/api/v1/operators`: operators' permissions and passwords (admins), moving people between
groups with their records, and the agents eligible for a group."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import ColumnElement

from coterie import ids
from coterie.access import roles
from coterie.access import scope as scopes
from coterie.access.operators import moves
from coterie.access.operators import service as operators
from coterie.access.operators.schemas import (
    MoveInput,
    MoveRead,
    PasswordSet,
    PermissionsRead,
    PermissionsUpdate,
)
from coterie.actor import Role
from coterie.api.deps import ActorDep, SessionDep, decode_id
from coterie.api.users import PageQueryDep, PeopleQueryDep, people_page
from coterie.directory.listing import Scope
from coterie.directory.models import User
from coterie.directory.schemas import UserPage, UserRead
from coterie.errors import Invalid, NotFound

router = APIRouter(tags=["operators"])

ADMIN_ONLY = roles.needs(Role.ADMIN)


def _permissions_read(found: operators.Permissions) -> PermissionsRead:
    return PermissionsRead(
        user_id=ids.encode(found.user.id),
        role=found.user.role,
        group_ids=[ids.encode(g.id) for g in found.groups],
        group_names=[g.name for g in found.groups],
        capabilities=found.capabilities,
    )


@router.get("/operators", response_model=UserPage, openapi_extra=ADMIN_ONLY)
def list_operators(
    session: SessionDep, actor: ActorDep, query: PeopleQueryDep, page: PageQueryDep
) -> UserPage:
    """People who may sign in to the dashboard (any role but none), like the All Users list."""
    everyone = scopes.people(session, actor=actor)
    dashboard: ColumnElement[bool] = User.__table__.c.role != "none"
    scope = Scope(within=dashboard, membership=everyone.membership)
    return people_page(session, actor=actor, query=query, page=page, scope=scope)


@router.get(
    "/operators/{user_id}/permissions", response_model=PermissionsRead, openapi_extra=ADMIN_ONLY
)
def get_permissions(session: SessionDep, actor: ActorDep, user_id: str) -> PermissionsRead:
    found = operators.get_permissions(session, actor=actor, user_id=decode_id(user_id, "person"))
    return _permissions_read(found)


@router.put(
    "/operators/{user_id}/permissions", response_model=PermissionsRead, openapi_extra=ADMIN_ONLY
)
def set_permissions(
    session: SessionDep, actor: ActorDep, user_id: str, data: PermissionsUpdate
) -> PermissionsRead:
    """Replace the operator's group scope and capability flags."""
    found = operators.set_permissions(
        session,
        actor=actor,
        user_id=decode_id(user_id, "person"),
        group_ids=ids.decode_all(data.group_ids, what="group", at="group_ids"),
        capabilities=data.capabilities,
    )
    session.commit()
    return _permissions_read(found)


@router.put("/operators/{user_id}/password", status_code=204, openapi_extra=ADMIN_ONLY)
def set_password(session: SessionDep, actor: ActorDep, user_id: str, data: PasswordSet) -> None:
    operators.set_password(
        session, actor=actor, user_id=decode_id(user_id, "person"), password=data.password
    )
    session.commit()


@router.post("/users/{user_id}/move", response_model=MoveRead)
def move_user(session: SessionDep, actor: ActorDep, user_id: str, data: MoveInput) -> MoveRead:
    """Move a person from one manual group to another; with `transfer_records`, the timeline
    entries owned by the old group go to the new one. All or nothing."""
    done = moves.move(
        session,
        actor=actor,
        user_id=decode_id(user_id, "person"),
        from_group_id=_body_group(data.from_group_id, "from_group_id"),
        to_group_id=_body_group(data.to_group_id, "to_group_id"),
        transfer=data.transfer_records,
    )
    session.commit()
    return MoveRead(
        user_id=ids.encode(done.user_id),
        from_group_id=ids.encode(done.from_group_id),
        to_group_id=ids.encode(done.to_group_id),
        moved_records=done.moved_records,
        warning=done.warning,
    )


def _body_group(value: str, field: str) -> int:
    try:
        return ids.decode(value, what="group")
    except NotFound:
        raise Invalid(f"No group with id {value!r}", field=field) from None


@router.get(
    "/groups/{group_id}/eligible-agents",
    response_model=list[UserRead],
    openapi_extra=roles.needs(Role.READ_ONLY),
)
def eligible_agents(session: SessionDep, actor: ActorDep, group_id: str) -> list[UserRead]:
    """Scoring-enabled members of the group and roaming agents whose scope covers it."""
    found = operators.eligible_agents(session, actor=actor, group_id=decode_id(group_id, "group"))
    return [UserRead.of(u) for u in found]
