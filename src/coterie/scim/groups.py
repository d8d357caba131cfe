"""`/scim/v2/Groups`: displayName, members and externalId over Coterie groups.

Members are written as `scim` memberships. Rule groups are listed too, but their members are the
rule's: writing them is a 400 `mutability`. A group with more than `MEMBERS_INLINE` members lists
none; its Coterie extension says so and where to page through them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from scim2_models import (
    Attribute,
    Context,
    Extension,
    Group,
    Meta,
    Mutability,
    PatchOp,
    PatchOperation,
    ResponseParameters,
    Schema,
)
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import provisioning
from coterie.actor import Actor
from coterie.errors import Invalid
from coterie.groups import service as groups
from coterie.groups.models import Group as CoterieGroup
from coterie.groups.models import Membership
from coterie.groups.schemas import GroupCreate, GroupUpdate
from coterie.scim import checks, filters, protocol
from coterie.scim.protocol import ActorDep, SessionDep

router = APIRouter()
COTERIE_GROUP = "urn:coterie:params:scim:schemas:extension:group:2.0:Group"
_MEMBER_VALUE = re.compile(r'^members\[\s*value\s+eq\s+"([^"]*)"\s*\]$', re.IGNORECASE)


class MutabilityError(Invalid):
    """Writing what SCIM may only read (a rule group's members)."""

    scim_type = "mutability"


def group_schema() -> Schema:
    schema = Group.to_schema()
    attributes = []
    for attribute in schema.attributes or []:
        if attribute.name == "members":
            subs = [
                s for s in attribute.sub_attributes or [] if s.name in ("value", "$ref", "type")
            ]
            attribute = attribute.model_copy(update={"sub_attributes": subs})
        attributes.append(attribute)
    return schema.model_copy(update={"attributes": attributes})


def coterie_group_schema() -> Schema:
    def read_only(name: str, kind: Attribute.Type, description: str) -> Attribute:
        return Attribute(
            name=name, type=kind, description=description, mutability=Mutability.read_only
        )

    return Schema(
        id=COTERIE_GROUP,
        name="CoterieGroup",
        description="How Coterie keeps the group",
        attributes=[
            Attribute(
                name="description",
                type=Attribute.Type.string,
                description="what the group is for",
                mutability=Mutability.read_write,
            ),
            read_only("selection", Attribute.Type.string, "manual, or rule (members read-only)"),
            read_only("memberCount", Attribute.Type.integer, "direct members"),
            read_only("membersInlined", Attribute.Type.boolean, "false: members are not listed"),
            read_only("membersUrl", Attribute.Type.string, "where to page through the members"),
        ],
    )


@lru_cache(maxsize=1)
def model() -> Any:
    return checks.planned(Group[Extension.from_schema(coterie_group_schema())])  # type: ignore[misc]


def version(group: CoterieGroup, profile: provisioning.ScimGroup | None) -> str:
    return protocol.etag(
        group.updated_at, profile.updated_at if profile else None, extra=str(group.member_count)
    )


def _members(session: Session, groups_: list[CoterieGroup]) -> dict[int, list[int]]:
    small = [g.id for g in groups_ if g.member_count <= protocol.MEMBERS_INLINE]
    found: dict[int, list[int]] = {g: [] for g in small}
    if small:
        stmt = select(Membership.group_id, Membership.user_id).where(
            Membership.workspace_id == groups_[0].workspace_id, Membership.group_id.in_(small)
        )
        for group_id, user_id in session.execute(stmt.order_by(Membership.added_at)):
            found[group_id].append(user_id)
    return found


def _resource(
    group: CoterieGroup,
    profile: provisioning.ScimGroup | None,
    members: list[int] | None,
    base: str,
) -> Any:
    gid = ids.encode(group.id)
    doc: dict[str, Any] = {"displayName": group.name}
    if members:
        doc["members"] = [
            {"value": ids.encode(m), "$ref": f"{base}/Users/{ids.encode(m)}", "type": "User"}
            for m in members
        ]
    if profile is not None and profile.external_id:
        doc["externalId"] = profile.external_id
    extension: dict[str, Any] = {"description": group.description or None}
    if members is None or group.selection != "manual":  # say why members are missing or fixed
        extension |= {
            "selection": group.selection,
            "memberCount": group.member_count,
            "membersInlined": members is not None,
            "membersUrl": f"/api/v1/groups/{gid}/members",
        }
    if any(v is not None for v in extension.values()):
        doc[COTERIE_GROUP] = {k: v for k, v in extension.items() if v is not None}
    resource = model().model_validate(doc)
    resource.id = gid
    resource.meta = Meta(
        resource_type="Group",
        created=group.created_at,
        last_modified=group.updated_at,
        location=f"{base}/Groups/{gid}",
        version=version(group, profile),
    )
    return resource


def _respond(
    session: Session,
    request: Request,
    group: CoterieGroup,
    scim_ctx: Context,
    status: int = 200,
    parameters: Any = None,
) -> Response:
    profile = provisioning.group_profile(
        session, workspace_id=group.workspace_id, group_id=group.id
    )
    members = _members(session, [group]).get(group.id)
    resource = _resource(group, profile, members, protocol.base_url(request))
    body = resource.model_dump(scim_ctx=scim_ctx, response_parameters=parameters)
    headers = {"ETag": resource.meta.version, "Location": resource.meta.location}
    return protocol.scim_json(body, status, headers)


def response_parameters(attributes: str | None, excluded: str | None) -> Any:
    given = {"attributes": attributes, "excludedAttributes": excluded}
    return ResponseParameters[model()].model_validate(  # type: ignore[misc]
        {k: v for k, v in given.items() if v}
    )


def _load(session: Session, actor: Actor, group_id: str) -> CoterieGroup:
    return groups.get(session, actor=actor, group_id=protocol.decode(group_id, "Group"))


def _member_ids(session: Session, actor: Actor, values: Any) -> list[int]:
    found: list[int] = []
    for item in values or []:
        value = item.get("value") if isinstance(item, dict) else getattr(item, "value", None)
        try:
            found.append(ids.decode(str(value), what="User"))
        except Exception:
            raise Invalid(f"no person with id {value}", field="members") from None
    return found


def _set_members(
    session: Session, actor: Actor, group: CoterieGroup, *, add: list[int], remove: list[int]
) -> None:
    if (add or remove) and group.selection != "manual":
        raise MutabilityError("The members of a rule group follow its rule", field="members")
    if remove:
        groups.remove_members(
            session, actor=actor, group_id=group.id, user_ids=remove, reason="scim"
        )
    if add:
        groups.add_members(session, actor=actor, group_id=group.id, user_ids=add, source="scim")


def _current_members(session: Session, group: CoterieGroup) -> set[int]:
    stmt = select(Membership.user_id).where(
        Membership.workspace_id == group.workspace_id, Membership.group_id == group.id
    )
    return set(session.scalars(stmt))


def _replace_members(
    session: Session, actor: Actor, group: CoterieGroup, wanted: list[int]
) -> None:
    current = _current_members(session, group)
    target = set(wanted)
    _set_members(
        session,
        actor,
        group,
        add=[m for m in wanted if m not in current],
        remove=sorted(current - target),
    )


@router.get("/Groups")
async def list_groups(
    request: Request, session: SessionDep, actor: ActorDep, query: protocol.ListQueryDep
) -> Response:
    start, size = query.bounds()
    found, total = page(session, request, actor, query, start, size)
    return protocol.scim_json(protocol.list_response(found, total=total, start=start))


def page(
    session: Session,
    request: Request,
    actor: Actor,
    query: protocol.ListQuery,
    start: int,
    size: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of groups as SCIM documents, and how many match in all."""
    parameters = response_parameters(query.attributes, query.excluded)
    stmt = matching(session, actor, query.filter)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    column = filters.sort_column(query.sort_by or "meta.created", resource="Group", custom=[])
    order = [column.desc() if query.descending else column.asc(), CoterieGroup.id]
    found = (
        list(session.scalars(stmt.order_by(*order).offset(start - 1).limit(size))) if size else []
    )
    return render(session, request, found, parameters), total


def matching(session: Session, actor: Actor, filter: str | None) -> Select[CoterieGroup]:
    """`SELECT` the groups a filter selects."""
    stmt = select(CoterieGroup).where(CoterieGroup.workspace_id == actor.workspace_id)
    if filter:
        catalog = filters.group_catalog()
        stmt = stmt.where(filters.where(session, filter, catalog, core=filters.CORE_GROUP))
    return stmt


def render(
    session: Session, request: Request, found: list[CoterieGroup], parameters: Any
) -> list[dict[str, Any]]:
    """Groups as search results."""
    members = _members(session, found) if found else {}
    base = protocol.base_url(request)
    resources = []
    for group in found:
        profile = provisioning.group_profile(
            session, workspace_id=group.workspace_id, group_id=group.id
        )
        resource = _resource(group, profile, members.get(group.id), base)
        resources.append(
            resource.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=parameters)
        )
    return resources


@router.post("/Groups")
async def create_group(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    body = await protocol.read_json(request)
    resource = model().model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    extension = resource[_extension()]
    data = GroupCreate(
        name=resource.display_name or "",
        description=(extension.description if extension is not None else None) or "",
        source="scim",
    )
    group = groups.create(session, actor=actor, data=data)
    provisioning.save_group(
        session,
        workspace_id=actor.workspace_id,
        group_id=group.id,
        external_id=resource.external_id,
    )
    _set_members(
        session, actor, group, add=_member_ids(session, actor, resource.members), remove=[]
    )
    session.commit()
    session.refresh(group)
    return _respond(session, request, group, Context.RESOURCE_CREATION_RESPONSE, status=201)


@router.get("/Groups/{group_id}")
async def get_group(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    group_id: str,
    attributes: Annotated[str | None, Query(max_length=2000)] = None,
    excluded: Annotated[str | None, Query(alias="excludedAttributes", max_length=2000)] = None,
) -> Response:
    group = _load(session, actor, group_id)
    profile = provisioning.group_profile(
        session, workspace_id=group.workspace_id, group_id=group.id
    )
    if protocol.not_modified(request, version(group, profile)):
        return Response(status_code=304, headers={"ETag": version(group, profile)})
    parameters = response_parameters(attributes, excluded)
    return _respond(session, request, group, Context.RESOURCE_QUERY_RESPONSE, parameters=parameters)


def _check_version(session: Session, request: Request, group: CoterieGroup) -> None:
    profile = provisioning.group_profile(
        session, workspace_id=group.workspace_id, group_id=group.id
    )
    protocol.check_if_match(request, version(group, profile))


def _rename(session: Session, actor: Actor, group: CoterieGroup, resource: Any) -> None:
    """displayName, and the description of the Coterie extension (absent: cleared)."""
    changes: dict[str, Any] = {}
    if resource.display_name and resource.display_name != group.name:
        changes["name"] = resource.display_name
    extension = resource[_extension()]
    description = (extension.description if extension is not None else None) or ""
    if description != group.description:
        changes["description"] = description
    if changes:
        groups.update(session, actor=actor, group_id=group.id, data=GroupUpdate(**changes))


def _extension() -> Any:
    return model().get_extension_models()[COTERIE_GROUP]


@router.put("/Groups/{group_id}")
async def replace_group(
    request: Request, session: SessionDep, actor: ActorDep, group_id: str
) -> Response:
    body = await protocol.read_json(request)
    group = _load(session, actor, group_id)
    _check_version(session, request, group)
    resource = model().model_validate(body, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    _rename(session, actor, group, resource)
    provisioning.save_group(
        session,
        workspace_id=actor.workspace_id,
        group_id=group.id,
        external_id=resource.external_id,
    )
    if group.selection == "manual" or resource.members:
        _replace_members(session, actor, group, _member_ids(session, actor, resource.members))
    session.commit()
    session.refresh(group)
    return _respond(session, request, group, Context.RESOURCE_REPLACEMENT_RESPONSE)


@router.patch("/Groups/{group_id}")
async def patch_group(
    request: Request, session: SessionDep, actor: ActorDep, group_id: str
) -> Response:
    """Member operations go straight to memberships (a large group is never loaded whole);
    the others are applied by scim2-models to the group's document."""
    body = await protocol.read_json(request)
    group = _load(session, actor, group_id)
    _check_version(session, request, group)
    patch = PatchOp[model()].model_validate(  # type: ignore[misc]
        body, scim_ctx=Context.RESOURCE_PATCH_REQUEST
    )
    profile = provisioning.group_profile(
        session, workspace_id=group.workspace_id, group_id=group.id
    )
    current = _resource(group, profile, None, protocol.base_url(request))
    others = []
    for operation in patch.operations or []:
        if not _members_operation(session, actor, group, operation):
            others.append(operation)
    if others:
        rest = PatchOp[model()](operations=others)  # type: ignore[misc,operator]
        rest.patch(current)
        _rename(session, actor, group, current)
        provisioning.save_group(
            session,
            workspace_id=actor.workspace_id,
            group_id=group.id,
            external_id=current.external_id,
        )
    session.commit()
    session.refresh(group)
    return _respond(session, request, group, Context.RESOURCE_PATCH_RESPONSE)


def _members_operation(
    session: Session, actor: Actor, group: CoterieGroup, operation: PatchOperation[Any]
) -> bool:
    """Carry out an operation on `members`; False when it is about something else."""
    path = str(operation.path) if operation.path is not None else ""
    op = operation.op.value if hasattr(operation.op, "value") else str(operation.op)
    value = operation.value
    if not path and isinstance(value, dict) and any(k.lower() == "members" for k in value):
        key = next(k for k in value if k.lower() == "members")
        members = _member_ids(session, actor, value.pop(key))
        if op == "replace":
            _replace_members(session, actor, group, members)
        else:
            _set_members(session, actor, group, add=members, remove=[])
        return not value
    matched = _MEMBER_VALUE.match(path)
    if matched and op == "remove":
        gone = _member_ids(session, actor, [{"value": matched.group(1)}])
        _set_members(session, actor, group, add=[], remove=gone)
        return True
    if path.lower() != "members":
        return False
    members = _member_ids(
        session, actor, value if isinstance(value, list) else [value] if value else []
    )
    if op == "add":
        current = _current_members(session, group)
        _set_members(session, actor, group, add=[m for m in members if m not in current], remove=[])
    elif op == "replace":
        _replace_members(session, actor, group, members)
    elif members:
        _set_members(session, actor, group, add=[], remove=members)
    else:
        _replace_members(session, actor, group, [])
    return True


@router.delete("/Groups/{group_id}")
async def delete_group(
    request: Request, session: SessionDep, actor: ActorDep, group_id: str
) -> Response:
    group = _load(session, actor, group_id)
    _check_version(session, request, group)
    groups.delete_group(session, actor=actor, group_id=group.id)
    session.commit()
    return Response(status_code=204)
