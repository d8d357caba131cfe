"""The application each process of `coterie serve` runs (one, or `--workers` of them)."""

from __future__ import annotations

from fastapi import FastAPI

from coterie import app
from coterie import jobs as jobs_queue


def create_app() -> FastAPI:
    """The application, in a process whose commits that write webhook events queue a delivery
    run at once (the jobs' consumer, in `coterie serve`'s own process or in `coterie worker`,
    runs it; without the wake-up the minutely run still sends them)."""
    jobs_queue.wake_on_events()
    return app.create_app()
