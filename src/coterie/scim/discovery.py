"""Discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas, each read-only.

The schemas publish what Coterie keeps, not all of RFC 7643: a client that reads them knows
which attributes round-trip. The custom-field extension is the calling workspace's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    External,
    Filter,
    Meta,
    Patch,
    Reference,
    ResourceType,
    Schema,
    SchemaExtension,
    ServiceProviderConfig,
    Sort,
)

from coterie.directory.service import workspace_fields
from coterie.errors import NotFound
from coterie.scim import groups, people, protocol
from coterie.scim.filters import CORE_GROUP, CORE_USER, COTERIE_USER
from coterie.scim.protocol import ActorDep, SessionDep

router = APIRouter()


def service_provider_config(base: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=Reference[External]("https://github.com/coterie/coterie/docs/scim.md"),
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=protocol.MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="SCIM token",
                description="A workspace's SCIM token: Authorization: Bearer scim_...",
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base}/ServiceProviderConfig"),
    )


def resource_types(base: str, *, custom_fields: bool) -> list[ResourceType]:
    """The Coterie extension of User is listed when the workspace has custom fields."""
    extensions = [SchemaExtension(schema_=people.ENTERPRISE, required=False)]
    if custom_fields:
        extensions.append(SchemaExtension(schema_=COTERIE_USER, required=False))
    user = ResourceType(
        id="User",
        name="User",
        description="A person in the workspace's directory",
        endpoint="/Users",
        schema_=CORE_USER,
        schema_extensions=extensions,
        meta=Meta(resource_type="ResourceType", location=f"{base}/ResourceTypes/User"),
    )
    group = ResourceType(
        id="Group",
        name="Group",
        description="A group of people",
        endpoint="/Groups",
        schema_=CORE_GROUP,
        schema_extensions=[SchemaExtension(schema_=groups.COTERIE_GROUP, required=False)],
        meta=Meta(resource_type="ResourceType", location=f"{base}/ResourceTypes/Group"),
    )
    return [user, group]


def schemas(session: Any, workspace_id: int, base: str) -> list[Schema]:
    custom = workspace_fields(session, workspace_id=workspace_id)
    found = [people.user_schema(), people.enterprise_schema()]
    if custom:
        found.append(people.coterie_schema(people.field_key(custom)))
    found += [groups.group_schema(), groups.coterie_group_schema()]
    return [
        s.model_copy(
            update={"meta": Meta(resource_type="Schema", location=f"{base}/Schemas/{s.id}")}
        )
        for s in found
    ]


def _dump(item: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = item.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return dumped


def _listing(items: list[Any]) -> Response:
    resources = [_dump(i) for i in items]
    return protocol.scim_json(protocol.list_response(resources, total=len(resources), start=1))


@router.get("/ServiceProviderConfig")
async def get_service_provider_config(request: Request, actor: ActorDep) -> Response:
    return protocol.scim_json(_dump(service_provider_config(protocol.base_url(request))))


def _types(session: Any, actor: Any, request: Request) -> list[ResourceType]:
    custom = workspace_fields(session, workspace_id=actor.workspace_id)
    return resource_types(protocol.base_url(request), custom_fields=bool(custom))


@router.get("/ResourceTypes")
async def list_resource_types(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _listing(_types(session, actor, request))


@router.get("/ResourceTypes/{name}")
async def get_resource_type(
    request: Request, session: SessionDep, actor: ActorDep, name: str
) -> Response:
    for found in _types(session, actor, request):
        if found.id == name:
            return protocol.scim_json(_dump(found))
    raise NotFound(f"No resource type {name}")


@router.get("/Schemas")
async def list_schemas(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _listing(schemas(session, actor.workspace_id, protocol.base_url(request)))


@router.get("/Schemas/{schema_id}")
async def get_schema(
    request: Request, session: SessionDep, actor: ActorDep, schema_id: str
) -> Response:
    for found in schemas(session, actor.workspace_id, protocol.base_url(request)):
        if found.id == schema_id:
            return protocol.scim_json(_dump(found))
    raise NotFound(f"No schema {schema_id}")
