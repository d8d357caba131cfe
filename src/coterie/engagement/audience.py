"""A campaign's audience: members of any included group, minus members of any excluded group,
narrowed by an optional rule, active people only; counted live, frozen at launch.

The audience is one rule of the rule engine (`member_of` in the included groups AND NOT
`member_of` in the excluded ones AND the extra rule), compiled to SQL once, so the count, the
frozen list and a group's own `member_of` rules can never disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, Table, func, insert, literal, select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.db import Id, utcnow
from coterie.directory.export import neutralize
from coterie.directory.models import User
from coterie.engagement.models import RecipientChunk
from coterie.errors import Invalid
from coterie.groups.catalog import people_catalog
from coterie.groups.models import Group
from coterie.rules import Rule, parse_filter, parse_tree, to_json, to_sql

_USERS = User.__table__
_CHUNKS = cast(Table, RecipientChunk.__table__)
CHUNK = 1000  # recipients stored in one row
_CHUNKS_READ = 8  # chunks fetched by one query while paging
CSV_COLUMNS = ("id", "full_name", "email", "phone", "whatsapp", "status")


@dataclass(frozen=True)
class Audience:
    include: tuple[int, ...]
    exclude: tuple[int, ...] = ()
    rule: dict[str, Any] | None = None

    def tree(self) -> Rule:
        parts: list[dict[str, Any]] = [
            {"field": "status", "op": "eq", "value": "active"},
            {"field": "member_of", "op": "in", "value": [ids.encode(i) for i in self.include]},
        ]
        if self.exclude:
            member_of = [ids.encode(i) for i in self.exclude]
            parts.append({"not": {"field": "member_of", "op": "in", "value": member_of}})
        if self.rule is not None:
            parts.append(self.rule)
        return parse_tree({"all": parts}, at="rule")


def parse_rule(value: object) -> dict[str, Any] | None:
    """The extra rule from API input (SCIM text or JSON tree) as its canonical JSON tree."""
    if value is None or value == "" or value == {}:
        return None
    rule = parse_filter(value, at="rule")  # type: ignore[arg-type]
    return None if rule is None else to_json(rule)


def check_groups(session: Session, *, workspace_id: int, group_ids: Sequence[int], at: str) -> None:
    if not group_ids:
        return
    found = set(
        session.scalars(
            select(Group.id).where(Group.workspace_id == workspace_id, Group.id.in_(group_ids))
        )
    )
    for index, group_id in enumerate(group_ids):
        if group_id not in found:
            raise Invalid(f"No group with id {ids.encode(group_id)}", field=f"{at}[{index}]")


def where(
    session: Session, *, workspace_id: int, audience: Audience, now: datetime | None = None
) -> ColumnElement[bool]:
    """The audience as a condition on `users` (validated: a bad rule is a 400 naming `rule`)."""
    if not audience.include:
        raise Invalid("Include at least one group", field="include_group_ids")
    catalog = people_catalog(session, workspace_id=workspace_id)
    dialect = session.get_bind().dialect.name
    condition = to_sql(audience.tree(), catalog, dialect=dialect, now=now or utcnow(), at="rule")
    return (_USERS.c.workspace_id == workspace_id) & condition


def count(session: Session, *, workspace_id: int, audience: Audience) -> int:
    stmt = (
        select(func.count())
        .select_from(_USERS)
        .where(where(session, workspace_id=workspace_id, audience=audience))
    )
    return int(session.scalar(stmt) or 0)


def freeze(session: Session, *, workspace_id: int, campaign_id: int, audience: Audience) -> int:
    """Store the audience as the campaign's recipients, set-based in one statement.

    The people are numbered in id order and stored `CHUNK` to a row (`RecipientChunk`), so the
    write is a few hundred rows however large the audience; returns how many people were stored.
    """
    session.flush()
    u = _USERS.c
    position = func.row_number(type_=Integer).over(order_by=u.id) - 1
    numbered = (
        select(u.id, (position // CHUNK).label("chunk"))
        .where(where(session, workspace_id=workspace_id, audience=audience))
        .subquery()
    )
    user_ids: ColumnElement[Any]
    if session.get_bind().dialect.name == "postgresql":
        user_ids = func.array_agg(numbered.c.id)
    else:
        user_ids = func.group_concat(numbered.c.id)
    chunks = select(
        literal(workspace_id, Id),
        literal(campaign_id, Id),
        func.max(numbered.c.id),
        func.count(),
        user_ids,
    ).group_by(numbered.c.chunk)
    columns = ["workspace_id", "campaign_id", "last_user_id", "size", "user_ids"]
    session.execute(insert(_CHUNKS).from_select(columns, chunks))
    c = _CHUNKS.c
    stored = select(func.coalesce(func.sum(c.size), 0)).where(
        c.workspace_id == workspace_id, c.campaign_id == campaign_id
    )
    return int(session.scalar(stored) or 0)


@dataclass(frozen=True)
class Recipient:
    user_id: int
    full_name: str
    email: str | None
    phone: str | None
    whatsapp: str | None
    status: str | None  # None when the person was deleted since

    @property
    def active(self) -> bool:
        return self.status == "active"


def _ids_after(
    session: Session, workspace_id: int, campaign_id: int, after: int | None
) -> Iterator[list[int]]:
    """The recipients' ids above `after` in ascending order, a chunk at a time."""
    c = _CHUNKS.c
    mine = (c.workspace_id == workspace_id) & (c.campaign_id == campaign_id)
    beyond = after
    while True:
        stmt = select(c.last_user_id, c.user_ids).where(mine).order_by(c.last_user_id)
        if beyond is not None:
            stmt = stmt.where(c.last_user_id > beyond)
        rows = session.execute(stmt.limit(_CHUNKS_READ)).all()
        for _, user_ids in rows:
            # Only the first chunk can hold ids at or below `after`: chunks are runs of ids.
            yield sorted(i for i in user_ids if after is None or i > after)
        if len(rows) < _CHUNKS_READ:
            return
        beyond = rows[-1].last_user_id


