"""Create the bench database and load N people into one workspace, fast.

    .venv/bin/python bench/seed.py --db postgresql --users 1000000
    .venv/bin/python bench/seed.py --db sqlite --users 20000

The schema comes from the product's migrations, the workspace and its custom fields (plan, city,
score) from the product's services. The people go in in bulk: COPY on PostgreSQL, executemany in
large batches on SQLite. The users table's secondary indexes are dropped for the load and rebuilt
from their own definitions afterwards (building an index from sorted data is far cheaper than a
million random inserts), then the table is analyzed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
import people

FIELDS = (
    ("plan", "Plan", "enum", ["Free", "Pro", "Enterprise"]),
    ("city", "City", "text", []),
    ("score", "Score", "number", []),
)


def reset_database(backend: str) -> None:
    if backend == "postgresql":
        import psycopg

        with psycopg.connect(f"{_common.PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {_common.PG_DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {_common.PG_DATABASE}")
        return
    _common.DATA.mkdir(exist_ok=True)
    path = _common.DATA / _common.SQLITE_FILE
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def create_workspace(url: str) -> int:
    from sqlalchemy.orm import Session

    from coterie import actor, db
    from coterie.directory import forms
    from coterie.directory.schemas import FieldCreate
    from coterie.rules import FieldType
    from coterie.workspaces import service as workspaces

    engine = db.make_engine(url)
    with Session(engine) as session, session.begin():
        workspace = workspaces.create(
            session, slug=_common.WORKSPACE_SLUG, name="Bench", default_region="US"
        )
        admin = actor.system(workspace.id, label="bench seed")
        for key, label, kind, options in FIELDS:
            forms.create_field(
                session,
                actor=admin,
                data=FieldCreate(key=key, label=label, type=FieldType(kind), options=options),
            )
        workspace_id = workspace.id
    engine.dispose()
    return workspace_id


def _load_postgres(url: str, workspace_id: int, count: int, seed: int) -> dict[str, float]:
    import psycopg

    timings: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        constraints = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'users'::regclass AND contype = 'u'"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'users'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint"
            " WHERE conrelid = 'users'::regclass)"
        ).fetchall()
        for name, _ in constraints:
            conn.execute(f'ALTER TABLE users DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')

        start = time.perf_counter()
        with conn.transaction():
            # Every row references the one bench workspace: skip the per-row FK trigger.
            conn.execute("SET LOCAL session_replication_role = replica")
            columns = ", ".join(people.COLUMNS)
            with conn.cursor().copy(f"COPY users ({columns}) FROM STDIN") as copy:
                for row in people.generate(count, workspace_id=workspace_id, seed=seed):
                    copy.write_row(row)
            # The replica role skipped the triggers that keep `field_value_counts` too.
            conn.execute("SELECT coterie_recount_field_values(%s)", (workspace_id,))
        timings["copy_s"] = time.perf_counter() - start

        start = time.perf_counter()
        for name, definition in constraints:
            conn.execute(f'ALTER TABLE users ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            conn.execute(definition)
        timings["indexes_s"] = time.perf_counter() - start

        start = time.perf_counter()
        conn.execute("VACUUM (ANALYZE) users")
        conn.execute("CHECKPOINT")
        timings["vacuum_analyze_s"] = time.perf_counter() - start
    return timings


def _sqlite_row(row: tuple) -> tuple:
    # SQLAlchemy's SQLite DateTime stores 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC).
    return tuple(v.isoformat(" ", "microseconds") if hasattr(v, "isoformat") else v for v in row)


def _load_sqlite(url: str, workspace_id: int, count: int, seed: int) -> dict[str, float]:
    import sqlite3

    timings: dict[str, float] = {}
    path = url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-4000000")  # 4 GB: the random-id b-trees stay in memory
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users'"
        " AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')

    start = time.perf_counter()
    marks = ", ".join("?" for _ in people.COLUMNS)
    insert = f"INSERT INTO users ({', '.join(people.COLUMNS)}) VALUES ({marks})"
    conn.execute("BEGIN")
    batch: list[tuple] = []
    for row in people.generate(count, workspace_id=workspace_id, seed=seed):
        batch.append(_sqlite_row(row))
        if len(batch) == 50_000:
            conn.executemany(insert, batch)
            batch.clear()
    if batch:
        conn.executemany(insert, batch)
    conn.execute("COMMIT")
    timings["insert_s"] = time.perf_counter() - start

    start = time.perf_counter()
    for _, definition in indexes:
        conn.execute(definition)
    timings["indexes_s"] = time.perf_counter() - start

    start = time.perf_counter()
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode=WAL")  # what the product runs with
    timings["analyze_s"] = time.perf_counter() - start
    conn.close()
    return timings


def seed(backend: str, count: int, seed_value: int = 1) -> dict[str, float]:
    url = _common.database_url(backend)
    total = time.perf_counter()
    reset_database(backend)
    from coterie import migrations

    start = time.perf_counter()
    migrations.upgrade(url)
    workspace_id = create_workspace(url)
    timings = {"schema_s": time.perf_counter() - start}
    load = _load_postgres if backend == "postgresql" else _load_sqlite
    timings |= load(url, workspace_id, count, seed_value)
    timings["total_s"] = time.perf_counter() - total
    timings["users"] = count
    timings["rate_rows_per_sec"] = count / (timings.get("copy_s") or timings["insert_s"])
    _common.DATA.mkdir(exist_ok=True)
    (_common.DATA / f"seed-{_common.TAG}{backend}.json").write_text(json.dumps(timings, indent=2))
    _common.record(backend, "seed", timings)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"seed: {args.users:,} users on {args.db}", flush=True)
    timings = seed(args.db, args.users, args.seed)
    for key, value in timings.items():
        if key.endswith("_s"):
            _common.line(key.removesuffix("_s").replace("_", " "), f"{value:8.1f} s")
    _common.line("load rate (generate + insert)", f"{timings['rate_rows_per_sec']:,.0f} rows/s")


if __name__ == "__main__":
    main()
