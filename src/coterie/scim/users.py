"""`/scim/v2/Users`: create, read, replace, patch, delete and search people."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from scim2_models import Context, Meta, PatchOp, ResponseParameters
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import provisioning
from coterie.actor import Actor
from coterie.directory import listing
from coterie.directory.models import Field
from coterie.directory.models import User as Person
from coterie.directory.schemas import UserCreate, UserUpdate
from coterie.directory.service import get as get_person
from coterie.directory.service import workspace_fields
from coterie.errors import Invalid
from coterie.groups import people
from coterie.scim import filters, protocol
from coterie.scim.people import document, field_key, model, person_fields
from coterie.scim.protocol import ActorDep, SessionDep
from coterie.workspaces import service as workspaces

router = APIRouter()


class Call:
    """What every request of a workspace needs: its fields, the User model, its region."""

    def __init__(self, session: Session, actor: Actor, request: Request) -> None:
        self.session, self.actor, self.request = session, actor, request
        self.custom: list[Field] = workspace_fields(session, workspace_id=actor.workspace_id)
        self.model = model(field_key(self.custom))
        self.region = workspaces.get(session, workspace_id=actor.workspace_id).default_region
        self.base = protocol.base_url(request)

    def parameters(self, attributes: str | None, excluded: str | None) -> Any:
        given = {"attributes": attributes, "excludedAttributes": excluded}
        return ResponseParameters[self.model].model_validate(  # type: ignore[name-defined]
            {k: v for k, v in given.items() if v}
        )

    def resource(self, person: Person, profile: provisioning.ScimUser | None) -> Any:
        doc = document(person, profile, self.custom, region=self.region)
        found = self.model.model_validate(doc)
        found.id = ids.encode(person.id)
        found.meta = Meta(
            resource_type="User",
            created=person.created_at,
            last_modified=max(
                person.updated_at, profile.updated_at if profile else person.updated_at
            ),
            location=f"{self.base}/Users/{found.id}",
            version=version(person, profile),
        )
        return found

    def dump(self, resource: Any, ctx: Context, parameters: Any = None) -> dict[str, Any]:
        dumped: dict[str, Any] = resource.model_dump(scim_ctx=ctx, response_parameters=parameters)
        return dumped

    def load(self, person_id: str) -> tuple[Person, provisioning.ScimUser | None]:
        person = get_person(
            self.session, actor=self.actor, user_id=protocol.decode(person_id, "User")
        )
        profile = provisioning.user_profile(
            self.session, workspace_id=self.actor.workspace_id, user_id=person.id
        )
        return person, profile

    def write(self, resource: Any, person: Person | None) -> Person:
        """Create or replace (PUT semantics: what the document leaves out is cleared)."""
        doc: dict[str, Any] = resource.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        doc.pop("schemas", None)
        user_name = doc.get("userName")
        if not isinstance(user_name, str) or not user_name.strip():
            raise Invalid("userName is required", field="userName")
        values = person_fields(doc, region=self.region)
        known = {f.key for f in self.custom}
        given = values.pop("attributes")
        unknown = set(given) - known
        if unknown:
            raise Invalid(f"no custom field named {sorted(unknown)[0]!r}", field="attributes")
        values["attributes"] = {key: given.get(key) for key in known}
        if person is None:
            person = people.create(
                self.session, actor=self.actor, data=UserCreate(source="scim", **values)
            )
        else:
            person = people.update(
                self.session, actor=self.actor, user_id=person.id, data=UserUpdate(**values)
            )
        provisioning.save_user(
            self.session,
            workspace_id=self.actor.workspace_id,
            user_id=person.id,
            user_name=user_name.strip(),
            document=doc,
        )
        return person


def version(person: Person, profile: provisioning.ScimUser | None) -> str:
    return protocol.etag(person.updated_at, profile.updated_at if profile else None)


def _respond(
    ctx: Call,
    person: Person,
    profile: provisioning.ScimUser | None,
    scim_ctx: Context,
    status: int = 200,
    parameters: Any = None,
) -> Response:
    resource = ctx.resource(person, profile)
    headers = {"ETag": resource.meta.version, "Location": resource.meta.location}
    return protocol.scim_json(ctx.dump(resource, scim_ctx, parameters), status, headers)


@router.get("/Users")
def list_users(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    filter: Annotated[str | None, Query(max_length=10_000)] = None,
    sort_by: Annotated[str | None, Query(alias="sortBy", max_length=300)] = None,
    sort_order: Annotated[str | None, Query(alias="sortOrder", max_length=20)] = None,
    start_index: Annotated[int | None, Query(alias="startIndex")] = None,
    count: Annotated[int | None, Query()] = None,
    attributes: Annotated[str | None, Query(max_length=2000)] = None,
    excluded: Annotated[str | None, Query(alias="excludedAttributes", max_length=2000)] = None,
) -> Response:
    ctx = Call(session, actor, request)
    return search(ctx, filter, sort_by, sort_order, start_index, count, attributes, excluded)


@router.post("/Users/.search")
async def search_users(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    body = await protocol.read_json(request)
    ctx = Call(session, actor, request)

    def text(key: str) -> str | None:
        value = body.get(key)
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        return None if value is None else str(value)

    def number(key: str) -> int | None:
        value = body.get(key)
        if value is not None and not isinstance(value, int):
            raise Invalid(f"{key} must be an integer", field=key)
        return value

    return search(
        ctx,
        text("filter"),
        text("sortBy"),
        text("sortOrder"),
        number("startIndex"),
        number("count"),
        text("attributes"),
        text("excludedAttributes"),
    )


def search(
    ctx: Call,
    filter_text: str | None,
    sort_by: str | None,
    sort_order: str | None,
    start_index: int | None,
    count: int | None,
    attributes: str | None,
    excluded: str | None,
) -> Response:
    start, size = protocol.page_bounds(start_index, count)
    resources, total = page(
        ctx, filter_text, sort_by, sort_order, start, size, attributes, excluded
    )
    return protocol.scim_json(protocol.list_response(resources, total=total, start=start))


def page(
    ctx: Call,
    filter_text: str | None,
    sort_by: str | None,
    sort_order: str | None,
    start: int,
    size: int,
    attributes: str | None,
    excluded: str | None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of people as SCIM documents, and how many match in all."""
    parameters = ctx.parameters(attributes, excluded)
    stmt = listing.selection(ctx.session, actor=ctx.actor, rule=None, custom=ctx.custom)
    if filter_text:
        fast = filters.user_name_equals(
            ctx.session, filter_text, workspace_id=ctx.actor.workspace_id
        )
        if fast is not None:
            stmt = stmt.where(fast)
        else:
            catalog = filters.user_catalog(ctx.custom)
            where = filters.where(ctx.session, filter_text, catalog, core=filters.CORE_USER)
            stmt = stmt.where(where)
    total = ctx.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    column = filters.sort_column(sort_by or "meta.created", resource="User", custom=ctx.custom)
    descending = (sort_order or "ascending").lower() == "descending"
    order = [column.desc() if descending else column.asc(), Person.id]
    people_found: Sequence[Person] = (
        ctx.session.scalars(stmt.order_by(*order).offset(start - 1).limit(size)).all()
        if size
        else []
    )
    profiles = provisioning.user_profiles(
        ctx.session, workspace_id=ctx.actor.workspace_id, user_ids=[p.id for p in people_found]
    )
    resources = [
        ctx.dump(ctx.resource(p, profiles.get(p.id)), Context.SEARCH_RESPONSE, parameters)
        for p in people_found
    ]
    return resources, total or 0


