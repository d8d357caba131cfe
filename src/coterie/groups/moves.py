"""One person's rule-driven joins and leaves: memberships, counts, audit entries and webhook events.

This runs inside every person write that moves someone (`dynamic.person_changed`), so it is kept
to few round trips. On PostgreSQL one prepared statement writes it all: the membership insert and
delete, the audit entries and their outbox rows are data-modifying WITH queries of the count
update, whose RETURNING gives the groups' names for the entries (so the groups are not loaded).
SQLite has no such queries: three cached statements and two multi-row inserts, no ORM flush.
The entries and events are the ones `audit.record` would write (`audit.entry_row`,
`outbox.event_rows`), so a change never goes without its event. docs/performance.md ("User
Groups") has the figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, delete, insert, text, update
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.db import Prepared, UTCDateTime, rows_json, utcnow
from coterie.directory.models import User
from coterie.events import outbox
from coterie.events import service as audit
from coterie.events.models import AuditEntry, OutboxEvent
from coterie.groups.evaluation import forget_counts, tree_counts, tree_links
from coterie.groups.models import Group, Membership

_MEMBERSHIPS = cast(Table, Membership.__table__)
_GROUPS = cast(Table, Group.__table__)
_AUDIT = cast(Table, AuditEntry.__table__)
_EVENTS = cast(Table, OutboxEvent.__table__)


def move_person(
    session: Session, *, actor: Actor, user: User, joined: Sequence[int], left: Sequence[int]
) -> None:
    """Store that `user` joined the groups `joined` and left `left` by their rules."""
    if not joined and not left:
        return
    moves = dict.fromkeys(joined, 1) | dict.fromkeys(left, -1)
    if session.get_bind().dialect.name == "postgresql":
        counted = _on_postgresql(session, actor=actor, user=user, moves=moves)
    else:
        counted = _on_sqlite(session, actor=actor, user=user, moves=moves)
    forget_counts(session, workspace_id=user.workspace_id, group_ids=moves)
    tree_counts(session, workspace_id=user.workspace_id, counted=counted)


def _entry(actor: Actor, user: User, group_id: int, delta: int, name: str) -> dict[str, Any]:
    """The audit entry of one move, as `evaluation.audit_members` would record it."""
    return audit.entry_row(
        actor=actor,
        action="group.members_added" if delta > 0 else "group.members_removed",
        target_type="group",
        target_id=group_id,
        target_label=name,
        after={"reason": "rule", "count": 1, "user_ids": [ids.encode(user.id)]},
    )


# PostgreSQL: everything in one statement. The audit entries and events come as JSON arrays of
# whole rows, built in Python, and get the group's name from the count update's RETURNING
# (`target_label`, and `data.group.name` of the event).
_POSTGRESQL = Prepared(
    text(
        """
