"""The All Users table: filtered, sorted, paged and exported selections of people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    select,
)
from sqlalchemy.orm import Session

from coterie.actor import Actor, Role
from coterie.db import utcnow
from coterie.directory import counts, fields
from coterie.directory.models import Field, User
from coterie.directory.service import workspace_fields
from coterie.errors import Invalid
from coterie.pagination import Page, SortKey, paginate
from coterie.rules import FieldType, MembershipSource, Rule, to_sql
from coterie.workspaces import service as workspaces

# Columns that can never be NULL sort with a plain row comparison (index friendly).
_NOT_NULL = {"id", "full_name", "source", "status", "role", "created_at", "updated_at"}
_NOT_NULL |= {"scoring_enabled", "roaming"}
SORTABLE = (
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
    "updated_at",
    "status",
    "role",
    "agent_id",
    "scoring_enabled",
    "roaming",
)


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
        return SortKey(getattr(User.__table__.c, sort), nullable=sort not in _NOT_NULL, name=sort)
    if sort.startswith("attributes."):
        for field in custom:
            if f"attributes.{field.key}" == sort:
                return SortKey(custom_value(field), nullable=True, name=sort)
    raise Invalid(f"Cannot sort by {sort!r}", field="sort")


@dataclass(frozen=True)
class Scope:
    """Narrows a listing to some people (`within`, e.g. a group's members) and lets its filter
    read group membership (`membership`); the groups domain provides both."""

    within: ColumnElement[bool] | None = None
    membership: MembershipSource | None = None


def selection(
    session: Session,
    *,
    actor: Actor,
    rule: Rule | None,
    custom: Sequence[Field],
    scope: Scope | None = None,
) -> Select[Any]:
    """`SELECT users` of the caller's workspace matching `rule` (what a role may see only)."""
    scope = scope or Scope()
    stmt = select(User).where(User.workspace_id == actor.workspace_id)
    if actor.role is Role.IDENTIFIED_ONLY:
        stmt = stmt.where(User.id.in_(sorted(actor.own_people)))
    if scope.within is not None:
        stmt = stmt.where(scope.within)
    if rule is not None:
        workspace = workspaces.get(session, workspace_id=actor.workspace_id)
        catalog = fields.catalog(custom, region=workspace.default_region)
        if scope.membership is not None:
            catalog = catalog.with_membership(scope.membership)
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
    scope: Scope | None = None,
) -> Page[User]:
    """One page; `with_total=False` skips the exact count (a separate, slower query)."""
    custom = workspace_fields(session, workspace_id=actor.workspace_id)
    key = sort_key(custom, sort)
    stmt = selection(session, actor=actor, rule=rule, custom=custom, scope=scope)
    page = paginate(
        session,
        stmt,
        key=key,
        row_id=User.__table__.c.id,
        descending=descending,
        size=size,
        cursor=cursor,
        count=False,
    )
    if not with_total:
        return page
    narrowed = scope is not None and scope.within is not None
    total = counts.total(
        session, actor=actor, rule=rule, custom=custom, narrowed=narrowed, stmt=stmt
    )
    return replace(page, total=total)


def count_users(
    session: Session, *, actor: Actor, rule: Rule | None = None, scope: Scope | None = None
) -> int:
    """The exact number of people `list_users` pages through (its `total`)."""
    custom = workspace_fields(session, workspace_id=actor.workspace_id)
    stmt = selection(session, actor=actor, rule=rule, custom=custom, scope=scope)
    narrowed = scope is not None and scope.within is not None
    return counts.total(
        session, actor=actor, rule=rule, custom=custom, narrowed=narrowed, stmt=stmt
    )
