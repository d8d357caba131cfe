"""`coterie serve`: each server process wakes webhook deliveries after its commits, and
`--workers N` serves from N processes on one port, the jobs staying in the parent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

from coterie import actor as actors
from coterie import db, jobs
from coterie.access import tokens
from coterie.actor import Role
from coterie.cli import served
from coterie.workspaces import service as workspaces
from tests.conftest import make_user, wait_until


def test_a_served_process_queues_a_delivery_run_after_a_commit_with_events(
    app_database: str,
) -> None:
    huey = jobs.get_queue().huey
    with db.get_sessionmaker()() as session:
        workspace = workspaces.create(session, slug="served", name="Served")
        session.commit()
        admin = actors.system(workspace.id)
        make_user(session, admin)
        session.commit()
        assert huey.pending_count() == 0  # not a served process: the minutely run sends it
        served.create_app()
        make_user(session, admin)
        session.commit()
        wait_until(lambda: huey.pending_count() > 0)  # queued from the waker's thread
        assert [task.name for task in huey.pending()] == ["deliver_webhooks"]


def _workers(pid: int) -> list[int]:
    """uvicorn's worker processes under `pid` (spawned: `multiprocessing.spawn`)."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as children:
            for child in children.read().split():
                with open(f"/proc/{child}/cmdline", "rb") as cmdline:
                    if b"spawn_main" in cmdline.read():
                        found.append(int(child))
    return found


def test_workers_serve_from_several_processes_on_one_port(
    app_database: str, tmp_path: Path
) -> None:
    with db.get_sessionmaker()() as session:
        workspace = workspaces.create(session, slug="workers", name="Workers")
        admin = actors.system(workspace.id)
        _, secret = tokens.create(session, actor=admin, name="t", role=Role.ADMIN)
        session.commit()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).with_name("coterie")), "serve", "--port", str(port)]
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [*command, "--workers", "2"], env=os.environ, stdout=log, stderr=subprocess.STDOUT
    )
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}/api/v1",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=30,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_workers(process.pid)) < 2 or not _answers(client):
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        workers = _workers(process.pid)
        assert len(workers) == 2
        made = client.post("/users", json={"full_name": "Ann Lee", "email": "ann@example.com"})
        assert made.status_code == 201, made.text
        for _ in range(20):  # either process answers what the other wrote
            assert client.get(f"/users/{made.json()['id']}").json()["full_name"] == "Ann Lee"
    finally:
        client.close()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/users").status_code == 200
    except httpx.TransportError:
        return False


def _zombie(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