@router.post("/Users")
async def create_user(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    body = await protocol.read_json(request)
    ctx = Call(session, actor, request)
    resource = ctx.model.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    person = ctx.write(resource, None)
    session.commit()
    profile = provisioning.user_profile(session, workspace_id=actor.workspace_id, user_id=person.id)
    return _respond(ctx, person, profile, Context.RESOURCE_CREATION_RESPONSE, status=201)


@router.get("/Users/{person_id}")
def get_user(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    person_id: str,
    attributes: Annotated[str | None, Query(max_length=2000)] = None,
    excluded: Annotated[str | None, Query(alias="excludedAttributes", max_length=2000)] = None,
) -> Response:
    ctx = Call(session, actor, request)
    person, profile = ctx.load(person_id)
    if protocol.not_modified(request, version(person, profile)):
        return Response(status_code=304, headers={"ETag": version(person, profile)})
    parameters = ctx.parameters(attributes, excluded)
    return _respond(ctx, person, profile, Context.RESOURCE_QUERY_RESPONSE, parameters=parameters)


@router.put("/Users/{person_id}")
async def replace_user(
    request: Request, session: SessionDep, actor: ActorDep, person_id: str
) -> Response:
    body = await protocol.read_json(request)
    ctx = Call(session, actor, request)
    person, profile = ctx.load(person_id)
    protocol.check_if_match(request, version(person, profile))
    resource = ctx.model.model_validate(body, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    person = ctx.write(resource, person)
    session.commit()
    profile = provisioning.user_profile(session, workspace_id=actor.workspace_id, user_id=person.id)
    return _respond(ctx, person, profile, Context.RESOURCE_REPLACEMENT_RESPONSE)


@router.patch("/Users/{person_id}")
async def patch_user(
    request: Request, session: SessionDep, actor: ActorDep, person_id: str
) -> Response:
    body = await protocol.read_json(request)
    ctx = Call(session, actor, request)
    person, profile = ctx.load(person_id)
    protocol.check_if_match(request, version(person, profile))
    operations = PatchOp[ctx.model].model_validate(  # type: ignore[name-defined]
        body, scim_ctx=Context.RESOURCE_PATCH_REQUEST
    )
    current = ctx.resource(person, profile)
    if operations.patch(current):
        person = ctx.write(current, person)
        session.commit()
        profile = provisioning.user_profile(
            session, workspace_id=actor.workspace_id, user_id=person.id
        )
    return _respond(ctx, person, profile, Context.RESOURCE_PATCH_RESPONSE)


@router.delete("/Users/{person_id}")
def delete_user(request: Request, session: SessionDep, actor: ActorDep, person_id: str) -> Response:
    ctx = Call(session, actor, request)
    person, profile = ctx.load(person_id)
    protocol.check_if_match(request, version(person, profile))
    people.delete(session, actor=actor, user_id=person.id)
    session.commit()
    return Response(status_code=204)
