"""The write of SCIM `POST /Users` on PostgreSQL, one create at a time, beside the least such a
write could cost: what a create waits for on the database with one client.

    .venv/bin/python bench/scim_write.py [--creates 1000] [--rounds 6]

The rows of new people (the person, their SCIM document, the audit entry and its webhook
event) are built by the product's own functions, as `creates.built` builds them, before any
timing. Then, in rounds taking turns, each writes its share of the people, one at a time:

- coterie: `creates.write_on_postgresql`, the statement `POST /Users` sends for a batch of one,
  on its asyncio connection in autocommit (the rows' JSON made, sent, the answer read);
- hand-written: the same four rows by four plain `INSERT ... VALUES` in one transaction,
  pipelined (one round trip), with psycopg's prepared statements;
- floor: one row of a table of its own committed alone (`scim.commit_floor`, as
  `bench/scim.py` prints it).

Each of the first two also runs on connections that do not wait for the commit's flush to
disk (`synchronous_commit = off`, for this bench's connections only), which shows what the
durable commit itself costs. Reported: p50 and p99 in ms, and coterie / hand-written.
Uses `bench/scim.py`'s database (`coterie_bench_scim`, made anew).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scim

NO_FLUSH = "-c synchronous_commit=off"  # this bench's connections only


def built_rows(url: str, token: str, count: int) -> list[Any]:
    """`count` new people's rows (`creates.Rows`), built as a SCIM create builds them."""
    os.environ["COTERIE_DATABASE_URL"] = url
    from sqlalchemy.orm import Session

    from coterie import db
    from coterie.access import provisioning
    from coterie.access import scim as scim_tokens
    from coterie.directory import service as directory
    from coterie.directory.schemas import UserCreate
    from coterie.scim import creates

    secret_hash, _ = scim_tokens.remembered(token)
    found = []
    with Session(db.get_engine()) as session:
        actor, workspace = scim_tokens.authenticate(session, secret=token)
        for n in range(count):
            name = f"write{n:07d}"
            data = UserCreate(full_name=name, email=f"{name}@example.com", source="scim")
            person = directory.new_person_row(session, actor=actor, data=data)
            document = {"userName": name, "emails": [{"value": data.email}]}
            profile = provisioning.new_profile(workspace.id, person["id"], name, document)
            found.append(creates.Rows.of(actor, workspace, secret_hash, person, profile))
    return found


def coterie_writes(rows: list[Any]) -> list[float]:
    """Each create written by the product's statement, one at a time: the seconds each took."""
    from coterie.db import get_engine
    from coterie.scim import connections, creates

    async def run() -> list[float]:
        times = []
        for one in rows:
            began = time.perf_counter()
            written = await creates.write_on_postgresql([one])
            times.append(time.perf_counter() - began)
            if written != [True]:
                raise RuntimeError(f"person {one.person_id} was not written")
        connections.of(get_engine()).close()  # belong to this loop; the next run connects anew
        return times

    return asyncio.run(run())


def _insert(table: str, row: dict[str, Any]) -> tuple[str, list[Any]]:
    names = ", ".join(row)
    places = ", ".join("%s" for _ in row)
    values = [Jsonb(v) if isinstance(v, (dict, list)) else v for v in row.values()]
    return f"INSERT INTO {table} ({names}) VALUES ({places})", values


def hand_written_writes(url: str, rows: list[Any]) -> list[float]:
    """The same rows by four plain INSERTs in one pipelined transaction per create."""
    from coterie.access.provisioning import ScimUser
    from coterie.directory.models import User
    from coterie.events.models import AuditEntry, OutboxEvent

    tables = User.__tablename__, ScimUser.__tablename__, AuditEntry.__tablename__
    events = OutboxEvent.__tablename__
    times = []
    with psycopg.connect(url, autocommit=True) as conn:
        for one in rows:
            statements = [
                _insert(table, row)
                for table, row in zip(tables, (one.person, one.profile, one.entry), strict=True)
            ]
            statements += [_insert(events, event) for event in one.events]
            began = time.perf_counter()
            with conn.pipeline(), conn.transaction():
                for sql, values in statements:
                    conn.execute(sql, values, prepare=True)
            times.append(time.perf_counter() - began)
    return times


def without_flush(write: Callable[[list[Any]], list[float]]) -> Callable[[list[Any]], list[float]]:
    """`write` on connections that do not wait for the commit's flush (libpq reads
    `PGOPTIONS` when it connects; each write connects anew)."""

    def run(rows: list[Any]) -> list[float]:
        os.environ["PGOPTIONS"] = NO_FLUSH
        try:
            return write(rows)
        finally:
            del os.environ["PGOPTIONS"]

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=1000, help="per figure and round")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()

    url = scim.database_url("postgresql")
    print("Seeding 2000 users into Coterie (postgresql)...", flush=True)
    token = scim.seed_coterie(url, 2000)
    per_round = args.creates

    def hand_written(part: list[Any]) -> list[float]:
        return hand_written_writes(url, part)

    figures = {
        "coterie": coterie_writes,
        "hand-written": hand_written,
        "coterie, no flush": without_flush(coterie_writes),
        "hand-written, no flush": without_flush(hand_written),
    }
    rows = built_rows(url, token, len(figures) * per_round * args.rounds)
    times: dict[str, list[float]] = {name: [] for name in figures}
    for round_ in range(args.rounds):
        for n, (name, write) in enumerate(figures.items()):
            start = (round_ * len(figures) + n) * per_round
            times[name] += write(rows[start : start + per_round])[20:]  # past the first plans
    floor = scim.commit_floor(url)
    for name, found in times.items():
        figure = scim.latencies(sorted(found))
        print(f"  {name:24s} p50 {figure['p50_ms']:5.2f} ms  p99 {figure['p99_ms']:5.2f} ms")
    print(f"  {'floor':24s} p50 {floor['p50_ms']:5.2f} ms  p99 {floor['p99_ms']:5.2f} ms")
    ours, theirs = statistics.median(times["coterie"]), statistics.median(times["hand-written"])
    print(f"coterie / hand-written: the write takes x{ours / theirs:.2f} the time (p50)")


if __name__ == "__main__":
    main()
