"""`db.Prepared` writes: parameters converted as SQLAlchemy's column types would (JSON, UTC
times), run once per row, the count of rows written (none for a conflict skipped)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from coterie import db
from coterie.actor import Actor
from coterie.events import service as audit
from coterie.events.models import AuditEntry

ENTRIES = cast(Table, AuditEntry.__table__)


def _row(admin: Actor, **changes: Any) -> dict[str, Any]:
    entry = audit.entry_row(actor=admin, action="test.written", target_type="user", target_id=None)
    return entry | changes


def test_a_prepared_write_stores_what_sqlalchemy_would(session: Session, admin: Actor) -> None:
    east = timezone(timedelta(hours=5))
    rows = [
        _row(admin, after={"name": "Ann", "tags": ["a", "b"]}, before=None),
        _row(admin, created_at=datetime(2026, 1, 2, 8, 0, tzinfo=east), after={"n": 1}),
    ]
    assert db.Prepared(insert(ENTRIES)).write(session, rows) == 2
    mine = AuditEntry.workspace_id == admin.workspace_id, AuditEntry.action == "test.written"
    stored = session.execute(select(AuditEntry).where(*mine).order_by(AuditEntry.id))
    found = {e.id: e for e in stored.scalars()}
    first, second = found[rows[0]["id"]], found[rows[1]["id"]]
    assert first.after == {"name": "Ann", "tags": ["a", "b"]}
    assert first.before is None
    assert second.after == {"n": 1}
    assert second.created_at == datetime(2026, 1, 2, 3, 0, tzinfo=UTC)  # stored in UTC


def test_a_prepared_write_counts_the_rows_it_wrote(session: Session, admin: Actor) -> None:
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    skipping = db.Prepared(module.insert(ENTRIES).on_conflict_do_nothing())
    row = _row(admin)
    assert skipping.write(session, [row]) == 1
    assert skipping.write(session, [row]) == 0  # its id is taken: nothing written
    assert skipping.write(session.connection(), [_row(admin)]) == 1
    count = select(AuditEntry.id).where(AuditEntry.action == "test.written")
    assert len(session.execute(count).all()) == 2
