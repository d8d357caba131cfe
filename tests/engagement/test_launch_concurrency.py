"""Concurrent launches of one campaign: exactly one freezes the list, the others get a conflict.

Each thread has its own connection and transaction. On PostgreSQL the losers queue on the
campaign row's lock and then find it launched; on SQLite they wait for the single writer.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie import db, ids
from coterie.engagement import audience, campaigns
from coterie.engagement.models import Campaign, RecipientChunk
from coterie.engagement.schemas import CampaignCreate
from coterie.errors import Conflict
from coterie.events.models import OutboxEvent
from coterie.groups import service as groups
from coterie.groups.schemas import GroupCreate
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace
from tests.conftest import make_user

LAUNCHERS = 8
PEOPLE = 30


@pytest.fixture
def racing_engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url, pool_size=LAUNCHERS, max_overflow=0, pool_timeout=120)
    yield engine
    engine.dispose()


def test_of_concurrent_launches_exactly_one_freezes_the_list(
    racing_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audience, "CHUNK", 4)  # several chunks, so a double write would show
    with Session(racing_engine) as session:
        workspace = workspaces.create(session, slug=f"launch-{secrets.token_hex(3)}", name="L")
        admin = actors.system(workspace.id)
        people = [make_user(session, admin).id for _ in range(PEOPLE)]
        group = groups.create(session, actor=admin, data=GroupCreate(name="Everyone"))
        groups.add_members(session, actor=admin, group_id=group.id, user_ids=people)
        campaign = campaigns.create(
            session,
            actor=admin,
            data=CampaignCreate(name="Race", include_group_ids=[ids.encode(group.id)]),
        )
        session.commit()
        ws, campaign_id = workspace.id, campaign.id
    barrier = threading.Barrier(LAUNCHERS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def launch() -> None:
        barrier.wait()
        try:
            with Session(racing_engine) as s:
                try:
                    campaigns.launch(s, actor=actors.system(ws), campaign_id=campaign_id)
                    s.commit()
                    outcome = "launched"
                except Conflict:
                    s.rollback()
                    outcome = "conflict"
        except BaseException as exc:  # counted, so the assertion shows it
            outcome = f"error: {exc!r}"[:200]
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=launch) for _ in range(LAUNCHERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        assert outcomes == Counter({"launched": 1, "conflict": LAUNCHERS - 1})
        with Session(racing_engine) as session:
            mine = (RecipientChunk.workspace_id == ws) & (RecipientChunk.campaign_id == campaign_id)
            rows, stored = session.execute(
                select(func.count(), func.sum(RecipientChunk.size)).where(mine)
            ).one()
            assert (rows, stored) == (8, PEOPLE)
            frozen = session.get(Campaign, (ws, campaign_id))
            assert frozen is not None
            assert frozen.recipient_count == PEOPLE
            events = select(func.count()).where(
                OutboxEvent.workspace_id == ws, OutboxEvent.type == "campaign.launched"
            )
            assert session.scalar(events) == 1
    finally:
        with Session(racing_engine) as session:
            session.execute(delete(Workspace).where(Workspace.id == ws))
            session.commit()
