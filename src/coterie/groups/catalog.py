"""What rules over people can read here: the directory's fields, and `member_of` from groups.

A group's rule is its include expression AND NOT its exclude expression, minus the people it
excludes by name; `GroupRule` compiles that one meaning to SQL and to a Python predicate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, not_, select, true
from sqlalchemy.orm import Session

from coterie import ids
from coterie.directory import fields
from coterie.directory.models import User
from coterie.directory.service import workspace_fields
from coterie.errors import NotFound
from coterie.groups.models import Group, Membership
from coterie.rules import FieldCatalog, Rule, parse_filter, parse_tree, to_predicate, to_sql
from coterie.workspaces import service as workspaces

_USERS = User.__table__
_MEMBERSHIPS = Membership.__table__


class GroupMembership:
    """`member_of` for rules over people: memberships are stored, so it is a lookup, not a rule.

    In Python a record's `"member_of"` is the set of (integer) ids of the person's groups.
    """

    def __init__(self, session: Session, workspace_id: int) -> None:
        self._session = session
        self._workspace_id = workspace_id
        self._known: set[int] | None = None

    def _decode(self, group_id: str) -> int | None:
        try:
            return ids.decode(group_id, what="group")
        except NotFound:
            return None

    def known(self, group_id: str) -> bool:
        if self._known is None:
            stmt = select(Group.id).where(Group.workspace_id == self._workspace_id)
            self._known = set(self._session.scalars(stmt))
        return self._decode(group_id) in self._known

    def sql_contains(self, group_ids: Sequence[str]) -> ColumnElement[bool]:
        member = _MEMBERSHIPS.alias("member_of")
        wanted = [i for i in map(self._decode, group_ids) if i is not None]
        found = (
            select(literal(1))
            .where(
                member.c.workspace_id == _USERS.c.workspace_id,
                member.c.user_id == _USERS.c.id,
                member.c.group_id.in_(wanted),
            )
            .correlate(_USERS)
            .exists()
        )
        return found

    def python_contains(self, record: Mapping[str, Any], group_ids: Sequence[str]) -> bool:
        groups: set[int] = record["member_of"]
        return any(self._decode(group_id) in groups for group_id in group_ids)


def people_catalog(session: Session, *, workspace_id: int) -> FieldCatalog:
    """Every field a rule over the workspace's people may read, `member_of` included."""
    workspace = workspaces.get(session, workspace_id=workspace_id)
    custom = workspace_fields(session, workspace_id=workspace_id)
    base = fields.catalog(custom, region=workspace.default_region)
    return base.with_membership(GroupMembership(session, workspace_id))


def record(user: User, member_of: set[int]) -> dict[str, Any]:
    """A person as the Python evaluator reads them."""
    values: dict[str, Any] = {c.key: getattr(user, c.key) for c in _USERS.columns}
    values["member_of"] = member_of
    return values


def row_record(row: Mapping[str, Any], member_of: set[int]) -> dict[str, Any]:
    """`record` of a person given as their row (column values by name, `db.new_row`), such as
    one not created yet."""
    values: dict[str, Any] = {c.key: row[c.name] for c in _USERS.columns}
    values["member_of"] = member_of
    return values


@dataclass(frozen=True)
class GroupRule:
    """include AND NOT exclude AND the person is not excluded by name."""

    include: Rule
    exclude: Rule | None = None
    excluded_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, group: Group) -> GroupRule:
        if group.include_rule is None:
            raise ValueError(f"group {group.name!r} has no rule")
        return cls(
            include=parse_tree(group.include_rule, at="include"),
            exclude=None
            if group.exclude_rule is None
            else parse_tree(group.exclude_rule, at="exclude"),
            excluded_ids=frozenset(group.excluded_user_ids),
        )

    @classmethod
    def parse(
        cls, include: object, exclude: object, excluded_ids: Sequence[int] = ()
    ) -> GroupRule | None:
        """From API input (SCIM text or JSON tree); None when there is no include rule."""
        included = parse_filter(_as_filter(include), at="include")
        excluded = parse_filter(_as_filter(exclude), at="exclude")
        if included is None:
            return None
        return cls(included, excluded, frozenset(excluded_ids))

    def sql(self, catalog: FieldCatalog, *, dialect: str, now: datetime) -> ColumnElement[bool]:
        parts = [to_sql(self.include, catalog, dialect=dialect, now=now, at="include")]
        if self.exclude is not None:
            excluded = to_sql(self.exclude, catalog, dialect=dialect, now=now, at="exclude")
            parts.append(not_(excluded))
        if self.excluded_ids:
            parts.append(_USERS.c.id.not_in(sorted(self.excluded_ids)))
        return and_(true(), *parts)

    def predicate(self, catalog: FieldCatalog, *, now: datetime) -> Callable[[Any], bool]:
        include = to_predicate(self.include, catalog, now=now, at="include")
        exclude = (
            None
            if self.exclude is None
            else to_predicate(self.exclude, catalog, now=now, at="exclude")
        )
        excluded = self.excluded_ids

        def selects(person: Mapping[str, Any]) -> bool:
            if person["id"] in excluded or not include(person):
                return False
            return exclude is None or not exclude(person)

        return selects


def _as_filter(value: object) -> Any:
    if value is None or value == "" or value == {}:
        return None
    return value
