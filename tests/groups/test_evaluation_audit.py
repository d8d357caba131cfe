"""The audit of a set-based evaluation names every person it added, in chunks, on both databases
(PostgreSQL encodes the ids and cuts the chunks itself)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.events.models import AuditEntry
from coterie.groups import evaluation, service
from coterie.groups.schemas import GroupCreate
from tests.conftest import make_user


def test_a_new_group_audits_each_member_once_in_chunks(
    session: Session, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluation, "AUDIT_CHUNK", 2)
    joining = [make_user(session, admin, full_name=f"Joins {i}") for i in range(5)]
    make_user(session, admin, full_name="Stays out")
    data = GroupCreate(name="Joiners", selection="rule", include='full_name sw "Joins"')
    group = service.create(session, actor=admin, data=data)
    assert group.member_count == 5
    entries = session.scalars(
        select(AuditEntry).where(
            AuditEntry.target_id == group.id, AuditEntry.action == "group.members_added"
        )
    ).all()
    assert sorted(e.after["count"] for e in entries) == [1, 2, 2]
    assert all(e.after["reason"] == "rule" for e in entries)
    named = [user_id for e in entries for user_id in e.after["user_ids"]]
    assert len(named) == 5
    assert set(named) == {ids.encode(p.id) for p in joining}
