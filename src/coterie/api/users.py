"""`/api/v1/users`: the directory over HTTP."""

from __future__ import annotations

import itertools
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from coterie.api.deps import ActorDep, SessionDep, decode_id
from coterie.directory import listing
from coterie.directory import service as users
from coterie.directory.schemas import PageLinks, UserCreate, UserPage, UserRead, UserUpdate
from coterie.rules import parse_filter
from coterie.settings import get_settings

router = APIRouter(prefix="/users", tags=["users"])

FilterQuery = Annotated[
    str | None,
    Query(
        description='SCIM filter text (`attributes.plan eq "gold" and phone sw "+44"`) '
        "or the JSON rule tree",
        max_length=20_000,
    ),
]
SortQuery = Annotated[str, Query(description="a column or `attributes.<key>`", max_length=80)]


@router.get("", response_model=UserPage)
def list_users(
    session: SessionDep,
    actor: ActorDep,
    filter: FilterQuery = None,
    sort: SortQuery = "full_name",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    size: Annotated[int, Query(ge=1, le=200)] = 25,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    total: Annotated[bool, Query(description="false skips the exact count")] = True,
) -> UserPage:
    page = listing.list_users(
        session,
        actor=actor,
        rule=parse_filter(filter),
        sort=sort,
        descending=order == "desc",
        size=size,
        cursor=cursor,
        with_total=total,
    )
    return UserPage(
        items=[UserRead.of(u) for u in page.items],
        total=page.total,
        size=page.size,
        cursors=PageLinks(first="", prev=page.prev, next=page.next, last=page.last),
    )


@router.get("/export.csv", response_class=StreamingResponse)
def export_users(
    session: SessionDep,
    actor: ActorDep,
    filter: FilterQuery = None,
    sort: SortQuery = "full_name",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
) -> StreamingResponse:
    rule = parse_filter(filter)
    chunks = listing.export_csv(
        session,
        actor=actor,
        rule=rule,
        sort=sort,
        descending=order == "desc",
        batch_size=get_settings().export_batch_size,
    )
    first = next(chunks)  # raises bad sort/filter errors before the response starts
    return StreamingResponse(
        itertools.chain([first], chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="users.csv"'},
    )


@router.post("", response_model=UserRead, status_code=201)
def create_user(session: SessionDep, actor: ActorDep, data: UserCreate) -> UserRead:
    user = users.create(session, actor=actor, data=data)
    session.commit()
    return UserRead.of(user)


@router.get("/{user_id}", response_model=UserRead)
def get_user(session: SessionDep, actor: ActorDep, user_id: str) -> UserRead:
    return UserRead.of(users.get(session, actor=actor, user_id=decode_id(user_id, "person")))


@router.patch("/{user_id}", response_model=UserRead)
def update_user(session: SessionDep, actor: ActorDep, user_id: str, data: UserUpdate) -> UserRead:
    user = users.update(session, actor=actor, user_id=decode_id(user_id, "person"), data=data)
    session.commit()
    return UserRead.of(user)


@router.delete("/{user_id}", status_code=204)
def delete_user(session: SessionDep, actor: ActorDep, user_id: str) -> Response:
    users.delete(session, actor=actor, user_id=decode_id(user_id, "person"))
    session.commit()
    return Response(status_code=204)
