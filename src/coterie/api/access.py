"""`/api/v1/resources`, assignments and effective access over HTTP.

Reads need a read_only role, writes standard (`coterie.access.roles`); an operator limited to some
groups assigns only within them and sees only the people reached through them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import grants, roles
from coterie.access import resources as resources_service
from coterie.access.models import Resource
from coterie.access.schemas import (
    KIND_PATTERN,
    AccessCheckRead,
    AssignmentChange,
    AssignmentResult,
    Grant,
    GroupResourcesRead,
    GroupStep,
    ResourceCreate,
    ResourcePage,
    ResourceRead,
    ResourceUpdate,
    ResourceUserPage,
    ResourceUserRead,
    UserAccessRead,
)
from coterie.actor import Role
from coterie.api.deps import NO_NUL, ActorDep, SessionDep, decode_id
from coterie.api.users import PageQueryDep, page_links
from coterie.directory import service as directory
from coterie.groups import service as groups

router = APIRouter(tags=["access"])
READER = roles.needs(Role.READ_ONLY)


def resource_read(resource: Resource) -> ResourceRead:
    return ResourceRead(
        id=ids.encode(resource.id),
        kind=resource.kind,
        name=resource.name,
        description=resource.description,
        features=list(resource.features or ()),
        created_at=resource.created_at,
        updated_at=resource.updated_at,
    )


def _path(path: grants.Path) -> list[GroupStep]:
    return [GroupStep(id=ids.encode(step.id), name=step.name) for step in path]


@router.get("/resources", response_model=ResourcePage, openapi_extra=READER)
def list_resources(
    session: SessionDep,
    actor: ActorDep,
    page: PageQueryDep,
    kind: Annotated[str | None, Query(pattern=KIND_PATTERN)] = None,
    q: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
) -> ResourcePage:
    found = resources_service.list_resources(
        session,
        actor=actor,
        kind=kind,
        search=q,
        size=page.size,
        cursor=page.cursor,
        with_total=page.total,
    )
    return ResourcePage(
        items=[resource_read(r) for r in found.items],
        total=found.total,
        size=found.size,
        cursors=page_links(found),
    )


@router.post("/resources", response_model=ResourceRead, status_code=201)
def create_resource(session: SessionDep, actor: ActorDep, data: ResourceCreate) -> ResourceRead:
    resource = resources_service.create(session, actor=actor, data=data)
    session.commit()
    return resource_read(resource)


@router.get("/resources/{resource_id}", response_model=ResourceRead, openapi_extra=READER)
def get_resource(session: SessionDep, actor: ActorDep, resource_id: str) -> ResourceRead:
    rid = decode_id(resource_id, "resource")
    return resource_read(resources_service.get(session, actor=actor, resource_id=rid))


@router.patch("/resources/{resource_id}", response_model=ResourceRead)
def update_resource(
    session: SessionDep, actor: ActorDep, resource_id: str, data: ResourceUpdate
) -> ResourceRead:
    rid = decode_id(resource_id, "resource")
    resource = resources_service.update(session, actor=actor, resource_id=rid, data=data)
    session.commit()
    return resource_read(resource)


@router.delete("/resources/{resource_id}", status_code=204)
def delete_resource(session: SessionDep, actor: ActorDep, resource_id: str) -> Response:
    rid = decode_id(resource_id, "resource")
    resources_service.delete_resource(session, actor=actor, resource_id=rid)
    session.commit()
    return Response(status_code=204)


@router.get("/resources/{resource_id}/users", response_model=ResourceUserPage, openapi_extra=READER)
def resource_users(
    session: SessionDep, actor: ActorDep, resource_id: str, page: PageQueryDep
) -> ResourceUserPage:
    """The active people who may use the resource, through any group, by id."""
    resource = resources_service.get(
        session, actor=actor, resource_id=decode_id(resource_id, "resource")
    )
    found = grants.users_with(
        session,
        actor=actor,
        resource_id=resource.id,
        size=page.size,
        cursor=page.cursor,
        with_total=page.total,
    )
    return ResourceUserPage(
        items=[
            ResourceUserRead(id=ids.encode(u.id), full_name=u.full_name, email=u.email)
            for u in found.items
        ],
        total=found.total,
        size=found.size,
        cursors=page_links(found),
    )


def _pairs(data: AssignmentChange) -> tuple[list[int], list[int]]:
    return (
        ids.decode_all(data.group_ids, what="group", at="group_ids"),
        ids.decode_all(data.resource_ids, what="resource", at="resource_ids"),
    )


@router.post("/assignments", response_model=AssignmentResult)
def assign(session: SessionDep, actor: ActorDep, data: AssignmentChange) -> AssignmentResult:
    """Give every listed resource to every listed group (pairs already there are unchanged)."""
    group_ids, resource_ids = _pairs(data)
    changed = resources_service.assign(
        session, actor=actor, group_ids=group_ids, resource_ids=resource_ids
    )
    session.commit()
    return AssignmentResult(changed=changed[0], unchanged=changed[1])


@router.post("/assignments/remove", response_model=AssignmentResult)
def unassign(session: SessionDep, actor: ActorDep, data: AssignmentChange) -> AssignmentResult:
    """Take every listed resource from every listed group; access goes at the commit."""
    group_ids, resource_ids = _pairs(data)
    changed = resources_service.unassign(
        session, actor=actor, group_ids=group_ids, resource_ids=resource_ids
    )
    session.commit()
    return AssignmentResult(changed=changed[0], unchanged=changed[1])


def _group_id(session: Session, actor: ActorDep, group_id: str) -> int:
    return groups.get(session, actor=actor, group_id=decode_id(group_id, "group")).id


@router.get("/groups/{group_id}/resources", response_model=GroupResourcesRead, openapi_extra=READER)
def group_resources(session: SessionDep, actor: ActorDep, group_id: str) -> GroupResourcesRead:
    """The resources given to this group itself (its members also get those of its ancestors)."""
    gid = _group_id(session, actor, group_id)
    found = resources_service.of_groups(session, workspace_id=actor.workspace_id, group_ids=[gid])
    return GroupResourcesRead(
        group_id=ids.encode(gid), resources=[resource_read(r) for r in found[gid]]
    )


@router.get(
    "/users/{user_id}/resources",
    response_model=UserAccessRead,
    openapi_extra=roles.needs(Role.IDENTIFIED_ONLY),
)
def user_resources(session: SessionDep, actor: ActorDep, user_id: str) -> UserAccessRead:
    """What a person may use, each with the groups that give it (identified-only operators:
    their own and their assigned people's; `directory.get` refuses anyone else)."""
    user = directory.get(session, actor=actor, user_id=decode_id(user_id, "person"))
    found = grants.of_user(session, workspace_id=actor.workspace_id, user_id=user.id)
    return UserAccessRead(
        user_id=ids.encode(user.id),
        active=user.status == grants.ACTIVE,
        resources=[
            Grant(resource=resource_read(g.resource), path=_path(g.path), via=grants.via(g.path))
            for g in found
        ],
    )


@router.get("/access/check", response_model=AccessCheckRead, openapi_extra=READER)
def check_access(
    session: SessionDep,
    actor: ActorDep,
    user_id: Annotated[str, Query(max_length=40)],
    resource_id: Annotated[str, Query(max_length=40)],
) -> AccessCheckRead:
    """May this person use this resource now, and through which groups?"""
    groups.require_read(actor)
    user = directory.get(session, actor=actor, user_id=decode_id(user_id, "person"))
    resource = resources_service.get(
        session, actor=actor, resource_id=decode_id(resource_id, "resource")
    )
    path = grants.check(
        session, workspace_id=actor.workspace_id, user_id=user.id, resource_id=resource.id
    )
    if path is not None:
        reason = f"{user.full_name} may use {resource.name} via {grants.via(path)}"
    elif user.status != grants.ACTIVE:
        reason = f"{user.full_name} is {user.status}: deactivated people can use nothing"
    else:
        reason = f"No group of {user.full_name}, nor any group above one, has {resource.name}"
    return AccessCheckRead(
        allowed=path is not None,
        user_id=ids.encode(user.id),
        resource_id=ids.encode(resource.id),
        path=_path(path or ()),
        via=grants.via(path) if path else None,
        reason=reason,
    )
