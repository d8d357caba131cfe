"""The All Users table: filtered, sorted, paged and exported selections of people."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor, Role
from coterie.db import utcnow
from coterie.directory import fields
from coterie.directory.models import Field, User
from coterie.directory.service import workspace_fields
from coterie.errors import Invalid
from coterie.pagination import Page, SortKey, paginate
from coterie.rules import FieldType, Rule, to_sql
from coterie.workspaces import service as workspaces

# Columns that can never be NULL sort with a plain row comparison (index friendly).
_NOT_NULL = {"full_name", "source", "status", "role", "created_at", "updated_at"}
SORTABLE = (
    "full_name",
    "first_name",
    "last_name",
    "phone",
    "email",
    "whatsapp",
    "instagram",
    "external_id",
    "primary_channel",
    "source",
    "last_activity_at",
    "created_at",
    "updated_at",
    "status",
    "role",
    "agent_id",
)
EXPORT_COLUMNS = (
    "id",
    "full_name",
    "first_name",
    "last_name",
    "phone",
    "email",
    "whatsapp",
    "instagram",
    "external_id",
    "primary_channel",
    "source",
    "last_activity_at",
    "created_at",
    "status",
)
_SAFE_NUMBER = re.compile(r"^[+-]?[0-9][0-9 .,()/-]*$")


def custom_value(field: Field) -> ColumnElement[Any]:
    """The typed SQL value of a custom field, for sorting and export."""
    element: Any = User.__table__.c.attributes[field.key]
    kind = FieldType(field.type)
    if kind in (FieldType.NUMBER, FieldType.INTEGER):
        value = element.as_float()
    elif kind is FieldType.BOOLEAN:
        value = element.as_boolean()
    elif kind is FieldType.MULTI_ENUM:
        value = element.as_json()
    else:
        value = element.as_string()
    return cast(ColumnElement[Any], value)


def sort_key(custom: Sequence[Field], sort: str) -> SortKey:
    if sort in SORTABLE:
        return SortKey(getattr(User.__table__.c, sort), nullable=sort not in _NOT_NULL)
    if sort.startswith("attributes."):
        for field in custom:
            if f"attributes.{field.key}" == sort:
                return SortKey(custom_value(field), nullable=True)
    raise Invalid(f"Cannot sort by {sort!r}", field="sort")


def selection(
    session: Session, *, actor: Actor, rule: Rule | None, custom: Sequence[Field]
) -> Select[Any]:
    """`SELECT users` of the caller's workspace matching `rule` (what a role may see only)."""
    stmt = select(User).where(User.workspace_id == actor.workspace_id)
    if actor.role is Role.IDENTIFIED_ONLY:
        stmt = stmt.where(User.id == actor.user_id)
    if rule is not None:
        workspace = workspaces.get(session, workspace_id=actor.workspace_id)
        catalog = fields.catalog(custom, region=workspace.default_region)
        dialect = session.get_bind().dialect.name
        stmt = stmt.where(to_sql(rule, catalog, dialect=dialect, now=utcnow()))
    return stmt


def list_users(
    session: Session,
    *,
    actor: Actor,
    rule: Rule | None = None,
    sort: str = "full_name",
    descending: bool = False,
    size: int = 25,
    cursor: str | None = None,
    with_total: bool = True,
) -> Page[User]:
    """One page; `with_total=False` skips the exact count (a separate, slower query)."""
    custom = workspace_fields(session, workspace_id=actor.workspace_id)
    key = sort_key(custom, sort)
    stmt = selection(session, actor=actor, rule=rule, custom=custom)
    return paginate(
        session,
        stmt,
        key=key,
        row_id=User.__table__.c.id,
        descending=descending,
        size=size,
        cursor=cursor,
        count=with_total,
    )


def neutralize(cell: str) -> str:
    """Keep spreadsheets from running a cell as a formula (OWASP CSV injection)."""
    if cell and cell[0] in "=+-@\t\r" and not _SAFE_NUMBER.match(cell):
        return "'" + cell
    return cell


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return neutralize(str(value))


def export_csv(
    session: Session,
    *,
    actor: Actor,
    rule: Rule | None = None,
    sort: str = "full_name",
    descending: bool = False,
    batch_size: int = 5000,
) -> Iterator[str]:
    """CSV text in chunks of `batch_size` rows, streamed from a server-side cursor (flat memory)."""
    custom = workspace_fields(session, workspace_id=actor.workspace_id)
    key = sort_key(custom, sort)
    base = selection(session, actor=actor, rule=rule, custom=custom)
    t = User.__table__.c
    columns = [t[name] for name in EXPORT_COLUMNS] + [custom_value(f) for f in custom]
    order = key.expression.desc() if descending else key.expression.asc()
    row_id = t.id.desc() if descending else t.id.asc()
    stmt = base.with_only_columns(*columns).order_by(order.nulls_last(), row_id)
    header = [*EXPORT_COLUMNS, *(f"attributes.{f.key}" for f in custom)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield buffer.getvalue()
    result = session.execute(stmt.execution_options(yield_per=batch_size))
    for rows in result.partitions():
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([ids.encode(row[0]), *map(_cell, row[1:])] for row in rows)
        yield buffer.getvalue()
