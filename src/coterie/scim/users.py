"""`/scim/v2/Users`: create, read, replace, patch, delete and search people."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from scim2_models import Context, Meta, PatchOp, ResponseParameters
from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, func, select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import provisioning
from coterie.access.provisioning import ScimUser
from coterie.actor import Actor
from coterie.db import Prepared
from coterie.directory import listing
from coterie.directory.models import User as Person
from coterie.directory.schemas import UserCreate, UserUpdate
from coterie.errors import Invalid, NotFound
from coterie.groups import people
from coterie.scim import filters, protocol
from coterie.scim.people import (
    VIEW_COLUMNS,
    PersonRow,
    PersonView,
    ProfileView,
    StoredProfile,
    document,
    person_fields,
    resource,
    version,
    workspace_model,
)
from coterie.scim.protocol import ActorDep, SessionDep

router = APIRouter()
_PROFILE_OF_PERSON = (ScimUser.workspace_id == Person.workspace_id) & (
    ScimUser.user_id == Person.id
)
_PERSON_WITH_PROFILE = (  # built once: every read by id runs it
    select(Person, ScimUser)
    .outerjoin(ScimUser, _PROFILE_OF_PERSON)
    .where(Person.workspace_id == bindparam("ws"), Person.id == bindparam("id"))
)
# Reads take rows of the columns a resource is made of, not ORM objects, and run as fixed
# statements on the DBAPI connection (`db.Prepared`; docs/performance.md, SCIM).
_P, _S = Person.__table__.c, ScimUser.__table__.c
_VIEW = select(
    *(_P[name] for name in VIEW_COLUMNS),
    _S.user_name,
    _S.document,
    _S.updated_at.label("profile_updated_at"),
).outerjoin(ScimUser.__table__, (_S.workspace_id == _P.workspace_id) & (_S.user_id == _P.id))
_ORDER = (_P.created_at, _P.id)  # the default order (meta.created)
PERSON_WORKSPACE = _P.workspace_id.label("person_workspace_id")  # for statements extending them


def person_by_id(ws: ColumnElement[int]) -> Select[Any]:
    """The person of id `id` in workspace `ws` (a bound parameter, or the workspace of the
    request's token: `reads`), with their SCIM document."""
    return _VIEW.where(_P.workspace_id == ws, _P.id == bindparam("id"))


def people_named(ws: ColumnElement[int], by_id: bool) -> Select[Any]:
    """The people `userName eq` names (`filters.user_name_params`) in workspace `ws`."""
    return _VIEW.where(_P.workspace_id == ws, _P.id.in_(filters.user_name_lookup(by_id, ws)))


_WS: BindParameter[int] = bindparam("ws")
_VIEW_ONE = Prepared(person_by_id(_WS), convert=True)
_VIEW_NAMED = {
    b: Prepared(people_named(_WS, b).order_by(*_ORDER), convert=True) for b in (False, True)
}
_N = len(VIEW_COLUMNS)


def _view(row: Sequence[Any]) -> tuple[PersonView, ProfileView | None]:
    """A row of `_VIEW`'s columns as the person and their SCIM document (None: SCIM has none)."""
    user_name, stored, updated_at = row[_N : _N + 3]
    profile = None if user_name is None else StoredProfile(user_name, stored, updated_at)
    return PersonRow._make(row[:_N]), profile


def found_one(
    rows: Sequence[Sequence[Any]], person_id: str
) -> tuple[PersonView, ProfileView | None]:
    """The person of the first row of `person_by_id`'s columns; 404 without one."""
    if not rows or rows[0][0] is None:
        raise NotFound(f"No person with id {person_id}")
    return _view(rows[0])


class Call:
    """What every request of a workspace needs: its fields, the User model, its region."""

    def __init__(self, session: Session, actor: Actor, request: Request) -> None:
        self.session, self.actor, self.request = session, actor, request
        workspace = protocol.workspace(request)
        self.custom, self.model = workspace_model(session, workspace)
        self.region = workspace.default_region
        self.base = protocol.base_url(request)

    def parameters(self, attributes: str | None, excluded: str | None) -> Any:
        given = {"attributes": attributes, "excludedAttributes": excluded}
        return ResponseParameters[self.model].model_validate(  # type: ignore[name-defined]
            {k: v for k, v in given.items() if v}
        )

    def resource(self, person: PersonView, profile: ProfileView | None) -> Any:
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

    def answer(
        self,
        person: PersonView,
        profile: ProfileView | None,
        ctx: Context,
        parameters: Any = None,
    ) -> dict[str, Any]:
        """The resource a response carries: built directly, or through the model when the
        request picks attributes."""
        if parameters is None or not (parameters.attributes or parameters.excluded_attributes):
            return resource(person, profile, self.custom, region=self.region, base=self.base)
        return self.dump(self.resource(person, profile), ctx, parameters)

    def load(self, person_id: str) -> tuple[Person, provisioning.ScimUser | None]:
        """The person and their SCIM document, in one query."""
        user_id = protocol.decode(person_id, "User")
        params = {"ws": self.actor.workspace_id, "id": user_id}
        found = self.session.execute(_PERSON_WITH_PROFILE, params).first()
        if found is None:
            raise NotFound(f"No person with id {ids.encode(user_id)}")
        return found[0], found[1]

    def view(self, person_id: str) -> tuple[PersonView, ProfileView | None]:
        """The person and their SCIM document to read, in one query."""
        user_id = protocol.decode(person_id, "User")
        params = {"ws": self.actor.workspace_id, "id": user_id}
        return found_one(_VIEW_ONE.rows(self.session, params), ids.encode(user_id))

    def document(self, resource: Any) -> tuple[dict[str, Any], str]:
        """The document a write stores, and its userName (400 without one)."""
        doc: dict[str, Any] = resource.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        doc.pop("schemas", None)
        user_name = doc.get("userName")
        if not isinstance(user_name, str) or not user_name.strip():
            raise Invalid("userName is required", field="userName")
        return doc, user_name.strip()

    def values(self, doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The person's fields a document gives, and apart its custom ones (400 naming one the
        workspace does not have)."""
        values = person_fields(doc, region=self.region)
        given = values.pop("attributes")
        unknown = set(given) - {f.key for f in self.custom}
        if unknown:
            raise Invalid(f"no custom field named {sorted(unknown)[0]!r}", field="attributes")
        return values, given

    def new_person(self, doc: dict[str, Any]) -> UserCreate:
        """The person a document creates (what it leaves out is unset already)."""
        values, given = self.values(doc)
        values["attributes"] = {k: v for k, v in given.items() if v is not None}
        return UserCreate(source="scim", **values)

    def write(self, resource: Any, person: Person | None) -> tuple[Person, provisioning.ScimUser]:
        """Create or replace (PUT semantics: what the document leaves out is cleared)."""
        doc, user_name = self.document(resource)
        new = person is None
        if person is None:
            data = self.new_person(doc)
            person = people.create(self.session, actor=self.actor, data=data)
        else:
            values, given = self.values(doc)
            values["attributes"] = {f.key: given.get(f.key) for f in self.custom}
            person = people.update(
                self.session, actor=self.actor, user_id=person.id, data=UserUpdate(**values)
            )
        profile = provisioning.save_user(
            self.session,
            workspace_id=self.actor.workspace_id,
            user_id=person.id,
            user_name=user_name,
            document=doc,
            new=new,
        )
        return person, profile


def respond(
    ctx: Call,
    person: PersonView,
    profile: ProfileView | None,
    scim_ctx: Context,
    status: int = 200,
    parameters: Any = None,
) -> Response:
    found = ctx.answer(person, profile, scim_ctx, parameters)
    location = f"{ctx.base}/Users/{ids.encode(person.id)}"
    tag = found.get("meta", {}).get("version") or version(person, profile)
    headers = {"ETag": tag, "Location": location}
    return protocol.scim_json(found, status, headers)


@router.get("/Users")
async def list_users(
    request: Request, session: SessionDep, actor: ActorDep, query: protocol.ListQueryDep
) -> Response:
    return search(Call(session, actor, request), query)


@router.post("/Users/.search")
async def search_users(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    body = await protocol.read_json(request)
    return search(Call(session, actor, request), protocol.ListQuery.of_body(body))


def search(ctx: Call, query: protocol.ListQuery) -> Response:
    start, size = query.bounds()
    resources, total = page(ctx, query, start, size)
    return protocol.scim_json(protocol.list_response(resources, total=total, start=start))


def page(
    ctx: Call, query: protocol.ListQuery, start: int, size: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of people as SCIM documents, and how many match in all."""
    attributes, excluded = query.attributes, query.excluded
    parameters = ctx.parameters(attributes, excluded) if attributes or excluded else None
    ascending = (query.sort_order or "ascending").lower() == "ascending"
    if query.filter and not query.sort_by and ascending:
        params = filters.user_name_params(query.filter)
        if params is not None:  # the lookup before every provisioning: a statement built once
            lookup = _VIEW_NAMED[params["id"] is not None]
            rows = lookup.rows(ctx.session, {"ws": ctx.actor.workspace_id, **params})
            return named_page(ctx, rows, start, size, parameters)
    stmt, total = matching(ctx, query.filter)
    if total is None:
        counted = select(func.count()).select_from(stmt.order_by(None).subquery())
        total = ctx.session.scalar(counted) or 0
    sort_by = query.sort_by or "meta.created"
    column = filters.sort_column(sort_by, resource="User", custom=ctx.custom)
    order = [column.desc() if query.descending else column.asc(), Person.id]
    found: Sequence[tuple[Person, ScimUser | None]] = []
    if size and start <= total:
        with_profiles = stmt.add_columns(ScimUser).outerjoin(ScimUser, _PROFILE_OF_PERSON)
        paged = with_profiles.order_by(*order).offset(start - 1).limit(size)
        found = [(p, profile) for p, profile in ctx.session.execute(paged)]
    resources = [
        ctx.answer(person, profile, Context.SEARCH_RESPONSE, parameters)
        for person, profile in found
    ]
    return resources, total


def named_page(
    ctx: Call, rows: Sequence[Sequence[Any]], start: int, size: int, parameters: Any
) -> tuple[list[dict[str, Any]], int]:
    """A page of the people a `userName eq` lookup read (all of them, in the default order)."""
    found = [_view(row) for row in rows[start - 1 : start - 1 + size]]
    context = Context.SEARCH_RESPONSE
    return [ctx.answer(p, profile, context, parameters) for p, profile in found], len(rows)


def matching(ctx: Call, filter_text: str | None) -> tuple[Select[Any], int | None]:
    """`SELECT` the people a filter selects, and how many they are when that is known already
    (`userName eq` is answered on indexes first)."""
    stmt = listing.selection(ctx.session, actor=ctx.actor, rule=None, custom=ctx.custom)
    if not filter_text:
        return stmt, None
    named = filters.user_name_equals(ctx.session, filter_text, workspace_id=ctx.actor.workspace_id)
    if named is not None:
        return stmt.where(filters.user_ids_in(named)), len(named)
    catalog = filters.user_catalog(ctx.custom)
    return stmt.where(
        filters.where(ctx.session, filter_text, catalog, core=filters.CORE_USER)
    ), None


def render(ctx: Call, user_ids: list[int], parameters: Any) -> dict[int, dict[str, Any]]:
    """People by id as search results."""
    stmt = (
        select(Person, ScimUser)
        .outerjoin(ScimUser, _PROFILE_OF_PERSON)
        .where(Person.workspace_id == ctx.actor.workspace_id, Person.id.in_(user_ids))
    )
    return {
        person.id: ctx.answer(person, profile, Context.SEARCH_RESPONSE, parameters)
        for person, profile in ctx.session.execute(stmt)
    }


@router.post("/Users")
async def create_user(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    body = await protocol.read_json(request)
    ctx = Call(session, actor, request)
    resource = ctx.model.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    person, profile = ctx.write(resource, None)
    session.commit()
    return respond(ctx, person, profile, Context.RESOURCE_CREATION_RESPONSE, status=201)


@router.get("/Users/{person_id}")
async def get_user(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    person_id: str,
    attributes: Annotated[str | None, Query(max_length=2000)] = None,
    excluded: Annotated[str | None, Query(alias="excludedAttributes", max_length=2000)] = None,
) -> Response:
    ctx = Call(session, actor, request)
    parameters = ctx.parameters(attributes, excluded) if attributes or excluded else None
    return read(ctx, ctx.view(person_id), parameters)


def read(ctx: Call, found: tuple[PersonView, ProfileView | None], parameters: Any) -> Response:
    """A person as a SCIM User (304 when `If-None-Match` names their version)."""
    person, profile = found
    tag = version(person, profile)
    if protocol.not_modified(ctx.request, tag):
        return Response(status_code=304, headers={"ETag": tag})
    return respond(ctx, person, profile, Context.RESOURCE_QUERY_RESPONSE, parameters=parameters)


@router.put("/Users/{person_id}")
async def replace_user(
    request: Request, session: SessionDep, actor: ActorDep, person_id: str
) -> Response:
    body = await protocol.read_json(request)
    ctx = Call(session, actor, request)
    person, profile = ctx.load(person_id)
    protocol.check_if_match(request, version(person, profile))
    resource = ctx.model.model_validate(body, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    person, profile = ctx.write(resource, person)
    session.commit()
    return respond(ctx, person, profile, Context.RESOURCE_REPLACEMENT_RESPONSE)


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
        person, profile = ctx.write(current, person)
        session.commit()
    return respond(ctx, person, profile, Context.RESOURCE_PATCH_RESPONSE)


@router.delete("/Users/{person_id}")
async def delete_user(
    request: Request, session: SessionDep, actor: ActorDep, person_id: str
) -> Response:
    ctx = Call(session, actor, request)
    person, profile = ctx.load(person_id)
    protocol.check_if_match(request, version(person, profile))
    people.delete(session, actor=actor, user_id=person.id)
    session.commit()
    return Response(status_code=204)
