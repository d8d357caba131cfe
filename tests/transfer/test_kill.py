"""A real `coterie serve` killed with SIGKILL in the middle of an import, on both databases.

Nothing half-written may show: no group, no person twice, the job still `running`. Started again,
the server's job consumer finds the silent job (`COTERIE_IMPORT_STALE_SECONDS`), resumes it after
its last committed batch and finishes it; the same file imported again makes nobody new.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie import db, ids, migrations
from coterie.access import tokens
from coterie.actor import Role
from coterie.db import utcnow
from coterie.directory.models import User
from coterie.groups.models import Group, Membership
from coterie.transfer.models import ImportJob
from coterie.workspaces import service as workspaces
from tests.conftest import _empty_database

ROWS = 12_000  # six batches, seconds of work: the kill lands after the first
STALE_SECONDS = 2
DEADLINE = 45.0


def contact_list() -> tuple[bytes, list[str]]:
    """The file, and each row's email as stored; every tenth row repeats an earlier person."""
    lines = ["Full name,Email"]
    emails = []
    for i in range(ROWS):
        n = i - 9 if i % 10 == 9 else i
        lines.append(f"Person {i},{'P' if n != i else 'p'}{n}@Example.com")
        emails.append(f"p{n}@example.com")
    return ("\n".join(lines) + "\n").encode(), emails


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A fresh migrated database of each kind, shared by the test and the servers it starts."""
    for url in _empty_database(request.param, tmp_path_factory):
        migrations.upgrade(url)
        engine = db.make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


class Server:
    """`coterie serve` in a child process (with its job consumer), on a free port."""

    def __init__(self, engine: Engine, root: Path, secret: str, **env: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.log = root / f"serve-{port}.log"
        environment = {
            **os.environ,
            "COTERIE_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "COTERIE_DATA_DIR": str(root / "data"),
            **env,
        }
        command = [str(Path(sys.executable).with_name("coterie")), "serve", "--port", str(port)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, env=environment, cwd=root, stdout=log, stderr=subprocess.STDOUT
            )
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}/api/v1",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=30,
        )
        self.wait_for(self._answers, "the server to answer")

    def _answers(self) -> bool:
        try:
            return self.client.get("/imports").status_code == 200
        except httpx.TransportError:
            return False

    def wait_for(self, ready: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server stopped:\n{self.output()}"
            if found := ready():
                return found
            time.sleep(0.05)
        pytest.fail(f"Gave up waiting for {what}:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.client.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.client.close()


def import_file(server: Server, body: bytes, group: str) -> str:
    job = server.client.post("/imports", params={"file_name": "contacts.csv"}, content=body)
    assert job.status_code == 201, job.text
    url = f"/imports/{job.json()['id']}"
    assert server.client.patch(url, json={"group_name": group}).status_code == 200
    started = server.client.post(f"{url}/start")
    assert started.status_code == 202, started.text
    return str(job.json()["id"])


def finished(server: Server, job_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = server.client.get(f"/imports/{job_id}").json()
        assert job["status"] != "failed", job["error"]
        return job if job["status"] == "done" else None

    return dict(server.wait_for(done, f"import {job_id} to finish"))


def people(engine: Engine, workspace_id: int) -> tuple[int, int]:
    """How many people the workspace has, and how many distinct emails among them."""
    with engine.connect() as conn:
        stmt = select(func.count(), func.count(func.distinct(User.email))).where(
            User.workspace_id == workspace_id
        )
        row = conn.execute(stmt).one()
        return row[0], row[1]


def _workers_of(root: Path) -> list[int]:
    """The processes (other than a server) started for this test's data directory."""
    marker = f"COTERIE_DATA_DIR={root / 'data'}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and b"serve" not in command.split(b"\0"):
            found.append(int(entry.name))
    return found


def test_a_server_killed_mid_import_resumes_it_after_a_restart(
    database: Engine, tmp_path: Path
) -> None:
    body, emails = contact_list()
    distinct = len(set(emails))
    with Session(database) as session, session.begin():
        workspace = workspaces.create(session, slug="killed", name="Killed")
        _, secret = tokens.create(
            session, actor=actors.system(workspace.id), name="t", role=Role.ADMIN
        )
        workspace_id = workspace.id

    # The first server normalizes in worker processes (as a large file would), which must not
    # outlive it; the second resumes the job in-process (12,000 rows are below the threshold).
    first = Server(
        database, tmp_path, secret, COTERIE_IMPORT_PARALLEL_FROM="0", COTERIE_IMPORT_WORKERS="2"
    )
    try:
        job_id = import_file(first, body, "Spring fair")

        def under_way() -> bool:
            job = first.client.get(f"/imports/{job_id}").json()
            return job["status"] == "running" and job["rows_done"] > 0

        first.wait_for(under_way, "the import to get under way")
        assert _workers_of(tmp_path), "the import did not start its worker processes"
        first.kill()
    finally:
        first.stop()
    deadline = time.monotonic() + 10
    while _workers_of(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _workers_of(tmp_path) == []

    with database.connect() as conn:
        job = conn.execute(
            select(ImportJob).where(ImportJob.id == ids.decode(job_id, what="import"))
        ).one()
        groups = conn.scalar(select(func.count()).where(Group.workspace_id == workspace_id))
        members = conn.scalar(select(func.count()).where(Membership.workspace_id == workspace_id))
    assert job.status == "running"
    assert 0 < job.rows_done < ROWS
    assert groups == 0
    assert members == 0
    committed = len(set(emails[: job.rows_done]))  # the people of the committed batches only
    assert people(database, workspace_id) == (committed, committed)

    stale = job.heartbeat_at + timedelta(seconds=STALE_SECONDS) - utcnow()
    time.sleep(max(0.0, stale.total_seconds()) + 0.2)
    second = Server(database, tmp_path, secret, COTERIE_IMPORT_STALE_SECONDS=str(STALE_SECONDS))
    try:
        done = finished(second, job_id)
        assert done["counts"] == {"created": distinct, "duplicate": ROWS - distinct}
        assert done["rows_done"] == done["rows_total"] == ROWS
        group = second.client.get(f"/groups/{done['group_id']}").json()
        assert (group["name"], group["member_count"]) == ("Spring fair", distinct)
        with database.connect() as conn:
            member_emails = conn.scalars(
                select(User.email)
                .join(
                    Membership,
                    (Membership.workspace_id == User.workspace_id)
                    & (Membership.user_id == User.id),
                )
                .where(Membership.group_id == ids.decode(done["group_id"], what="group"))
            ).all()
        assert sorted(member_emails) == sorted(set(emails))
        assert people(database, workspace_id) == (distinct, distinct)

        again = finished(second, import_file(second, body, "Spring fair, again"))
        assert again["counts"] == {"unchanged": distinct, "duplicate": ROWS - distinct}
        assert people(database, workspace_id) == (distinct, distinct)
    finally:
        second.stop()
