"""What every SQLite connection is set to (`db.make_engine`): the write-ahead log, commits that
do not wait for the disk (a crash of the process loses nothing; of the machine, at most the
last commits), foreign keys, and a checkpoint every 10,000 pages of log rather than SQLite's
1,000, so that the index pages many small writes share are copied back less often
(bench/RESULTS.md, SCIM, 2026-12-06); every 2,000 for a commit of many writes that arrived
together, so that under load each checkpoint holds the requests up for less time; and a
savepoint opened after reads alone begins the transaction first, so its release commits
nothing on its own."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import db, migrations
from coterie.workspaces.models import Workspace


def test_a_sqlite_connection_is_set_for_many_small_writes(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'settings.db'}")
    try:
        with engine.connect() as connection:

            def pragma(name: str) -> object:
                return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 1  # NORMAL
            assert pragma("foreign_keys") == 1
            assert pragma("wal_autocheckpoint") == 10000
    finally:
        engine.dispose()


def test_writes_that_arrived_together_checkpoint_a_shorter_log(tmp_path: Path) -> None:
    """A commit takes the log back into the file once it passes 10,000 pages, or 2,000 when the
    writes arrived together (`db.checkpoint_when_busy`); the setting is back afterwards."""
    path = tmp_path / "busy.db"
    engine = db.make_engine(f"sqlite:///{path}")
    page = 4096
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE pages (body BLOB)")
            connection.commit()
            empty = path.stat().st_size
            fill = (  # about 3,000 pages of log: one row a page
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)"
                " INSERT INTO pages SELECT randomblob(3000) FROM n"
            )

            def write(busy: bool) -> int:
                with db.checkpoint_when_busy(connection, busy), connection.begin():
                    connection.exec_driver_sql(fill)
                return path.stat().st_size

            assert write(busy=False) == empty  # 3,000 pages: all still in the log
            assert write(busy=True) > empty + 5_000 * page  # 6,000 pages: copied back
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10000
    finally:
        engine.dispose()


def test_a_savepoint_after_reads_alone_stays_inside_the_transaction(tmp_path: Path) -> None:
    """What a savepoint wrote is rolled back with the session, as on PostgreSQL: Python's
    sqlite3 had begun no transaction after reads alone, so the savepoint began one and its
    release committed (the first flush of a person's update, a move between groups)."""
    url = f"sqlite:///{tmp_path / 'savepoints.db'}"
    migrations.upgrade(url)
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            assert session.scalars(select(Workspace.id)).all() == []  # a read first
            with session.begin_nested():
                session.add(Workspace(id=1, slug="kept", name="Kept"))
            assert session.connection().connection.driver_connection.in_transaction
            session.rollback()
        with Session(engine) as session:
            assert session.scalars(select(Workspace.slug)).all() == []
            with session.begin_nested():
                session.add(Workspace(id=2, slug="written", name="Written"))
            session.commit()
        with Session(engine) as session:
            assert session.scalars(select(Workspace.slug)).all() == ["written"]
    finally:
        engine.dispose()
