"""Before saving a rule: whom it selects, and what it would change in an existing group.

Also `explain`: for one person and a group's rule, each clause true or false.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from coterie.actor import Actor
from coterie.db import utcnow
from coterie.directory import service as users
from coterie.directory.models import User
from coterie.errors import Invalid
from coterie.groups import service as groups
from coterie.groups.catalog import GroupRule, people_catalog, record
from coterie.groups.models import Membership
from coterie.rules import Explanation, explain


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[User]
    would_add: int | None = None
    would_remove: int | None = None
    add_sample: tuple[User, ...] = ()
    remove_sample: tuple[User, ...] = ()


@dataclass(frozen=True)
class MemberExplanation:
    selected: bool
    is_member: bool
    include: Explanation
    exclude: Explanation | None
    excluded_by_name: bool


def preview(
    session: Session,
    *,
    actor: Actor,
    include: Any,
    exclude: Any = None,
    excluded_user_ids: tuple[int, ...] = (),
    group_id: int | None = None,
    sample_size: int = 10,
) -> Preview:
    """Count and sample what the rule selects now; with `group_id`, who would join and leave."""
    groups.require_read(actor)
    rule = GroupRule.parse(include, exclude, excluded_user_ids)
    if rule is None:
        return Preview(count=0, sample=[])
    workspace_id = actor.workspace_id
    catalog = people_catalog(session, workspace_id=workspace_id)
    dialect = session.get_bind().dialect.name
    selects = rule.sql(catalog, dialect=dialect, now=utcnow())
    people = select(User).where(User.workspace_id == workspace_id, selects)
    count = int(session.scalar(select(func.count()).select_from(people.subquery())) or 0)
    sample = list(session.scalars(people.order_by(User.full_name, User.id).limit(sample_size)))
    if group_id is None:
        return Preview(count=count, sample=sample)
    group = groups.get(session, actor=actor, group_id=group_id)
    member = Membership.__table__
    users_table = User.__table__
    is_member = (
        select(literal(1))
        .where(
            member.c.workspace_id == workspace_id,
            member.c.group_id == group.id,
            member.c.user_id == users_table.c.id,
        )
        .correlate(users_table)
        .exists()
    )
    joining = people.where(~is_member)
    leaving = select(User).where(User.workspace_id == workspace_id, is_member, ~selects)
    return Preview(
        count=count,
        sample=sample,
        would_add=_count(session, joining),
        would_remove=_count(session, leaving),
        add_sample=tuple(session.scalars(joining.order_by(User.full_name).limit(sample_size))),
        remove_sample=tuple(session.scalars(leaving.order_by(User.full_name).limit(sample_size))),
    )


def _count(session: Session, stmt: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def explain_member(
    session: Session, *, actor: Actor, group_id: int, user_id: int
) -> MemberExplanation:
    """Why a person is in or out of a rule group, clause by clause."""
    group = groups.get(session, actor=actor, group_id=group_id)
    user = users.get(session, actor=actor, user_id=user_id)
    if group.selection != "rule":
        raise Invalid(f"{group.name} has no rule: its members are chosen by hand", field="group_id")
    rule = GroupRule.of(group)
    catalog = people_catalog(session, workspace_id=actor.workspace_id)
    current = set(
        session.scalars(
            select(Membership.group_id).where(
                Membership.workspace_id == actor.workspace_id, Membership.user_id == user.id
            )
        )
    )
    person = record(user, current)
    now = utcnow()
    included = explain(rule.include, catalog, person, now=now, at="include")
    excluded = (
        None
        if rule.exclude is None
        else explain(rule.exclude, catalog, person, now=now, at="exclude")
    )
    by_name = user.id in rule.excluded_ids
    selected = included.matched and not (excluded and excluded.matched) and not by_name
    return MemberExplanation(selected, group.id in current, included, excluded, by_name)
