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

from sqlalchemy import ColumnElement, String, Table, func, insert, literal, select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.db import Id, utcnow
from coterie.directory.listing import neutralize
from coterie.directory.models import User
from coterie.engagement.models import CampaignRecipient
from coterie.errors import Invalid
from coterie.groups.catalog import people_catalog
from coterie.groups.models import Group
from coterie.rules import Rule, parse_filter, parse_tree, to_json, to_sql

_USERS = User.__table__
_RECIPIENTS = cast(Table, CampaignRecipient.__table__)
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
    """Store the audience as the campaign's recipients, set-based in one statement."""
    session.flush()
    # In id order: the recipients' key grows left to right, so the index is written sequentially.
    chosen = (
        select(literal(workspace_id, Id), literal(campaign_id, Id), _USERS.c.id)
        .where(where(session, workspace_id=workspace_id, audience=audience))
        .order_by(_USERS.c.id)
    )
    columns = ["workspace_id", "campaign_id", "user_id"]
    session.execute(insert(_RECIPIENTS).from_select(columns, chosen))
    r = _RECIPIENTS.c
    stored = select(func.count()).where(
        r.workspace_id == workspace_id, r.campaign_id == campaign_id
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


def _rows(session: Session, *, workspace_id: int, campaign_id: int) -> Any:
    r, u = _RECIPIENTS.c, _USERS.c
    return (
        select(
            r.user_id,
            func.coalesce(u.full_name, literal("(deleted)", String)),
            u.email,
            u.phone,
            u.whatsapp,
            u.status,
        )
        .select_from(
            _RECIPIENTS.outerjoin(_USERS, (u.workspace_id == r.workspace_id) & (u.id == r.user_id))
        )
        .where(r.workspace_id == workspace_id, r.campaign_id == campaign_id)
        .order_by(r.user_id)
    )


def page(
    session: Session, *, workspace_id: int, campaign_id: int, size: int, after: int | None
) -> tuple[list[Recipient], int | None]:
    """A keyset page by person id; returns the page and the id to continue after (or None)."""
    if not 1 <= size <= 200:
        raise Invalid("Page size must be between 1 and 200", field="size")
    return page_all(session, workspace_id, campaign_id, size, after)


def export_csv(
    session: Session, *, workspace_id: int, campaign_id: int, batch: int = 5000
) -> Iterator[str]:
    """The frozen list as CSV in chunks (formulas neutralized), paged by id as it streams."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    after: int | None = None
    while True:
        rows, after = page_all(session, workspace_id, campaign_id, batch, after)
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            cells = [ids.encode(row.user_id), row.full_name, row.email, row.phone, row.whatsapp]
            cells.append(row.status or "deleted")
            writer.writerow([neutralize(c or "") for c in cells])
        yield buffer.getvalue()
        if after is None:
            return


def page_all(
    session: Session, workspace_id: int, campaign_id: int, size: int, after: int | None
) -> tuple[list[Recipient], int | None]:
    stmt = _rows(session, workspace_id=workspace_id, campaign_id=campaign_id)
    if after is not None:
        stmt = stmt.where(_RECIPIENTS.c.user_id > after)
    found = [Recipient(*row) for row in session.execute(stmt.limit(size + 1))]
    more = len(found) > size
    found = found[:size]
    return found, (found[-1].user_id if more and found else None)
