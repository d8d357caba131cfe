"""`/api/v1/groups`: groups, their members, and rule previews over HTTP.

A group's member table is the people listing of `/users` narrowed to the group, with the same
query parameters, page and CSV export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import roles
from coterie.actor import Actor, Role
from coterie.api.deps import NO_NUL, ActorDep, SessionDep, decode_id
from coterie.api.users import (
    OrderQuery,
    PageQueryDep,
    PeopleQueryDep,
    csv_response,
    page_links,
    people_csv,
    people_page,
)
from coterie.directory.export import neutralize
from coterie.directory.schemas import UserPage, UserRead
from coterie.errors import Forbidden, Invalid, NotFound
from coterie.groups import members, preview
from coterie.groups import service as groups
from coterie.groups.models import Group
from coterie.groups.schemas import (
    EvaluationRead,
    ExplainRead,
    GroupCreate,
    GroupPage,
    GroupRead,
    GroupUpdate,
    MemberChange,
    MemberChangeResult,
    RulePreview,
    RulePreviewInput,
)
from coterie.pagination import MAX_PAGE_SIZE
from coterie.rules import parse_tree, to_text

router = APIRouter(prefix="/groups", tags=["groups"])

_READERS = (Role.READ_ONLY, Role.STANDARD, Role.ADMIN)
_COPIED = (
    *("name", "description", "tags", "status", "attributes", "source", "source_ref"),
    *("selection", "behaviour", "member_count", "evaluated_at", "created_at", "updated_at"),
    *("subtree_member_count", "billing_email", "billing_plan", "billing_seats"),
)
EXPORT_COLUMNS = (
    *("id", "name", "members", "status", "kind", "tags", "created_at", "created_by"),
    "description",
)


def group_reader(actor: ActorDep) -> Actor:
    """Groups are the dashboard's: an identified_only operator sees only their own profile."""
    if actor.role not in _READERS:
        raise Forbidden(f"The {actor.role.value} role cannot see groups")
    return actor


ReaderDep = Annotated[Actor, Depends(group_reader)]


def _rule_text(tree: dict[str, Any] | None, at: str) -> str | None:
    """The stored rule as SCIM text; None when there is none, or it uses what SCIM cannot say
    (within_last, multi-valued any/all), which the JSON tree still carries."""
    if tree is None:
        return None
    try:
        return to_text(parse_tree(tree, at=at), at=at)
    except Invalid:
        return None


def group_read(session: Session, group: Group, forms: list[int] | None = None) -> GroupRead:
    """A group as the API shows it: opaque ids, the rule as both JSON tree and SCIM text."""
    if forms is None:
        forms = groups.form_ids(session, group=group)
    return GroupRead(
        id=ids.encode(group.id),
        include=group.include_rule,
        exclude=group.exclude_rule,
        include_text=_rule_text(group.include_rule, "include"),
        exclude_text=_rule_text(group.exclude_rule, "exclude"),
        excluded_user_ids=[ids.encode(i) for i in group.excluded_user_ids or ()],
        form_ids=[ids.encode(i) for i in forms],
        parent_id=ids.encode(group.parent_id) if group.parent_id is not None else None,
        created_by=group.created_by_label,
        **{name: getattr(group, name) for name in _COPIED},
    )


def _group(session: Session, actor: Actor, group_id: str) -> Group:
    return groups.get(session, actor=actor, group_id=decode_id(group_id, "group"))


GroupSort = Annotated[
    str, Query(description=f"one of {', '.join(groups.GROUP_SORTS)}", max_length=40)
]


@dataclass(frozen=True)
class GroupQuery:
    """The dashboard's selection (as `groups.list_groups` takes it), in a chosen order."""

    search: str | None
    tag: str | None
    status: str | None
    kind: str | None
    sort: str
    descending: bool


def group_query(
    q: Annotated[
        str | None, Query(description="name contains", max_length=200, pattern=NO_NUL)
    ] = None,
    tag: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    status: Literal["active", "inactive"] | None = None,
    kind: Literal["manual", "static", "dynamic"] | None = None,
    sort: GroupSort = "created_at",
    order: OrderQuery = "desc",
) -> GroupQuery:
    return GroupQuery(q, tag, status, kind, sort, order == "desc")


