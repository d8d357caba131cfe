"""`POST /scim/v2/.search`: people and groups in one paged list (RFC 7644 §3.4.3).

A filter is applied to each resource type; an attribute one type does not have selects none of
that type (`userName eq "ann"` finds people only), and is a 400 `invalidFilter` only when neither
type has it. `sortBy` sorts both types together on what they share (`meta.created`,
`meta.lastModified`, `displayName`, `externalId`, `id`); an attribute of one type only sorts the
other type's resources last (as a missing value does); ties go people first, then by creation.
Without `sortBy`, people come first.
Both are one `UNION ALL` in SQL, so paging is exact across the two types.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import (
    ColumnElement,
    Select,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from coterie.errors import Invalid
from coterie.groups.models import Group
from coterie.scim import filters, groups, protocol, users
from coterie.scim.protocol import ActorDep, SessionDep

router = APIRouter()
_USER, _GROUP = 0, 1


def _either(*attempts: Any) -> list[Any]:
    """Each attempt's result, None where it raised `Invalid`; the first error when all did."""
    results: list[Any] = []
    errors: list[Invalid] = []
    for attempt in attempts:
        try:
            results.append(attempt())
        except Invalid as exc:
            results.append(None)
            errors.append(exc)
    if len(errors) == len(attempts):
        raise errors[0]
    return results


def _keyed(stmt: Select[Any], kind: int, key: ColumnElement[Any] | None) -> Select[Any]:
    """`stmt` as (kind, id, sort key, created) rows; a missing key is NULL."""
    entity = stmt.column_descriptions[0]["entity"]
    if key is None:
        key = null()
    return stmt.with_only_columns(
        literal_column(str(kind)).label("kind"),
        entity.id.label("id"),
        key.label("key"),
        entity.created_at.label("created"),
        maintain_column_froms=True,
    ).order_by(None)


@router.post("/.search")
async def search_all(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    query = protocol.ListQuery.of_body(await protocol.read_json(request))
    start, size = query.bounds()
    filter_text, sort_by = query.filter, query.sort_by
    ctx = users.Call(session, actor, request)
    people, teams = _either(
        lambda: users.matching(ctx, filter_text)[0],
        lambda: groups.matching(session, actor, filter_text),
    )
    user_key = group_key = None
    if sort_by:
        user_key, group_key = _either(
            lambda: filters.sort_column(sort_by, resource="User", custom=ctx.custom),
            lambda: filters.sort_column(sort_by, resource="Group", custom=[]),
        )
    parts = []
    if people is not None:
        parts.append(_keyed(people, _USER, user_key))
    if teams is not None:
        parts.append(_keyed(teams, _GROUP, group_key))
    rows = union_all(*parts).subquery()
    total = session.scalar(select(func.count()).select_from(rows)) or 0
    if sort_by:
        key = rows.c.key.desc() if query.descending else rows.c.key.asc()
        order = [key.nulls_last(), rows.c.kind, rows.c.created, rows.c.id]
    else:
        order = [rows.c.kind, rows.c.created, rows.c.id]
    page: list[tuple[int, int]] = []
    if size and start <= total:
        stmt = select(rows.c.kind, rows.c.id).order_by(*order).offset(start - 1).limit(size)
        page = [(kind, found_id) for kind, found_id in session.execute(stmt)]
    resources = _render(session, request, ctx, page, query)
    return protocol.scim_json(protocol.list_response(resources, total=total, start=start))


def _render(
    session: Session,
    request: Request,
    ctx: users.Call,
    page: list[tuple[int, int]],
    query: protocol.ListQuery,
) -> list[dict[str, Any]]:
    """The page's people and groups as SCIM documents, in the page's order."""
    attributes, excluded = query.attributes, query.excluded
    user_ids = [i for kind, i in page if kind == _USER]
    group_ids = [i for kind, i in page if kind == _GROUP]
    found: dict[tuple[int, int], dict[str, Any]] = {}
    if user_ids:
        parameters = ctx.parameters(attributes, excluded) if attributes or excluded else None
        for found_id, doc in users.render(ctx, user_ids, parameters).items():
            found[_USER, found_id] = doc
    if group_ids:
        stmt = select(Group).where(
            Group.workspace_id == ctx.actor.workspace_id, Group.id.in_(group_ids)
        )
        chosen = list(session.scalars(stmt))
        parameters = groups.response_parameters(attributes, excluded)
        for group, doc in zip(
            chosen, groups.render(session, request, chosen, parameters), strict=True
        ):
            found[_GROUP, group.id] = doc
    return [found[item] for item in page]
