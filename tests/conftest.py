"""Shared fixtures: every database test runs on SQLite and, when one answers, on PostgreSQL.

Each test runs inside a transaction that is rolled back at the end; services and API calls commit
to a savepoint of it.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie import db, jobs, migrations, settings
from coterie.access import tokens
from coterie.actor import Actor, Role
from coterie.api.deps import db_session
from coterie.app import create_app
from coterie.directory.schemas import UserCreate
from coterie.events import outbox
from coterie.groups import people
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace
from tests.receivers import Receiver, running_receiver

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_admin_url() -> str | None:
    """The PostgreSQL server to test on, or None (a skip, unless CI requires it)."""
    url = os.environ.get("COTERIE_TEST_POSTGRES_URL") or DEFAULT_PG
    try:
        with psycopg.connect(url, connect_timeout=3):
            return url
    except psycopg.OperationalError:
        if os.environ.get("COTERIE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but does not answer at {url}")
        return None


def _pg_database(admin_url: str) -> tuple[str, str]:
    name = f"coterie_test_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    return name, f"{base}/{name}"


def _drop_pg_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def empty_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A new, empty database URL of the kind named by the test's `backend` parameter."""
    yield from _empty_database(request.param, tmp_path_factory)


def _empty_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "coterie.db"
        yield f"sqlite:///{path}"
        return
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip(f"PostgreSQL does not answer at {DEFAULT_PG} (set COTERIE_TEST_POSTGRES_URL)")
    name, url = _pg_database(admin_url)
    try:
        yield url
    finally:
        db_engines = [e for e in _ENGINES if str(e.url).endswith(name)]
        for engine in db_engines:
            engine.dispose()
        _drop_pg_database(admin_url, name)


_ENGINES: list[Engine] = []


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database, one per backend for the whole run."""
    for url in _empty_database(request.param, tmp_path_factory):
        migrations.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    _ENGINES.append(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    with Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as s:
        yield s


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real local HTTP server for webhook deliveries (`tests.receivers`)."""
    with running_receiver() as found:
        yield found


@pytest.fixture
def isolated_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[settings.Settings]:
    """Settings pointing at a temporary data directory (media files go there)."""
    monkeypatch.setenv("COTERIE_DATA_DIR", str(tmp_path / "data"))
    settings.get_settings.cache_clear()
    yield settings.get_settings()
    settings.get_settings.cache_clear()


def _process_on(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Settings (and the process-wide engine, sessions and queue) on `url`, as a server process
    has them, for code that opens its own sessions; no webhook wake-up set by an earlier test."""
    monkeypatch.setenv("COTERIE_DATABASE_URL", url)
    monkeypatch.setenv("COTERIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(outbox, "_notify", None)
    caches = (settings.get_settings, db.get_engine, db.get_sessionmaker, jobs.get_queue)
    for cached in caches:
        cached.cache_clear()
    try:
        yield url
    finally:
        db.get_engine().dispose()
        for cached in caches:
            cached.cache_clear()


@pytest.fixture
def app_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The process on a fresh SQLite file (`_process_on`)."""
    url = f"sqlite:///{tmp_path / 'coterie.db'}"
    migrations.upgrade(url)
    yield from _process_on(url, tmp_path, monkeypatch)


@pytest.fixture
def process_database(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The process on the run's database of each backend (`_process_on`): committed data,
    shared with the other tests of the run, so each makes a workspace of its own."""
    yield from _process_on(database_url, tmp_path, monkeypatch)


@pytest.fixture
def workspace(session: Session) -> Workspace:
    return workspaces.create(
        session, slug=f"ws-{secrets.token_hex(3)}", name="Acme", default_region="GB"
    )


@pytest.fixture
def admin(workspace: Workspace) -> Actor:
    return actors.system(workspace.id, label="test admin")


@pytest.fixture
def sql(session: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SQL the test's connection runs while the test watches, one line each: through
    SQLAlchemy, and as `db.Prepared` on the driver's connection (which SQLAlchemy's events do
    not see)."""
    seen: list[str] = []
    connection = session.connection()

    def note(*args: Any) -> None:
        seen.append(" ".join(args[2].split()))

    def watched(run: Any) -> Any:
        def running(self: db.Prepared, source: Session | Connection, params: Any) -> Any:
            bind = source.get_bind() if isinstance(source, Session) else source
            text = str(self.statement.compile(dialect=bind.dialect))
            seen.extend([" ".join(text.split())] * (len(params) if run is write else 1))
            return run(self, source, params)

        return running

    rows, write = db.Prepared.rows, db.Prepared.write
    monkeypatch.setattr(db.Prepared, "rows", watched(rows))
    monkeypatch.setattr(db.Prepared, "write", watched(write))
    event.listen(connection, "before_cursor_execute", note)
    yield seen
    event.remove(connection, "before_cursor_execute", note)


def wait_until(done: Callable[[], bool], seconds: float = 10) -> bool:
    """Whether `done()` came true within `seconds` (asked every few milliseconds): for what a
    thread of the code under test does on its own time."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.005)
    return done()


def make_user(session: Session, actor: Actor, **fields: Any) -> Any:
    if "first_name" not in fields:
        fields.setdefault("full_name", "Test Person")
    if not any(k in fields for k in ("phone", "email", "whatsapp", "instagram", "external_id")):
        fields["email"] = f"{secrets.token_hex(4)}@example.com"
    return people.create(session, actor=actor, data=UserCreate(**fields))


def request_sessions(session: Session) -> Callable[[], Iterator[Session]]:
    """An override of a `db_session` dependency: each request is given the test's session, and
    what it did not commit is rolled back after it, as after a real request (a failed one too).

    It holds the session alone. FastAPI remembers every dependency it has classified (an
    lru_cache of 4,096 callables), so an override that held the application (a bound method of
    `Api`) kept every test's application alive: 7 million objects by the end of a run, whose
    full collections held the GIL for up to 6 s and stalled the servers that tests run in
    threads past httpx's 5 s timeout (a CI run failed on it)."""

    def request_session() -> Iterator[Session]:
        try:
            yield session
        finally:
            session.rollback()

    return request_session


class Api:
    """A TestClient bound to the test's transaction, with a bearer token of a chosen role."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        app = create_app()
        app.dependency_overrides[db_session] = request_sessions(session)
        self.client = TestClient(app)

    def as_role(self, role: Role, workspace_id: int | None = None) -> TestClient:
        owner = actors.system(workspace_id or self.actor.workspace_id)
        _, secret = tokens.create(
            self.session, actor=owner, name=f"{role.value}-{secrets.token_hex(2)}", role=role
        )
        self.session.commit()
        client = TestClient(self.client.app)
        client.headers["Authorization"] = f"Bearer {secret}"
        return client


@pytest.fixture
def api(session: Session, admin: Actor, isolated_settings: settings.Settings) -> Api:
    return Api(session, admin)


@pytest.fixture
def client(api: Api) -> TestClient:
    """An admin's API client."""
    return api.as_role(Role.ADMIN)
