"""`/api/v1/users`: the directory over HTTP.

The people listing here (filter, sort, keyset pages, CSV export) is also a group's member table,
so its query parameters and response are built by functions `coterie.api.groups` reuses.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import scope as scopes
from coterie.actor import Actor
from coterie.api.deps import ActorDep, SessionDep, decode_id
from coterie.directory import listing
from coterie.directory import service as users
from coterie.directory.export import export_csv
from coterie.directory.schemas import PageLinks, UserCreate, UserPage, UserRead, UserUpdate
from coterie.groups import people
from coterie.groups import service as groups
from coterie.groups.schemas import MembershipRead
from coterie.pagination import Page
from coterie.rules import Rule, parse_filter
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
OrderQuery = Annotated[str, Query(pattern="^(asc|desc)$")]


@dataclass(frozen=True)
class PeopleQuery:
    """Which people a table shows, and in what order."""

    rule: Rule | None
    sort: str
    descending: bool


def people_query(
    filter: FilterQuery = None, sort: SortQuery = "full_name", order: OrderQuery = "asc"
) -> PeopleQuery:
    return PeopleQuery(rule=parse_filter(filter), sort=sort, descending=order == "desc")


@dataclass(frozen=True)
class PageQuery:
    """Which page of a list, and whether to count the whole selection."""

    size: int
    cursor: str | None
    total: bool


def page_query(
    size: Annotated[int, Query(ge=1, le=200)] = 25,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    total: Annotated[bool, Query(description="false skips the exact count")] = True,
) -> PageQuery:
    return PageQuery(size=size, cursor=cursor, total=total)


PeopleQueryDep = Annotated[PeopleQuery, Depends(people_query)]
PageQueryDep = Annotated[PageQuery, Depends(page_query)]


def page_links(page: Page[Any]) -> PageLinks:
    """The cursors of a page; `first` is the same query without one."""
    return PageLinks(first="", prev=page.prev, next=page.next, last=page.last)


def people_page(
    session: Session, *, actor: Actor, query: PeopleQuery, page: PageQuery, scope: listing.Scope
) -> UserPage:
    found = listing.list_users(
        session,
        actor=actor,
        rule=query.rule,
        sort=query.sort,
        descending=query.descending,
        size=page.size,
        cursor=page.cursor,
        with_total=page.total,
        scope=scope,
    )
    return UserPage(
        items=[UserRead.of(u) for u in found.items],
        total=found.total,
        size=found.size,
        cursors=page_links(found),
    )


def csv_response(chunks: Iterator[str], *, filename: str) -> StreamingResponse:
    """Stream CSV chunks; the first is made now, so a bad sort or filter is still a clean 400."""
    first = next(chunks)
    return StreamingResponse(
        itertools.chain([first], chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def people_csv(
    session: Session, *, actor: Actor, query: PeopleQuery, scope: listing.Scope, filename: str
) -> StreamingResponse:
    chunks = export_csv(
        session,
        actor=actor,
        rule=query.rule,
        sort=query.sort,
        descending=query.descending,
        batch_size=get_settings().export_batch_size,
        scope=scope,
    )
    return csv_response(chunks, filename=filename)


@router.get("", response_model=UserPage)
def list_users(
    session: SessionDep, actor: ActorDep, query: PeopleQueryDep, page: PageQueryDep
) -> UserPage:
    scope = scopes.people(session, actor=actor)
    return people_page(session, actor=actor, query=query, page=page, scope=scope)


@router.get("/export.csv", response_class=StreamingResponse)
def export_users(session: SessionDep, actor: ActorDep, query: PeopleQueryDep) -> StreamingResponse:
    scope = scopes.people(session, actor=actor)
    return people_csv(session, actor=actor, query=query, scope=scope, filename="users.csv")


@router.post("", response_model=UserRead, status_code=201)
def create_user(session: SessionDep, actor: ActorDep, data: UserCreate) -> UserRead:
    user = people.create(session, actor=actor, data=data)
    session.commit()
    return UserRead.of(user)


@router.get("/{user_id}", response_model=UserRead)
def get_user(session: SessionDep, actor: ActorDep, user_id: str) -> UserRead:
    return UserRead.of(users.get(session, actor=actor, user_id=decode_id(user_id, "person")))


@router.patch("/{user_id}", response_model=UserRead)
def update_user(session: SessionDep, actor: ActorDep, user_id: str, data: UserUpdate) -> UserRead:
    user = people.update(session, actor=actor, user_id=decode_id(user_id, "person"), data=data)
    session.commit()
    return UserRead.of(user)


@router.delete("/{user_id}", status_code=204)
def delete_user(session: SessionDep, actor: ActorDep, user_id: str) -> Response:
    people.delete(session, actor=actor, user_id=decode_id(user_id, "person"))
    session.commit()
    return Response(status_code=204)


@router.get("/{user_id}/groups", response_model=list[MembershipRead])
def list_user_groups(session: SessionDep, actor: ActorDep, user_id: str) -> list[MembershipRead]:
    """The person's groups, with how and when they joined (an identified_only caller: their own)."""
    user = users.get(session, actor=actor, user_id=decode_id(user_id, "person"))
    return [
        MembershipRead(
            group_id=ids.encode(group.id),
            group_name=group.name,
            selection=group.selection,
            behaviour=group.behaviour,
            source=membership.source,
            added_by=membership.added_by_label,
            added_at=membership.added_at,
            expires_at=membership.expires_at,
        )
        for membership, group in groups.groups_of(session, actor=actor, user_id=user.id)
    ]