WITH joined_rows AS (
    INSERT INTO memberships
        (workspace_id, group_id, user_id, source, added_by_id, added_by_label, added_at)
    SELECT :ws, g, :user, 'rule', :by_id, :by_label, :now
    FROM unnest(CAST(:joined AS bigint[])) AS g
), left_rows AS (
    DELETE FROM memberships
    WHERE workspace_id = :ws AND user_id = :user AND group_id = ANY(CAST(:left AS bigint[]))
), counted AS (
    UPDATE groups SET
        member_count = member_count + step.delta,
        subtree_member_count = subtree_member_count + step.delta,
        updated_at = :now
    FROM (
        SELECT g, 1 AS delta FROM unnest(CAST(:joined AS bigint[])) AS g
        UNION ALL
        SELECT g, -1 FROM unnest(CAST(:left AS bigint[])) AS g
    ) AS step
    WHERE groups.workspace_id = :ws AND groups.id = step.g
    RETURNING groups.id, groups.name, groups.parent_id, (
        SELECT child.id FROM groups AS child
        WHERE child.workspace_id = :ws AND child.parent_id = groups.id LIMIT 1
    ) AS a_subgroup
), entries AS (
    INSERT INTO audit_entries
    SELECT r.* FROM jsonb_array_elements(CAST(:entries AS jsonb)) AS a(v)
    JOIN counted ON counted.id = CAST(a.v ->> 'target_id' AS bigint),
    LATERAL jsonb_populate_record(
        CAST(NULL AS audit_entries), a.v || jsonb_build_object('target_label', counted.name)
    ) AS r
), events AS (
    INSERT INTO webhook_events
    SELECT r.* FROM jsonb_array_elements(CAST(:events AS jsonb)) AS e(v)
    JOIN counted ON counted.id = CAST(e.v ->> 'group_id' AS bigint),
    LATERAL jsonb_populate_record(
        CAST(NULL AS webhook_events), jsonb_set(e.v, '{data,group,name}', to_jsonb(counted.name))
    ) AS r
)
SELECT id, name, parent_id, a_subgroup FROM counted
"""
    )
)


def _on_postgresql(
    session: Session, *, actor: Actor, user: User, moves: Mapping[int, int]
) -> list[tuple[Any, ...]]:
    now = utcnow()
    entries, events = [], []
    for group_id, delta in moves.items():
        entry = _entry(actor, user, group_id, delta, name="")  # named by the statement
        entries.append(entry)
        events += [row | {"group_id": group_id} for row in outbox.event_rows(entry)]
    params = {"ws": user.workspace_id, "user": user.id, "now": now}
    params |= {"by_id": actor.user_id, "by_label": actor.label[:200]}
    params |= {"joined": [g for g, d in moves.items() if d > 0]}
    params |= {"left": [g for g, d in moves.items() if d < 0]}
    params |= {"entries": rows_json(entries), "events": rows_json(events)}
    counted = _POSTGRESQL.rows(session, params)
    if events:
        outbox.written(session)
    return counted


# SQLite: cached statements, run through SQLAlchemy Core.
_m, _g = _MEMBERSHIPS.c, _GROUPS.c
_JOIN = insert(_MEMBERSHIPS)
_LEAVE = delete(_MEMBERSHIPS).where(
    _m.workspace_id == bindparam("ws"),
    _m.user_id == bindparam("user"),
    _m.group_id.in_(bindparam("left", expanding=True)),
)
_STEP = case((_g.id.in_(bindparam("joined", expanding=True)), 1), else_=-1)
_COUNT = (
    update(_GROUPS)
    .where(_g.workspace_id == bindparam("ws"), _g.id.in_(bindparam("moved", expanding=True)))
    .values(
        member_count=_g.member_count + _STEP,
        subtree_member_count=_g.subtree_member_count + _STEP,
        updated_at=bindparam("now", type_=UTCDateTime()),
    )
    .returning(_g.id, _g.name, *tree_links(ws=bindparam("ws")))
)
_INSERT_ENTRIES = insert(_AUDIT)
_INSERT_EVENTS = insert(_EVENTS)


def _on_sqlite(
    session: Session, *, actor: Actor, user: User, moves: Mapping[int, int]
) -> list[tuple[Any, ...]]:
    session.flush()  # the statements are Core: flush what the ORM would have first
    now, ws = utcnow(), user.workspace_id
    joined = [g for g, d in moves.items() if d > 0]
    left = [g for g, d in moves.items() if d < 0]
    if joined:
        row = {"workspace_id": ws, "user_id": user.id, "source": "rule", "added_at": now}
        row |= {"added_by_id": actor.user_id, "added_by_label": actor.label[:200]}
        session.execute(_JOIN, [row | {"group_id": group_id} for group_id in joined])
    if left:
        session.execute(_LEAVE, {"ws": ws, "user": user.id, "left": left})
    params = {"ws": ws, "moved": list(moves), "joined": joined, "now": now}
    counted = [tuple(row) for row in session.execute(_COUNT, params)]
    entries = [_entry(actor, user, row[0], moves[row[0]], name=row[1]) for row in counted]
    events = [event for entry in entries for event in outbox.event_rows(entry)]
    if entries:
        session.execute(_INSERT_ENTRIES, entries)
    if events:
        session.execute(_INSERT_EVENTS, events)
        outbox.written(session)
    return counted
