"""Two writers adding the same person at once: one adds, the other finds them there; no error."""

from __future__ import annotations

import secrets
import threading

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie.groups import service
from coterie.groups.models import Group
from coterie.groups.schemas import GroupCreate
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace
from tests.conftest import make_user


def test_concurrent_adds_of_the_same_person(engine: Engine) -> None:
    with Session(engine) as session:
        workspace = workspaces.create(session, slug=f"race-{secrets.token_hex(3)}", name="Race")
        admin = actors.system(workspace.id)
        group = service.create(session, actor=admin, data=GroupCreate(name="Race"))
        person = make_user(session, admin)
        session.commit()
        workspace_id, group_id, person_id = workspace.id, group.id, person.id
    barrier = threading.Barrier(2)
    results: list[tuple[int, int]] = []
    failures: list[BaseException] = []

    def add() -> None:
        try:
            with Session(engine) as session:
                barrier.wait()
                results.append(
                    service.add_members(
                        session, actor=admin, group_id=group_id, user_ids=[person_id]
                    )
                )
                session.commit()
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=add) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert failures == []
        assert sorted(results) == [(0, 1), (1, 0)]
        with Session(engine) as session:
            group_row = session.get(Group, (workspace_id, group_id))
            assert group_row is not None
            assert group_row.member_count == 1
    finally:
        with Session(engine) as session:
            session.execute(delete(Workspace).where(Workspace.id == workspace_id))
            session.commit()