GroupQueryDep = Annotated[GroupQuery, Depends(group_query)]


@router.get("", response_model=GroupPage)
def list_groups(
    session: SessionDep, actor: ReaderDep, query: GroupQueryDep, page: PageQueryDep
) -> GroupPage:
    found = groups.list_groups(
        session,
        actor=actor,
        size=page.size,
        cursor=page.cursor,
        with_total=page.total,
        **asdict(query),
    )
    forms = groups.form_ids_of(
        session, workspace_id=actor.workspace_id, group_ids=[g.id for g in found.items]
    )
    return GroupPage(
        items=[group_read(session, g, forms[g.id]) for g in found.items],
        total=found.total,
        size=found.size,
        cursors=page_links(found),
    )


def _export_row(group: Group) -> list[str]:
    kind = group.behaviour if group.selection == "rule" else "manual"
    return [
        ids.encode(group.id),
        neutralize(group.name),
        str(group.member_count),
        group.status,
        kind or "",
        neutralize(";".join(group.tags or ())),
        group.created_at.isoformat(),
        neutralize(group.created_by_label),
        neutralize(group.description),
    ]


def _export_chunks(session: Session, *, actor: Actor, query: GroupQuery) -> Iterator[str]:
    """The dashboard's selection as CSV, a page of groups per chunk, walked by keyset cursor.

    Nothing is yielded before the first page is read, so a bad sort fails the first chunk.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    cursor: str | None = None
    while True:
        found = groups.list_groups(
            session,
            actor=actor,
            size=MAX_PAGE_SIZE,
            cursor=cursor,
            with_total=False,
            **asdict(query),
        )
        writer.writerows(_export_row(g) for g in found.items)
        yield buffer.getvalue()
        if found.next is None:
            return
        buffer.seek(0)
        buffer.truncate()
        cursor = found.next


@router.get("/export.csv", response_class=StreamingResponse)
def export_groups(session: SessionDep, actor: ReaderDep, query: GroupQueryDep) -> StreamingResponse:
    chunks = _export_chunks(session, actor=actor, query=query)
    return csv_response(chunks, filename="groups.csv")


@router.post("", response_model=GroupRead, status_code=201)
def create_group(session: SessionDep, actor: ReaderDep, data: GroupCreate) -> GroupRead:
    group = groups.create(session, actor=actor, data=data)
    session.commit()
    return group_read(session, group)


@router.post("/preview", response_model=RulePreview, openapi_extra=roles.needs(Role.READ_ONLY))
def preview_rule(session: SessionDep, actor: ReaderDep, data: RulePreviewInput) -> RulePreview:
    """Whom a rule selects now and, against an existing group, who would join and leave."""
    result = preview.preview(
        session,
        actor=actor,
        include=data.include,
        exclude=data.exclude,
        excluded_user_ids=tuple(
            ids.decode_all(data.excluded_user_ids, what="person", at="excluded_user_ids")
        ),
        group_id=None if data.group_id is None else decode_id(data.group_id, "group"),
        sample_size=data.sample_size,
    )
    return RulePreview(
        count=result.count,
        sample=[UserRead.of(u) for u in result.sample],
        would_add=result.would_add,
        would_remove=result.would_remove,
        add_sample=[UserRead.of(u) for u in result.add_sample],
        remove_sample=[UserRead.of(u) for u in result.remove_sample],
    )


@router.get("/{group_id}", response_model=GroupRead)
def get_group(session: SessionDep, actor: ReaderDep, group_id: str) -> GroupRead:
    return group_read(session, _group(session, actor, group_id))


@router.patch("/{group_id}", response_model=GroupRead)
def update_group(
    session: SessionDep, actor: ReaderDep, group_id: str, data: GroupUpdate
) -> GroupRead:
    group = groups.update(session, actor=actor, group_id=decode_id(group_id, "group"), data=data)
    session.commit()
    return group_read(session, group)


@router.delete("/{group_id}", status_code=204)
def delete_group(session: SessionDep, actor: ReaderDep, group_id: str) -> Response:
    groups.delete_group(session, actor=actor, group_id=decode_id(group_id, "group"))
    session.commit()
    return Response(status_code=204)


@router.get("/{group_id}/members", response_model=UserPage)
def list_members(
    session: SessionDep,
    actor: ReaderDep,
    group_id: str,
    query: PeopleQueryDep,
    page: PageQueryDep,
) -> UserPage:
    scope = members.in_group(session, group=_group(session, actor, group_id))
    return people_page(session, actor=actor, query=query, page=page, scope=scope)


@router.get("/{group_id}/members/export.csv", response_class=StreamingResponse)
def export_members(
    session: SessionDep, actor: ReaderDep, group_id: str, query: PeopleQueryDep
) -> StreamingResponse:
    scope = members.in_group(session, group=_group(session, actor, group_id))
    return people_csv(session, actor=actor, query=query, scope=scope, filename="members.csv")


def _member_change(
    session: Session, actor: Actor, group_id: int, changed: tuple[int, int]
) -> MemberChangeResult:
    """Commit a member change and report it with the group's count after it."""
    session.commit()
    count = groups.get(session, actor=actor, group_id=group_id).member_count
    return MemberChangeResult(changed=changed[0], unchanged=changed[1], member_count=count)


