"""`POST /scim/v2/.search`: people then groups, in one paged list (RFC 7644 §3.4.3).

A filter names attributes of one resource type, so a filter across both is not supported
(501, as the RFC allows); search `/Users/.search` or `/Groups/.search` with one instead.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from scim2_models import NotImplementedException

from coterie.errors import Invalid
from coterie.scim import groups, protocol, users
from coterie.scim.protocol import ActorDep, SessionDep

router = APIRouter()


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    return None if value is None else str(value)


def _number(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise Invalid(f"{key} must be an integer", field=key)
    return value


@router.post("/.search")
async def search_all(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    body = await protocol.read_json(request)
    if body.get("filter"):
        raise NotImplementedException(
            detail="A filter cannot span resource types; use /Users/.search or /Groups/.search"
        )
    if body.get("sortBy"):
        raise NotImplementedException(detail="Sorting across resource types is not supported")
    start, size = protocol.page_bounds(_number(body, "startIndex"), _number(body, "count"))
    attributes, excluded = _text(body, "attributes"), _text(body, "excludedAttributes")
    ctx = users.Call(session, actor, request)
    people, people_total = users.page(ctx, None, None, None, start, size, attributes, excluded)
    group_start = max(1, start - people_total)
    group_size = size - len(people)
    found, groups_total = groups.page(
        session, request, actor, None, None, None, group_start, group_size, attributes, excluded
    )
    if start <= people_total:
        found = found if group_start == 1 else []
    resources = [*people, *found]
    total = people_total + groups_total
    return protocol.scim_json(protocol.list_response(resources, total=total, start=start))
