"""What every SQLite connection is set to (`db.make_engine`): the write-ahead log, commits that
do not wait for the disk (a crash of the process loses nothing; of the machine, at most the
last commits), foreign keys, and a checkpoint every 10,000 pages of log rather than SQLite's
1,000, so that the index pages many small writes share are copied back less often
(bench/RESULTS.md, SCIM, 2026-12-06)."""

from __future__ import annotations

from pathlib import Path

from coterie import db


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
