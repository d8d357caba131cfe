"""Two uvicorn processes on one PostgreSQL: 200 members redeem one code at once over HTTP,
half through each server; the database alone keeps the count exact. The servers share their
guess counts through Redis (`COTERIE_REDIS_URL`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie import db, migrations
from coterie.engagement import member_tokens
from tests.conftest import _empty_database
from tests.engagement.test_redemption_concurrency import (
    ATTEMPTS,
    Race,
    drop,
    setup_race,
    stored,
)

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    for url in _empty_database("postgresql", tmp_path_factory):
        migrations.upgrade(url)
        engine = db.make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


class Uvicorn:
    def __init__(self, engine: Engine, root: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.log = root / f"uvicorn-{self.port}.log"
        env = {
            **os.environ,
            "COTERIE_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "COTERIE_DATA_DIR": str(root / "data"),
            "COTERIE_REDIS_URL": REDIS,
            "COTERIE_CODE_ATTEMPTS_PER_ADDRESS": "100000",
            "COTERIE_DB_POOL_SIZE": "20",
        }
        command = [sys.executable, "-m", "uvicorn", "coterie.app:create_app", "--factory"]
        command += ["--port", str(self.port), "--log-level", "warning"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text(errors="replace")
            try:
                httpx.get(f"{self.url}/api/v1/me/groups", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"uvicorn did not start:\n{self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def tokens_for(engine: Engine, race: Race) -> list[str]:
    with Session(engine) as session:
        admin = actors.system(race.workspace_id)
        made = [member_tokens.issue(session, actor=admin, user_id=p)[1] for p in race.people]
        session.commit()
    return made


def race_over_http(servers: list[Uvicorn], race: Race, tokens: list[str]) -> Counter[str]:
    barrier = threading.Barrier(ATTEMPTS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def redeem(index: int) -> None:
        server = servers[index % len(servers)]
        headers = {"Authorization": f"Bearer {tokens[index]}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
            barrier.wait()
            response = client.post("/api/v1/me/codes", json={"code": race.code})
        with lock:
            outcomes[str(response.status_code)] += 1

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return outcomes


@pytest.fixture(scope="module")
def servers(postgres: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Uvicorn]]:
    root = tmp_path_factory.mktemp("servers")
    started: list[Uvicorn] = []
    try:
        started = [Uvicorn(postgres, root) for _ in range(2)]
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.mark.parametrize(("kind", "cap"), [("single", 1), ("shared", 50)])
def test_two_servers_redeem_exactly_the_cap(
    postgres: Engine, servers: list[Uvicorn], kind: str, cap: int
) -> None:
    race = setup_race(postgres, kind, **({"max_uses": cap} if kind == "shared" else {}))
    try:
        outcomes = race_over_http(servers, race, tokens_for(postgres, race))
        assert outcomes == Counter({"200": cap, "400": ATTEMPTS - cap})
        assert stored(postgres, race) == (cap, cap, cap, cap)
    finally:
        drop(postgres, race.workspace_id)
