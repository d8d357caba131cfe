"""Atomic redemption under real concurrency: each thread its own connection and transaction.

PostgreSQL runs 40 connections at once (the server's 100 are shared with the rest of the suite);
SQLite serializes writers, so there it proves no use is lost or doubled, not parallelism.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie import db
from coterie.directory.models import User
from coterie.engagement import codes
from coterie.engagement.models import JoinCode, JoinCodeUse
from coterie.groups.models import Group, Membership
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace
from tests.conftest import make_user
from tests.engagement.conftest import code_campaign, issue, member_group

ATTEMPTS = 200
CONNECTIONS = 40


@dataclass(frozen=True)
class Race:
    workspace_id: int
    group_id: int
    people: list[int]
    code: str


def setup_race(engine: Engine, kind: str, **fields: int) -> Race:
    with Session(engine) as session:
        workspace = workspaces.create(session, slug=f"race-{secrets.token_hex(3)}", name="Race")
        admin = actors.system(workspace.id)
        private = member_group(session, admin, "Insiders", join_policy="code")
        everyone = member_group(session, admin, "Everyone")
        campaign = code_campaign(session, admin, private, everyone)
        [code] = issue(session, admin, campaign, kind, **fields)
        people = [make_user(session, admin).id for _ in range(ATTEMPTS)]
        session.commit()
        return Race(workspace.id, private.id, people, code)


def drop(engine: Engine, workspace_id: int) -> None:
    with Session(engine) as session:
        session.execute(delete(Workspace).where(Workspace.id == workspace_id))
        session.commit()


@pytest.fixture
def racing_engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url, pool_size=CONNECTIONS, max_overflow=0, pool_timeout=120)
    yield engine
    engine.dispose()


def run_race(engine: Engine, race: Race) -> Counter[str]:
    barrier = threading.Barrier(ATTEMPTS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def redeem(person_id: int) -> None:
        barrier.wait()
        try:
            with Session(engine) as session:
                member = session.get(User, (race.workspace_id, person_id))
                assert member is not None
                try:
                    codes.redeem(session, member=member, code=race.code)
                    session.commit()
                    outcome = "joined"
                except codes.CodeRefused:
                    session.rollback()
                    outcome = "refused"
        except BaseException as exc:  # counted, so the assertion shows it
            outcome = f"error: {exc!r}"[:200]
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=redeem, args=(p,)) for p in race.people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return outcomes


def stored(engine: Engine, race: Race) -> tuple[int, int, int, int]:
    """(code uses, use rows, memberships, kept member count) after the race."""
    with Session(engine) as session:
        ws = race.workspace_id
        uses = session.scalar(select(JoinCode.uses).where(JoinCode.workspace_id == ws))
        rows = session.scalar(
            select(func.count()).select_from(JoinCodeUse).where(JoinCodeUse.workspace_id == ws)
        )
        members = session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.workspace_id == ws, Membership.group_id == race.group_id)
        )
        group = session.get(Group, (ws, race.group_id))
        assert group is not None
        return int(uses or 0), int(rows or 0), int(members or 0), group.member_count


def test_single_use_code_redeemed_by_200_at_once_joins_exactly_one(
    racing_engine: Engine,
) -> None:
    race = setup_race(racing_engine, "single")
    try:
        outcomes = run_race(racing_engine, race)
        assert outcomes == Counter({"joined": 1, "refused": ATTEMPTS - 1})
        assert stored(racing_engine, race) == (1, 1, 1, 1)
    finally:
        drop(racing_engine, race.workspace_id)


def test_code_capped_at_50_redeemed_by_200_at_once_joins_exactly_50(
    racing_engine: Engine,
) -> None:
    race = setup_race(racing_engine, "shared", max_uses=50)
    try:
        outcomes = run_race(racing_engine, race)
        assert outcomes == Counter({"joined": 50, "refused": ATTEMPTS - 50})
        assert stored(racing_engine, race) == (50, 50, 50, 50)
    finally:
        drop(racing_engine, race.workspace_id)
