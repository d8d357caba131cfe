"""The least any import of issue 4's file must write, by hand-written SQL, against the reference.

    .venv/bin/python bench/import_floor.py --db postgresql     # seeds its own database first
    .venv/bin/python bench/import_floor.py --db sqlite --users 300000 --rows 300000

`bench/imports.py` compares the product's import of a 1,000,000-row CSV into a workspace of
1,000,000 people (half the rows matching) with a bare `COPY` of the file into an empty table with
the users table's indexes (PostgreSQL) or a raw `executemany` (SQLite). This script asks what
ratio is possible at all: it runs, in the same run as that reference, the fewest statements that
do what the issue requires of an import (people matched against the directory, the matched ones
given the file's new fields, the others inserted, every one made a member of the import's group),
and none of what the product adds (normalizing phones, names and emails; matching by every
identifier; repeats inside the file; the merge policies; an outcome row per row for resuming and
the report; audit entries and webhook events; dynamic groups; batches that commit as they go).
Its choices all favour it: raw text stored as it stands, one lookup by email, new ids in
one dense run, one transaction. It is rolled back at the end, so the seeded database can be
used again.

Its ratio to the reference is therefore an upper bound for any implementation of the import: if
the floor is under the target, the target cannot be reached by tuning the product.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("COTERIE_BENCH_NAME", "importfloor")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
import imports

COLUMNS = ("full_name", "phone", "email", *imports.EXTRA)
NEW_PERSON = {  # what a new person needs beyond the file's columns (as the reference sets them)
    "nicknames": "'[]'",
    "source": "'import'",
    "role": "'none'",
    "status": "'active'",
    "scoring_enabled": "false",
    "roaming": "false",
}


def _postgres_statements(workspace_id: int, group_id: int, hot: bool) -> list[tuple[str, str]]:
    now = "now()"
    touched = "" if hot else f", updated_at = {now}"
    new = ", ".join(NEW_PERSON)
    new_values = ", ".join(NEW_PERSON.values())
    fields = "jsonb_build_object('plan', s.plan, 'city', s.city, 'score', s.score, 'company',"
    fields += " s.company, 'signup_date', s.signup_date)"
    return [
        (
            "match by email",
            f"UPDATE floor_stage s SET user_id = u.id FROM users u WHERE u.workspace_id ="
            f" {workspace_id} AND u.email = lower(s.email) AND s.email <> ''",
        ),
        (
            "update the matched",
            f"UPDATE users u SET attributes = u.attributes || {fields}{touched}"
            f" FROM floor_stage s WHERE u.workspace_id = {workspace_id} AND u.id = s.user_id",
        ),
        (
            "ids for the new",
            "UPDATE floor_stage SET user_id = (SELECT min(id) FROM users) - n"
            " WHERE user_id IS NULL",
        ),
        (
            "insert the new",
            f"INSERT INTO users (workspace_id, id, full_name, phone, email, attributes, {new},"
            f" created_at, updated_at) SELECT {workspace_id}, s.user_id, s.full_name,"
            f" nullif(s.phone, ''), nullif(s.email, ''), {fields}, {new_values}, {now}, {now}"
            f" FROM floor_stage s LEFT JOIN users u ON u.workspace_id = {workspace_id}"
            " AND u.id = s.user_id WHERE u.id IS NULL ORDER BY s.user_id ON CONFLICT DO NOTHING",
        ),
        (
            "memberships",
            "INSERT INTO memberships (workspace_id, group_id, user_id, source, added_by_label,"
            f" added_at) SELECT DISTINCT {workspace_id}, {group_id}, s.user_id, 'import', '',"
            f" {now} FROM floor_stage s JOIN users u ON u.workspace_id = {workspace_id}"
            " AND u.id = s.user_id",
        ),
    ]


def floor_postgres(path: Path, workspace_id: int, group_id: int, hot: bool) -> dict[str, float]:
    import psycopg

    columns = ", ".join(COLUMNS)
    with psycopg.connect(_common.psycopg_url("postgresql")) as conn:
        server = conn.info.backend_pid
        steps: dict[str, float] = {}
        with imports.Monitor("sqlite") as monitor:  # its own backend is counted below
            before = imports.process_cpu(server)
            start = time.perf_counter()
            conn.execute(
                "CREATE TEMP TABLE floor_stage (n bigserial, user_id bigint, "
                + ", ".join(f"{c} text" for c in COLUMNS)
                + ")"
            )
            imports.copy_csv(conn, "floor_stage", columns, path)
            conn.execute("CREATE INDEX ON floor_stage (user_id)")
            conn.execute("ANALYZE floor_stage")
            steps["stage (COPY)"] = time.perf_counter() - start
            for label, statement in _postgres_statements(workspace_id, group_id, hot):
                began = time.perf_counter()
                conn.execute(statement)
                steps[label] = time.perf_counter() - began
            server_cpu = imports.process_cpu(server) - before
        members = conn.execute(
            "SELECT count(*) FROM memberships WHERE workspace_id = %s AND group_id = %s",
            (workspace_id, group_id),
        ).fetchone()
        conn.rollback()
    figures = monitor.figures()
    figures["server_cpu_s"] = server_cpu
    figures["total_cpu_s"] += server_cpu
    figures["members"] = members[0] if members else 0
    figures.update({f"step: {k}": v for k, v in steps.items()})
    return figures


def floor_sqlite(path: Path, workspace_id: int, group_id: int, hot: bool) -> dict[str, float]:
    import sqlite3

    database = _common.database_url("sqlite").removeprefix("sqlite:///")
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    now = "'2026-12-01 00:00:00.000000'"
    touched = "" if hot else f", updated_at = {now}"
    fields = "json_object('plan', s.plan, 'city', s.city, 'score', s.score, 'company',"
    fields += " s.company, 'signup_date', s.signup_date)"
    new = ", ".join(NEW_PERSON)
    new_values = ", ".join(v.replace("false", "0") for v in NEW_PERSON.values())
    statements = [
        (
            "match by email",
            "UPDATE floor_stage SET user_id = (SELECT u.id FROM users u WHERE u.workspace_id ="
            f" {workspace_id} AND u.email = lower(floor_stage.email)) WHERE email <> ''",
        ),
        (
            "update the matched",
            f"UPDATE users SET attributes = json_patch(users.attributes, {fields}){touched}"
            f" FROM floor_stage s WHERE users.workspace_id = {workspace_id}"
            " AND users.id = s.user_id",
        ),
        (
            "ids for the new",
            "UPDATE floor_stage SET user_id = (SELECT min(id) FROM users) - rowid"
            " WHERE user_id IS NULL",
        ),
        (
            "insert the new",
            f"INSERT OR IGNORE INTO users (workspace_id, id, full_name, phone, email, attributes,"
            f" {new}, created_at, updated_at) SELECT {workspace_id}, s.user_id, s.full_name,"
            f" nullif(s.phone, ''), nullif(s.email, ''), {fields}, {new_values}, {now}, {now}"
            " FROM floor_stage s WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.workspace_id"
            f" = {workspace_id} AND u.id = s.user_id) ORDER BY s.user_id",
        ),
        (
            "memberships",
            "INSERT INTO memberships (workspace_id, group_id, user_id, source, added_by_label,"
            f" added_at) SELECT DISTINCT {workspace_id}, {group_id}, s.user_id, 'import', '',"
            f" {now} FROM floor_stage s JOIN users u ON u.workspace_id = {workspace_id}"
            " AND u.id = s.user_id",
        ),
    ]
    steps: dict[str, float] = {}
    with imports.Monitor("sqlite") as monitor, path.open(encoding="utf-8", newline="") as file:
        start = time.perf_counter()
        conn.execute("BEGIN")
        conn.execute(
            "CREATE TEMP TABLE floor_stage (user_id INTEGER, "
            + ", ".join(f"{c} TEXT" for c in COLUMNS)
            + ")"
        )
        reader = csv.reader(file)
        next(reader)
        marks = ", ".join("?" for _ in COLUMNS)
        conn.executemany(f"INSERT INTO floor_stage ({', '.join(COLUMNS)}) VALUES ({marks})", reader)
        conn.execute("CREATE INDEX temp.floor_stage_user ON floor_stage (user_id)")
        steps["stage (executemany)"] = time.perf_counter() - start
        for label, statement in statements:
            began = time.perf_counter()
            conn.execute(statement)
            steps[label] = time.perf_counter() - began
    members = conn.execute(
        "SELECT count(*) FROM memberships WHERE workspace_id = ? AND group_id = ?",
        (workspace_id, group_id),
    ).fetchone()
    conn.execute("ROLLBACK")
    conn.close()
    figures = monitor.figures()
    figures["members"] = members[0]
    figures.update({f"step: {k}": v for k, v in steps.items()})
    return figures


def import_group(engine: Any, workspace_id: int) -> int:
    """The group the floor's memberships go to (made once, outside the timing)."""
    from sqlalchemy.orm import Session

    from coterie import actor as actors
    from coterie.groups import service as groups
    from coterie.groups.schemas import GroupCreate

    with Session(engine) as session:
        name = "bench import floor"
        group = groups.find_by_name(session, workspace_id=workspace_id, name=name)
        if group is None:
            admin = actors.system(workspace_id, label="bench import floor")
            group = groups.create(session, actor=admin, data=GroupCreate(name=name))
        session.commit()
        return int(group.id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=imports.USERS, help="people seeded")
    parser.add_argument(
        "--hot",
        action="store_true",
        help="leave updated_at as it is (indexed, it keeps PostgreSQL from updating in place)",
    )
    args = parser.parse_args()
    seeded = _common.DATA / f"seed-{_common.TAG}{args.db}.json"
    if not seeded.exists() or json.loads(seeded.read_text()).get("users") != args.users:
        imports.reseed(args.db, args.users)
    from coterie import migrations

    migrations.upgrade(_common.database_url(args.db))
    engine = imports._engine(args.db)
    workspace_id = imports.prepare_workspace(engine, args.db)
    group_id = import_group(engine, workspace_id)
    engine.dispose()
    path = _common.DATA / f"import-{args.rows}-of-{args.users}.csv"
    imports.write_csv(path, args.rows, workspace_id, args.users)
    reference = imports.reference_postgres if args.db == "postgresql" else imports.reference_sqlite
    floor = floor_postgres if args.db == "postgresql" else floor_sqlite
    label = "bare COPY" if args.db == "postgresql" else "raw executemany"
    print(f"\n{args.rows:,} rows into {args.users:,} people ({args.db}); floor rolled back")
    before = reference(path, workspace_id)
    imports.show(f"reference: {label}", args.rows, before)
    least = floor(path, workspace_id, group_id, args.hot)
    imports.show("floor: the least an import writes", args.rows, least)
    for key, seconds in least.items():
        if key.startswith("step: "):
            _common.line(f"  {key.removeprefix('step: ')}", f"{seconds:7.1f} s")
    after = reference(path, workspace_id)
    imports.show(f"reference: {label} (again)", args.rows, after)
    ratio = (before["seconds"] + after["seconds"]) / 2 / least["seconds"]
    cpu_ratio = (before["total_cpu_s"] + after["total_cpu_s"]) / 2 / least["total_cpu_s"]
    _common.line("members of the floor's group", f"{least['members']:,}")
    _common.line("floor / reference (rows/s)", f"{ratio:.3f}x wall, {cpu_ratio:.3f}x CPU")
    _common.line("floor rows/s", f"{args.rows / least['seconds']:,.0f}")
    _common.record(
        args.db,
        "import_floor",
        {
            "rows": args.rows,
            "hot": args.hot,
            "ratio": ratio,
            "cpu_ratio": cpu_ratio,
            "floor": least,
        },
    )


if __name__ == "__main__":
    main()
