"""Writing and reading the audit log. Every service that changes data records it here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from coterie.actor import Actor
from coterie.db import Prepared, utcnow
from coterie.errors import Forbidden
from coterie.events import outbox
from coterie.events.models import AuditEntry, OutboxEvent
from coterie.ids import new_id

# Entries and their events are written at once by prebuilt inserts, not by the unit of work: every
# change pays for them, and they depend on no row but the workspace.
_ENTRIES, _EVENTS = cast(Table, AuditEntry.__table__), cast(Table, OutboxEvent.__table__)
_INSERT_ENTRY, _INSERT_EVENT = Prepared(insert(_ENTRIES)), Prepared(insert(_EVENTS))
# PostgreSQL: an entry and its one event (the usual case) in one statement, one round trip.
_INSERT_BOTH = Prepared(
    insert(_EVENTS)
    .values({c.key: bindparam(f"event_{c.key}", type_=c.type) for c in _EVENTS.columns})
    .add_cte(
        insert(_ENTRIES)
        .values({c.key: bindparam(f"entry_{c.key}", type_=c.type) for c in _ENTRIES.columns})
        .cte("entry")
    )
)


_SCALARS = frozenset({str, int, bool, float, type(None)})  # JSON-safe as they are


def _plain(value: Any) -> Any:
    """JSON-safe copy of a before/after snapshot (datetimes as ISO strings)."""
    if isinstance(value, dict):
        return {k: v if type(v) in _SCALARS else _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # The ids of a large membership change: thousands of strings, nothing to convert.
        if all(type(v) is str for v in value):
            return list(value)
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: int | None,
    target_label: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    entry = entry_row(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        before=before,
        after=after,
    )
    write(session, entry)


def write(session: Session, entry: dict[str, Any]) -> None:
    """The entry and its webhook event, if it is one (`outbox.event_rows`), in the caller's
    transaction: a committed change always has its event, a rolled-back one never."""
    events = outbox.event_rows(entry)
    if len(events) == 1 and session.get_bind().dialect.name == "postgresql":
        params = {f"entry_{key}": value for key, value in entry.items()}
        params |= {f"event_{key}": value for key, value in events[0].items()}
        _INSERT_BOTH.write(session, [params])
    else:
        _INSERT_ENTRY.write(session, [entry])
        if events:
            _INSERT_EVENT.write(session, events)
    if events:
        outbox.written(session)


def entry_row(
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: int | None,
    target_label: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of the entry `record` writes, complete (id and time set): a plain row, as
    every change pays for it (no ORM object)."""
    return {
        "workspace_id": actor.workspace_id,
        "id": new_id(),
        "actor_user_id": actor.user_id,
        "actor_label": actor.label,
        "origin": actor.origin.value,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "target_label": target_label[:300],
        "before": _plain(before),
        "after": _plain(after),
        "created_at": utcnow(),
    }


def emit(session: Session, *, workspace_id: int, event_type: str, data: dict[str, Any]) -> None:
    """A webhook event that no audit entry stands for (`campaign.launched`), in the caller's
    transaction; `data` is JSON-ready. Types: `coterie.events.outbox.EVENT_TYPES`."""
    outbox.emit(session, workspace_id=workspace_id, event_type=event_type, data=_plain(data))


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose value differs, so an audit entry shows what changed."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record_update(
    session: Session,
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: int,
    target_label: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """An audit entry of what an edit changed (`changes`), or none when it changed nothing."""
    old, new = changes(before, after)
    if new:
        record(
            session,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            target_label=target_label,
            before=old,
            after=new,
        )


def list_entries(
    session: Session,
    *,
    actor: Actor,
    target_type: str | None = None,
    target_id: int | None = None,
    limit: int = 100,
    before_id: tuple[datetime, int] | None = None,
) -> Sequence[AuditEntry]:
    """Newest first; admins only (the log shows every change in the workspace)."""
    if not actor.is_admin:
        raise Forbidden("Only admins can read the audit log")
    stmt = select(AuditEntry).where(AuditEntry.workspace_id == actor.workspace_id)
    if target_type is not None:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    if before_id is not None:
        created_at, entry_id = before_id
        stmt = stmt.where(
            (AuditEntry.created_at < created_at)
            | ((AuditEntry.created_at == created_at) & (AuditEntry.id < entry_id))
        )
    stmt = stmt.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
    return session.scalars(stmt).all()