def _details(session: Session, workspace_id: int, user_ids: list[int]) -> list[Recipient]:
    """The people now behind the ids, in the ids' order; a deleted person is still listed."""
    if not user_ids:
        return []
    u = _USERS.c
    stmt = select(u.id, u.full_name, u.email, u.phone, u.whatsapp, u.status).where(
        u.workspace_id == workspace_id, u.id.in_(user_ids)
    )
    found = {row.id: Recipient(*row) for row in session.execute(stmt)}
    gone = ("(deleted)", None, None, None, None)
    return [found.get(i) or Recipient(i, *gone) for i in user_ids]


def page(
    session: Session, *, workspace_id: int, campaign_id: int, size: int, after: int | None
) -> tuple[list[Recipient], int | None]:
    """A keyset page by person id; returns the page and the id to continue after (or None)."""
    if not 1 <= size <= 200:
        raise Invalid("Page size must be between 1 and 200", field="size")
    return page_all(session, workspace_id, campaign_id, size, after)


def export_csv(session: Session, *, workspace_id: int, campaign_id: int) -> Iterator[str]:
    """The frozen list as CSV in chunks (formulas neutralized), a stored chunk at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for user_ids in _ids_after(session, workspace_id, campaign_id, None):
        buffer.seek(0)
        buffer.truncate()
        for row in _details(session, workspace_id, user_ids):
            cells = [ids.encode(row.user_id), row.full_name, row.email, row.phone, row.whatsapp]
            cells.append(row.status or "deleted")
            writer.writerow([neutralize(c or "") for c in cells])
        yield buffer.getvalue()


def page_all(
    session: Session, workspace_id: int, campaign_id: int, size: int, after: int | None
) -> tuple[list[Recipient], int | None]:
    wanted: list[int] = []
    for user_ids in _ids_after(session, workspace_id, campaign_id, after):
        wanted.extend(user_ids)
        if len(wanted) > size:
            break
    more = len(wanted) > size
    wanted = wanted[:size]
    return _details(session, workspace_id, wanted), (wanted[-1] if more and wanted else None)
