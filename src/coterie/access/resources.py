"""Resources (bots, personas, any kind by name) and their assignment to groups.

An assignment is a stored (group, resource) pair; what a person may use follows from it at read
time (`coterie.access.grants`), so assigning or unassigning takes effect with the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import scope as scopes
from coterie.access.models import Assignment, Resource
from coterie.access.schemas import ResourceCreate, ResourceFields, ResourceUpdate
from coterie.actor import Actor
from coterie.directory.service import require_write
from coterie.errors import Conflict, Forbidden, Invalid, NotFound
from coterie.events import service as audit
from coterie.groups import service as groups
from coterie.groups.models import Group
from coterie.pagination import Page, SortKey, paginate

_AUDITED = ("kind", "name", "description", "features")
_ASSIGNMENTS = cast(Table, Assignment.__table__)


def _snapshot(resource: Resource) -> dict[str, Any]:
    return {name: getattr(resource, name) for name in _AUDITED}


def get(session: Session, *, actor: Actor, resource_id: int) -> Resource:
    groups.require_read(actor)
    resource = session.get(Resource, (actor.workspace_id, resource_id))
    if resource is None:
        raise NotFound(f"No resource with id {ids.encode(resource_id)}")
    return resource


def _unique(session: Session, *, actor: Actor, kind: str, name: str, exclude: int | None) -> None:
    existing = session.scalar(
        select(Resource).where(
            Resource.workspace_id == actor.workspace_id,
            Resource.kind == kind,
            Resource.name == name,
        )
    )
    if existing is not None and existing.id != exclude:
        raise Conflict(f"A {kind} named {name!r} already exists", field="name")


def _apply(resource: Resource, data: ResourceFields) -> None:
    values = data.model_dump(exclude_unset=True)
    for name in ("name", "description", "features"):
        if name not in values:
            continue
        value = values[name]
        if value is None:
            if name == "name":
                raise Invalid("A resource needs a name", field="name")
            value = "" if name == "description" else []
        if name == "features":
            value = list(dict.fromkeys(f.strip() for f in value if f.strip()))
            for index, feature in enumerate(value):
                if len(feature) > 40:
                    raise Invalid(
                        "A feature badge is at most 40 characters", field=f"features[{index}]"
                    )
        setattr(resource, name, value)


def _require_catalog(session: Session, *, actor: Actor, resource: Resource | None) -> None:
    """Changing the catalog of bots and personas needs the group access permission; a scoped
    operator may change only what no group outside their scope holds (a rename or a deletion
    there would change what people they cannot see may use)."""
    require_write(actor)
    _require_group_access(actor)
    if resource is None or actor.scope is None:
        return
    a = Assignment.__table__.c
    outside = session.scalar(
        select(func.count())
        .select_from(Assignment.__table__)
        .where(
            a.workspace_id == actor.workspace_id,
            a.resource_id == resource.id,
            a.group_id.not_in(sorted(actor.scope)),
        )
    )
    if outside:
        raise Forbidden(
            f"{resource.name} is given by {outside} group(s) outside your scope; "
            "an operator without a scope can change it"
        )


def create(session: Session, *, actor: Actor, data: ResourceCreate) -> Resource:
    _require_catalog(session, actor=actor, resource=None)
    _unique(session, actor=actor, kind=data.kind, name=data.name, exclude=None)
    resource = Resource(
        workspace_id=actor.workspace_id,
        id=ids.new_id(),
        kind=data.kind,
        description="",
        features=[],
    )
    _apply(resource, data)
    session.add(resource)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="resource.created",
        target_type="resource",
        target_id=resource.id,
        target_label=resource.name,
        after=_snapshot(resource),
    )
    return resource


def update(session: Session, *, actor: Actor, resource_id: int, data: ResourceUpdate) -> Resource:
    require_write(actor)
    resource = get(session, actor=actor, resource_id=resource_id)
    _require_catalog(session, actor=actor, resource=resource)
    before = _snapshot(resource)
    if data.name is not None:
        _unique(session, actor=actor, kind=resource.kind, name=data.name, exclude=resource.id)
    _apply(resource, data)
    session.flush()
    audit.record_update(
        session,
        actor=actor,
        action="resource.updated",
        target_type="resource",
        target_id=resource.id,
        target_label=resource.name,
        before=before,
        after=_snapshot(resource),
    )
    return resource


def delete_resource(session: Session, *, actor: Actor, resource_id: int) -> None:
    """Deletes the resource and its assignments: nobody can use it any more."""
    require_write(actor)
    resource = get(session, actor=actor, resource_id=resource_id)
    _require_catalog(session, actor=actor, resource=resource)
    audit.record(
        session,
        actor=actor,
        action="resource.deleted",
        target_type="resource",
        target_id=resource.id,
        target_label=resource.name,
        before=_snapshot(resource),
    )
    session.delete(resource)  # assignments go with it (ON DELETE CASCADE)
    session.flush()


def list_resources(
    session: Session,
    *,
    actor: Actor,
    kind: str | None = None,
    search: str | None = None,
    size: int = 25,
    cursor: str | None = None,
    with_total: bool = True,
) -> Page[Resource]:
    """Resources by name, keyset paged; optionally of one kind or with a name containing text."""
    groups.require_read(actor)
    stmt = select(Resource).where(Resource.workspace_id == actor.workspace_id)
    if kind is not None:
        stmt = stmt.where(Resource.kind == kind)
    if search:
        stmt = stmt.where(func.lower(Resource.name).contains(search.lower(), autoescape=True))
    key = SortKey(Resource.__table__.c.name, nullable=False, name="name")
    return paginate(
        session,
        stmt,
        key=key,
        row_id=Resource.__table__.c.id,
        descending=False,
        size=size,
        cursor=cursor,
        count=with_total,
    )


def all_of_kind(session: Session, *, workspace_id: int, kind: str) -> list[Resource]:
    """Every resource of a kind, by name (the Groups page's pickers)."""
    stmt = (
        select(Resource)
        .where(Resource.workspace_id == workspace_id, Resource.kind == kind)
        .order_by(Resource.name, Resource.id)
    )
    return list(session.scalars(stmt))


def _resources(
    session: Session, *, actor: Actor, resource_ids: Sequence[int], at: str
) -> list[Resource]:
    found = {
        r.id: r
        for r in session.scalars(
            select(Resource).where(
                Resource.workspace_id == actor.workspace_id, Resource.id.in_(resource_ids)
            )
        )
    }
    for index, resource_id in enumerate(resource_ids):
        if resource_id not in found:
            raise Invalid(f"No resource with id {ids.encode(resource_id)}", field=f"{at}[{index}]")
    return [found[r] for r in dict.fromkeys(resource_ids)]


def _insert_new(session: Session) -> Any:
    """INSERT that skips pairs already stored, on either database."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(_ASSIGNMENTS).on_conflict_do_nothing()


GROUP_ACCESS = "group_access"  # the capability flag of operators who manage what groups give


def _require_group_access(actor: Actor) -> None:
    if not actor.can(GROUP_ACCESS):
        raise Forbidden(
            "Managing the bots and personas of groups needs the group access permission"
        )


def assign(
    session: Session, *, actor: Actor, group_ids: Sequence[int], resource_ids: Sequence[int]
) -> tuple[int, int]:
    """Give every resource to every group; returns (pairs added, pairs already there)."""
    require_write(actor)
    _require_group_access(actor)
    chosen = scopes.groups_in_scope(session, actor=actor, group_ids=group_ids, at="group_ids")
    things = _resources(session, actor=actor, resource_ids=resource_ids, at="resource_ids")
    by: dict[str, Any] = {"assigned_by_id": actor.user_id, "assigned_by_label": actor.label[:200]}
    rows = [
        {"workspace_id": actor.workspace_id, "group_id": g.id, "resource_id": r.id, **by}
        for g in chosen
        for r in things
    ]
    added = 0
    for start in range(0, len(rows), 1000):
        stmt = _insert_new(session).values(rows[start : start + 1000])
        added += len(session.execute(stmt.returning(_ASSIGNMENTS.c.group_id)).all())
    if added:
        _audit(session, actor=actor, action="group.resources_assigned", pairs=(chosen, things))
    return added, len(rows) - added


def unassign(
    session: Session, *, actor: Actor, group_ids: Sequence[int], resource_ids: Sequence[int]
) -> tuple[int, int]:
    """Take every resource from every group; returns (pairs removed, pairs that were not)."""
    require_write(actor)
    _require_group_access(actor)
    chosen = scopes.groups_in_scope(session, actor=actor, group_ids=group_ids, at="group_ids")
    things = _resources(session, actor=actor, resource_ids=resource_ids, at="resource_ids")
    a = _ASSIGNMENTS.c
    removed = session.execute(
        delete(_ASSIGNMENTS)
        .where(
            a.workspace_id == actor.workspace_id,
            a.group_id.in_([g.id for g in chosen]),
            a.resource_id.in_([r.id for r in things]),
        )
        .returning(a.group_id)
    ).all()
    if removed:
        _audit(session, actor=actor, action="group.resources_unassigned", pairs=(chosen, things))
    return len(removed), len(chosen) * len(things) - len(removed)


def _audit(
    session: Session, *, actor: Actor, action: str, pairs: tuple[list[Group], list[Resource]]
) -> None:
    chosen, things = pairs
    names = [{"id": ids.encode(r.id), "kind": r.kind, "name": r.name} for r in things]
    for group in chosen:
        audit.record(
            session,
            actor=actor,
            action=action,
            target_type="group",
            target_id=group.id,
            target_label=group.name,
            after={"resources": names},
        )


def of_groups(
    session: Session, *, workspace_id: int, group_ids: Sequence[int]
) -> dict[int, list[Resource]]:
    """The resources assigned directly to each group, by kind and name, in one query."""
    found: dict[int, list[Resource]] = {group_id: [] for group_id in group_ids}
    stmt = (
        select(Assignment.group_id, Resource)
        .join(
            Resource,
            (Resource.workspace_id == Assignment.workspace_id)
            & (Resource.id == Assignment.resource_id),
        )
        .where(Assignment.workspace_id == workspace_id, Assignment.group_id.in_(group_ids))
        .order_by(Resource.kind, Resource.name, Resource.id)
    )
    for group_id, resource in session.execute(stmt):
        found[group_id].append(resource)
    return found


def counts_by_kind(session: Session, *, workspace_id: int) -> dict[int, dict[str, int]]:
    """For every group with assignments: how many resources of each kind it has directly."""
    a, r = Assignment.__table__.c, Resource.__table__.c
    stmt = (
        select(a.group_id, r.kind, func.count())
        .join(Resource.__table__, (r.workspace_id == a.workspace_id) & (r.id == a.resource_id))
        .where(a.workspace_id == workspace_id)
        .group_by(a.group_id, r.kind)
    )
    found: dict[int, dict[str, int]] = {}
    for group_id, kind, count in session.execute(stmt):
        found.setdefault(group_id, {})[kind] = count
    return found
