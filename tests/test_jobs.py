"""Background jobs: the sweep is registered to run every minute and runs through the queue."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from coterie import actor as actors
from coterie import db, jobs
from coterie.db import utcnow
from coterie.groups import service
from coterie.groups.models import Membership
from coterie.groups.schemas import GroupCreate
from coterie.workspaces import service as workspaces
from tests.conftest import make_user, wait_until


def test_the_sweep_and_import_recovery_run_every_minute(app_database: str) -> None:
    huey = jobs.get_queue().huey
    for minute in (7, 8, 59):
        due = huey.read_periodic(datetime(2026, 11, 22, 13, minute))
        assert sorted(task.name for task in due) == [
            "deliver_webhooks",
            "resume_imports",
            "sweep_groups",
        ]


def test_a_consumer_in_this_process_runs_the_sweep(app_database: str) -> None:
    with db.get_sessionmaker()() as session:
        workspace = workspaces.create(session, slug="jobs", name="Jobs")
        admin = actors.system(workspace.id)
        group = service.create(session, actor=admin, data=GroupCreate(name="Trial"))
        person = make_user(session, admin)
        soon = utcnow() + timedelta(seconds=1)
        service.add_members(
            session, actor=admin, group_id=group.id, user_ids=[person.id], expires_at=soon
        )
        session.commit()
    time.sleep(max(0.0, (soon - utcnow()).total_seconds()) + 0.1)
    consumer = jobs.start_consumer()
    try:
        jobs.get_queue().sweep()  # periodic tasks keep no result: watch the database instead
        deadline = time.monotonic() + 20
        left = [person.id]
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            with db.get_sessionmaker()() as session:
                left = list(session.scalars(select(Membership.user_id)))
    finally:
        consumer.stop(graceful=True)
    assert left == []


def test_wakes_return_at_once_and_those_during_a_run_are_one_run_after_it() -> None:
    gate, runs = threading.Event(), []

    def enqueue() -> None:
        runs.append(time.monotonic())
        gate.wait(10)

    waker = jobs.Waker(enqueue, pause=0)
    waker.wake()
    assert wait_until(lambda: len(runs) == 1)
    for _ in range(3):
        waker.wake()  # returns while the run is held
    assert len(runs) == 1
    gate.set()
    assert wait_until(lambda: len(runs) == 2)
    time.sleep(0.05)
    assert len(runs) == 2, "three wakes during a run are one more run"


def test_a_run_that_cannot_be_queued_is_logged_and_the_next_wake_queues_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[int] = []

    def enqueue() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise ConnectionError("the queue is down")

    waker = jobs.Waker(enqueue, pause=0)
    with caplog.at_level(logging.ERROR, logger="coterie.jobs"):
        waker.wake()
        assert wait_until(lambda: len(runs) == 1)
        assert wait_until(lambda: "could not queue a webhook delivery run" in caplog.text)
    waker.wake()
    assert wait_until(lambda: len(runs) == 2)
