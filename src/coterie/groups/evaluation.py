"""Set-based evaluation: make a rule group's stored members equal its rule's result, in SQL.

One statement deletes the stale members and one inserts the missing ones, in the caller's
transaction: other readers see the old members until it commits, never a half-made group.
The bookkeeping every membership change shares (kept counts, audit entries) is here too; one
person's rule-driven moves are in `moves`. docs/performance.md ("User Groups") has what this
costs at a million people and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Insert,
    String,
    Table,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from coterie import ids
from coterie.actor import Actor
from coterie.db import Id, UTCDateTime, utcnow
from coterie.directory.models import User
from coterie.events import service as audit
from coterie.groups import graph, hierarchy
from coterie.groups.catalog import GroupRule, people_catalog
from coterie.groups.models import Group, Membership
from coterie.rules import FieldCatalog

_USERS = User.__table__
_MEMBERSHIPS = cast(Table, Membership.__table__)
_GROUPS = cast(Table, Group.__table__)
AUDIT_CHUNK = 1_000


@dataclass(frozen=True)
class Evaluation:
    added: int
    removed: int
    at: datetime


def evaluate(
    session: Session,
    *,
    actor: Actor,
    group: Group,
    catalog: FieldCatalog | None = None,
    only: ColumnElement[bool] | None = None,
    now: datetime | None = None,
) -> Evaluation:
    """Insert the people the rule selects who are missing, delete the members it no longer does.

    `only` (a condition on `users`) limits the work to some people, for re-evaluating after
    they changed.
    """
    now = now or utcnow()
    workspace_id = group.workspace_id
    catalog = catalog or people_catalog(session, workspace_id=workspace_id)
    dialect = session.get_bind().dialect.name
    selects = GroupRule.of(group).sql(catalog, dialect=dialect, now=now)
    scope = true() if only is None else only
    m = _MEMBERSHIPS
    session.flush()  # the statements below are Core: they would not autoflush the people
    # A group with no stored members (a new one, above all) has nothing stale and nothing
    # present: one index probe spares the delete and the anti-join against its members.
    stored = _has_members(session, group=group)
    removed: list[int] = []
    if stored:
        still_selected = (
            select(literal(1))
            .where(_USERS.c.workspace_id == workspace_id, _USERS.c.id == m.c.user_id, selects)
            .exists()
        )
        stale = delete(Membership).where(m.c.workspace_id == workspace_id, m.c.group_id == group.id)
        if only is not None:
            people = select(_USERS.c.id).where(_USERS.c.workspace_id == workspace_id, scope)
            stale = stale.where(m.c.user_id.in_(people))
        removed = list(session.scalars(stale.where(~still_selected).returning(m.c.user_id)).all())

    missing = select(
        literal(workspace_id, Id),
        literal(group.id, Id),
        _USERS.c.id,
        literal("rule", String),
        literal(actor.user_id, Id),
        literal(actor.label[:200], String),
        literal(now, UTCDateTime),
    ).where(_USERS.c.workspace_id == workspace_id, selects, scope)
    if stored:
        missing = missing.where(~_present(group))
    columns = ["workspace_id", "group_id", "user_id", "source", "added_by_id"]
    columns += ["added_by_label", "added_at"]
    inserted = insert(m).from_select(columns, missing).returning(m.c.user_id)
    if dialect == "postgresql":
        # The server encodes the new members' ids and cuts them into the audit's chunks: no
        # row per person crosses the wire (docs/performance.md, "Materializing").
        chunks = _added_chunks(session, inserted)
    else:
        chunks = _chunks(_encoded(session.execute(inserted).scalars().all()))
    n_added = sum(map(len, chunks))
    count_changes(session, group=group, delta=n_added - len(removed))
    group.evaluated_at = now
    _record_chunks(session, actor, group.id, group.name, "group.members_added", chunks, "rule")
    record_changes(session, actor=actor, group=group, added=[], removed=removed, reason="rule")
    session.flush()
    return Evaluation(n_added, len(removed), now)


def _added_chunks(session: Session, inserted: Insert) -> list[list[str]]:
    """PostgreSQL: run `inserted` (RETURNING user_id); the ids encoded, `AUDIT_CHUNK` a list."""
    rows = inserted.cte("added")
    chunk = ((func.row_number().over() - 1) // AUDIT_CHUNK).label("chunk")
    numbered = select(rows.c.user_id, chunk).subquery()
    stmt = (
        select(func.json_agg(ids.sql_encode(numbered.c.user_id)))
        .group_by(numbered.c.chunk)
        .order_by(numbered.c.chunk)
    )
    return [list(found) for found in session.scalars(stmt)]


def evaluate_since(session: Session, *, actor: Actor, group: Group, since: datetime) -> Evaluation:
    """Re-evaluate only the people changed since `since` (`users.updated_at >= since`).

    Sound when the group's outcome can change only with its people's own fields: a rule that
    reads the clock or names other groups can move people who did not change, so those get a
    full `evaluate`.
    """
    if group.time_relative or group.references:
        return evaluate(session, actor=actor, group=group)
    changed = _USERS.c.updated_at >= since
    return evaluate(session, actor=actor, group=group, only=changed)


def _has_members(session: Session, *, group: Group) -> bool:
    m = _MEMBERSHIPS
    found = exists().where(m.c.workspace_id == group.workspace_id, m.c.group_id == group.id)
    return bool(session.scalar(select(found)))


def _present(group: Group) -> ColumnElement[bool]:
    """The person the insert is about is already a stored member of `group`."""
    present = _MEMBERSHIPS.alias("present")
    return (
        select(literal(1))
        .where(
            present.c.workspace_id == group.workspace_id,
            present.c.group_id == group.id,
            present.c.user_id == _USERS.c.id,
        )
        .correlate(_USERS)
        .exists()
    )


def evaluate_with_dependents(
    session: Session, *, actor: Actor, group: Group, now: datetime | None = None
) -> Evaluation:
    """Evaluate a rule group, then every dynamic group that reads it, in dependency order."""
    catalog = people_catalog(session, workspace_id=group.workspace_id)
    result = evaluate(session, actor=actor, group=group, catalog=catalog, now=now)
    if result.added or result.removed:
        propagate(session, actor=actor, workspace_id=group.workspace_id, changed=[group.id])
    return result


def propagate(
    session: Session,
    *,
    actor: Actor,
    workspace_id: int,
    changed: Iterable[int],
    people: Sequence[int] | None = None,
) -> None:
    """Re-evaluate the dynamic groups that name `changed` groups, for `people` or everyone."""
    order = graph.dependents(session, workspace_id=workspace_id, changed=changed)
    if not order:
        return
    catalog = people_catalog(session, workspace_id=workspace_id)
    only = None if people is None else _USERS.c.id.in_(list(people))
    for group_id in order:
        group = session.get(Group, (workspace_id, group_id))
        if group is not None:
            evaluate(session, actor=actor, group=group, catalog=catalog, only=only)


def count_changes(session: Session, *, group: Group, delta: int) -> None:
    """Keep `member_count` right under concurrency: an increment in SQL, not read-modify-write."""
    count_many(session, workspace_id=group.workspace_id, deltas={group.id: delta})


def count_many(session: Session, *, workspace_id: int, deltas: Mapping[int, int]) -> dict[int, str]:
    """`count_changes` for several groups in one statement (a person's write can move them in and
    out of several at once); returns the names of the groups counted, for the audit entries."""
    session.flush()  # what the ORM would do first; Core statements cost half its CPU
    deltas = {group_id: delta for group_id, delta in deltas.items() if delta}
    if not deltas:
        return {}
    g = _GROUPS.c
    step = case(deltas, value=g.id, else_=0) if len(deltas) > 1 else next(iter(deltas.values()))
    counted = session.execute(
        update(_GROUPS)
        .where(g.workspace_id == workspace_id, g.id.in_(list(deltas)))
        .values(
            member_count=g.member_count + step, subtree_member_count=g.subtree_member_count + step
        )
        .returning(g.id, g.name, *tree_links(ws=workspace_id))
    ).all()
    forget_counts(session, workspace_id=workspace_id, group_ids=deltas)
    tree_counts(session, workspace_id=workspace_id, counted=counted)
    return {row.id: row.name for row in counted}


def tree_links(*, ws: Any) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """For a RETURNING of `groups`: its parent and one of its subgroups (None when it has none),
    which say whether the group is in a hierarchy (`in_tree`).

    Plain values, tested in Python: SQLite 3.40 answers `parent_id IS NOT NULL` wrongly in the
    RETURNING of an UPDATE ... WHERE id IN (...), and SQLAlchemy renders RETURNING columns there
    without their table, which would correlate the subquery with itself (hence `groups.id`)."""
    child = _GROUPS.alias("child")
    outer: ColumnElement[Any] = literal_column(f"{_GROUPS.name}.id")
    below = _Unlikely(child.c.parent_id == outer)
    subgroup = select(child.c.id).where(child.c.workspace_id == ws, below).limit(1)
    return _GROUPS.c.parent_id, subgroup.scalar_subquery().label("a_subgroup")


class _Unlikely(FunctionElement[bool]):
    """A test that is rarely true. SQLite's statistics of `(workspace_id, parent_id)` count the
    NULL parents as one value of thousands of rows, so its planner scanned every group per row
    returned (10 ms with 10,000 groups); `unlikely()` gets it the index. Elsewhere: the test.
    (Untyped: typed Boolean, SQLAlchemy would compare it with 1 on SQLite, hiding the index.)"""

    name = "unlikely"
    inherit_cache = True


@compiles(_Unlikely)
def _as_is(element: _Unlikely, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_Unlikely, "sqlite")
def _on_sqlite(element: _Unlikely, compiler: SQLCompiler, **kw: Any) -> str:
    return f"unlikely({compiler.process(element.clauses, **kw)})"


def in_tree(row: Sequence[Any]) -> bool:
    """A row of (id, name, parent_id, a_subgroup) is of a group with a parent or a subgroup."""
    return row[2] is not None or row[3] is not None


def tree_counts(session: Session, *, workspace_id: int, counted: Sequence[Sequence[Any]]) -> None:
    """`hierarchy.counts_changed` for counted groups (rows of id, name, parent_id, a_subgroup),
    skipped (a query spared on every person's write) when none of them is in a hierarchy: then
    no other count depends on theirs."""
    if any(in_tree(row) for row in counted):
        ids_ = [row[0] for row in counted]
        hierarchy.counts_changed(session, workspace_id=workspace_id, group_ids=ids_)


def forget_counts(session: Session, *, workspace_id: int, group_ids: Iterable[int]) -> None:
    """Expire the counts of the loaded groups: they changed in SQL, behind the ORM's back."""
    for group_id in group_ids:
        loaded = session.identity_map.get(identity_key(Group, (workspace_id, group_id)))
        if loaded is not None:
            session.expire(loaded, ["member_count", "subtree_member_count"])


def record_changes(
    session: Session,
    *,
    actor: Actor,
    group: Group,
    added: Sequence[int],
    removed: Sequence[int],
    reason: str,
) -> None:
    """Audit who joined and left, with why; large changes go in entries of `AUDIT_CHUNK` people."""
    audit_members(
        session,
        actor=actor,
        group_id=group.id,
        name=group.name,
        added=added,
        removed=removed,
        reason=reason,
    )


def audit_members(
    session: Session,
    *,
    actor: Actor,
    group_id: int,
    name: str,
    added: Sequence[int],
    removed: Sequence[int],
    reason: str,
) -> None:
    """`record_changes` for a group known by id and name, without loading it."""
    for action, people in (("group.members_added", added), ("group.members_removed", removed)):
        _record_chunks(session, actor, group_id, name, action, _chunks(_encoded(people)), reason)


def _record_chunks(
    session: Session,
    actor: Actor,
    group_id: int,
    name: str,
    action: str,
    chunks: Iterable[list[str]],
    reason: str,
) -> None:
    for chunk in chunks:
        audit.record(
            session,
            actor=actor,
            action=action,
            target_type="group",
            target_id=group_id,
            target_label=name,
            after={"reason": reason, "count": len(chunk), "user_ids": chunk},
        )


def _chunks(encoded: list[str]) -> list[list[str]]:
    return [encoded[start : start + AUDIT_CHUNK] for start in range(0, len(encoded), AUDIT_CHUNK)]


def _encoded(people: Sequence[int]) -> list[str]:
    return [ids.encode(p) for p in people]