@router.post("/{group_id}/members", response_model=MemberChangeResult)
def add_members(
    session: SessionDep, actor: ReaderDep, group_id: str, data: MemberChange
) -> MemberChangeResult:
    """Add people to a manual group; those already in count as unchanged (expiry updated)."""
    decoded = decode_id(group_id, "group")
    result = groups.add_members(
        session,
        actor=actor,
        group_id=decoded,
        user_ids=ids.decode_all(data.user_ids, what="person", at="user_ids"),
        expires_at=data.expires_at,
    )
    return _member_change(session, actor, decoded, result)


@router.post("/{group_id}/members/remove", response_model=MemberChangeResult)
def remove_members(
    session: SessionDep, actor: ReaderDep, group_id: str, data: MemberChange
) -> MemberChangeResult:
    """Remove people from a manual group in bulk; those not in it count as unchanged."""
    decoded = decode_id(group_id, "group")
    result = groups.remove_members(
        session,
        actor=actor,
        group_id=decoded,
        user_ids=ids.decode_all(data.user_ids, what="person", at="user_ids"),
    )
    return _member_change(session, actor, decoded, result)


@router.delete("/{group_id}/members/{user_id}", status_code=204)
def remove_member(session: SessionDep, actor: ReaderDep, group_id: str, user_id: str) -> Response:
    person = decode_id(user_id, "person")
    removed, _ = groups.remove_members(
        session, actor=actor, group_id=decode_id(group_id, "group"), user_ids=[person]
    )
    if not removed:
        raise NotFound(f"{ids.encode(person)} is not a member of this group")
    session.commit()
    return Response(status_code=204)


@router.get("/{group_id}/explain/{user_id}", response_model=ExplainRead)
def explain_member(
    session: SessionDep, actor: ReaderDep, group_id: str, user_id: str
) -> ExplainRead:
    """Why a person is in or out of a rule group, clause by clause."""
    found = preview.explain_member(
        session,
        actor=actor,
        group_id=decode_id(group_id, "group"),
        user_id=decode_id(user_id, "person"),
    )
    return ExplainRead(
        member=found.selected,
        is_member=found.is_member,
        include=found.include.model_dump(mode="json"),
        exclude=None if found.exclude is None else found.exclude.model_dump(mode="json"),
        excluded_by_name=found.excluded_by_name,
    )


@router.post("/{group_id}/evaluate", response_model=EvaluationRead)
def evaluate_group(session: SessionDep, actor: ReaderDep, group_id: str) -> EvaluationRead:
    """Re-evaluate a rule group now; for a static group, take a new snapshot."""
    decoded = decode_id(group_id, "group")
    result = groups.reevaluate(session, actor=actor, group_id=decoded)
    session.commit()
    group = groups.get(session, actor=actor, group_id=decoded)
    return EvaluationRead(
        added=result.added,
        removed=result.removed,
        member_count=group.member_count,
        evaluated_at=result.at,
    )
