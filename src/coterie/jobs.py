"""Background jobs on Huey: imports, and the minutely sweep of what time changes in groups.

Storage is a SQLite file in the data directory by default, so `coterie serve` alone runs
everything on one machine (it starts a consumer in threads); with `COTERIE_REDIS_URL` the queue is
in Redis and any number of `coterie worker` processes share it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer

from coterie.db import get_sessionmaker, utcnow
from coterie.events import delivery, outbox
from coterie.groups import upkeep
from coterie.settings import get_settings
from coterie.transfer import runner

log = logging.getLogger("coterie.jobs")


def sweep_groups() -> upkeep.SweepReport:
    """Expire memberships and re-evaluate time-relative dynamic groups, in every workspace."""
    with get_sessionmaker()() as session:
        report = upkeep.sweep(session, now=utcnow())
        session.commit()
    for problem in report.errors:
        log.warning("group sweep: %s", problem)
    return report


def run_import(workspace_id: int, job_id: int) -> None:
    """Carry out (or resume) an import job."""
    runner.run(get_sessionmaker(), workspace_id=workspace_id, job_id=job_id)


def resume_imports() -> int:
    """Queue again the imports a stopped process left running (and any still queued)."""
    with get_sessionmaker()() as session:
        waiting = runner.recover(session, now=utcnow())
        session.commit()
    for workspace_id, job_id in waiting:
        enqueue_import(workspace_id, job_id)
    return len(waiting)


def deliver_webhooks() -> None:
    """Send the outbox's due webhook deliveries; wake again for a retry due within the minute."""
    next_due = delivery.deliver_due(get_sessionmaker())
    if next_due is not None and (next_due - utcnow()).total_seconds() < 60:
        get_queue().deliver_webhooks.schedule(eta=next_due)


@dataclass(frozen=True)
class Queue:
    huey: Huey
    sweep: TaskWrapper  # calling it enqueues a sweep now; it also runs every minute
    run_import: TaskWrapper
    resume_imports: TaskWrapper  # every minute, and when a consumer starts
    deliver_webhooks: TaskWrapper  # every minute, and after each commit that wrote events


def enqueue_import(workspace_id: int, job_id: int) -> None:
    get_queue().run_import(workspace_id, job_id)


@lru_cache(maxsize=1)
def get_queue() -> Queue:
    """The queue, built on first use from the settings, with the periodic sweep registered."""
    settings = get_settings()
    huey: Huey
    if settings.redis_url:
        huey = RedisHuey("coterie", url=settings.redis_url)
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey("coterie", filename=str(settings.data_dir / "jobs.sqlite3"))
    sweep = huey.periodic_task(crontab(minute="*"), name="sweep_groups")(sweep_groups)
    every_minute = huey.periodic_task(crontab(minute="*"), name="resume_imports")
    webhooks = huey.periodic_task(crontab(minute="*"), name="deliver_webhooks")
    queue = Queue(
        huey,
        sweep,
        huey.task(name="run_import")(run_import),
        every_minute(resume_imports),
        webhooks(deliver_webhooks),
    )
    return queue


class Waker:
    """Calls `enqueue` from a thread of its own after each call to it (`wake`), at most once per
    `pause` seconds however many calls come: a caller only sets a flag, where queueing a run
    would make it wait on Redis or write the queue's SQLite file (a request's writes would
    wait for it: docs/webhooks.md). Every wake is followed by an `enqueue` that begins after
    it; one that fails is logged (the minutely run still sends what it would have)."""

    def __init__(self, enqueue: Callable[[], object], pause: float = 0.05) -> None:
        self._enqueue, self._pause = enqueue, pause
        self._asked = threading.Event()
        self._lock = threading.Lock()
        self._running_in: int | None = None  # the process whose thread runs (none after fork)

    def wake(self) -> None:
        self._asked.set()
        if self._running_in != os.getpid():
            with self._lock:
                if self._running_in != os.getpid():
                    threading.Thread(target=self._run, name="coterie-waker", daemon=True).start()
                    self._running_in = os.getpid()

    def _run(self) -> None:
        while True:
            self._asked.wait()
            self._asked.clear()
            try:
                self._enqueue()
            except Exception:
                log.exception("could not queue a webhook delivery run")
            time.sleep(self._pause)


@lru_cache(maxsize=1)
def _waker() -> Waker:
    return Waker(lambda: get_queue().deliver_webhooks())


def wake_on_events() -> None:
    """In a process that serves requests: a commit that wrote webhook events queues a delivery
    run at once, from the waker's thread (without it the minutely run still sends them)."""
    outbox.set_notifier(_waker().wake)


class _ThreadConsumer(Consumer):  # type: ignore[misc]
    """A consumer inside another program: threads only, and it leaves signals to its host."""

    def _set_signal_handlers(self) -> None:
        return None


def start_consumer(workers: int = 1) -> Consumer:
    """Start the scheduler and workers in threads of this process; `stop()` them at shutdown."""
    consumer = _ThreadConsumer(get_queue().huey, workers=workers, worker_type="thread")
    consumer.start()
    wake_on_events()
    get_queue().resume_imports()
    return consumer
