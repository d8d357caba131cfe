"""Rule groups over a million people: materializing a new dynamic group, and a delta re-evaluation.

    .venv/bin/python bench/groups.py --db postgresql [--runs 5] [--explain] [--only materialize]

materialize: `groups.service.create` of a dynamic group whose rule has three conditions, one on a
custom field (RULE), in a transaction rolled back after the flush; against the hand-written
`INSERT INTO memberships (...) SELECT ... FROM users WHERE ...` for the same people, also rolled
back, in the same run. Runs alternate; the median of each is compared (target: at most 1.2x).

delta: a broad dynamic group (BROAD, about 44% of people) is created and committed, then 1% of
people change plan in a bulk UPDATE (no per-person re-evaluation); in that transaction
`evaluation.evaluate_since` (the changed people only) and a full `evaluation.evaluate` each run
in a savepoint rolled back after it, alternating. Both must make the same changes, and the delta
must be faster. The broad group is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
import groups_setup

RULE = (
    'attributes.plan eq "Pro" and primary_channel eq "whatsapp"'
    ' and last_activity_at gt "2026-05-01"'
)
AFTER = datetime(2026, 5, 2, tzinfo=UTC)  # `gt "2026-05-01"`: from the next day on
BROAD = 'attributes.plan ne "Free" and status eq "active"'
BROAD_NAME = "bench: broad (plan not Free, active)"
TARGET_RATIO = 1.2


def plan_is(backend: str, value: str) -> str:
    if backend == "postgresql":
        return f"attributes->>'plan' = '{value}'"
    return f"json_extract(attributes, '$.plan') = '{value}'"


def reference_insert(backend: str) -> str:
    """RULE written by hand: the rows the product inserts, with the same column values."""
    return (
        "INSERT INTO memberships (workspace_id, group_id, user_id, source, added_by_id,"
        " added_by_label, added_at)"
        " SELECT :ws, :group_id, id, 'rule', NULL, :label, :now FROM users"
        f" WHERE workspace_id = :ws AND {plan_is(backend, 'Pro')}"
        " AND primary_channel = 'whatsapp' AND last_activity_at >= :after"
    )


def vacuum(engine: Any, backend: str) -> None:
    """PostgreSQL: clear what rolled-back runs left, so every run starts from the same tables."""
    if backend != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        from sqlalchemy import text

        conn.execute(text("VACUUM (ANALYZE) memberships, audit_entries, groups"))


_TICKS = os.sysconf("SC_CLK_TCK")


def backend_pid(connection: Any) -> int | None:
    """The PostgreSQL server process serving this connection (None on SQLite)."""
    from sqlalchemy import text

    if connection.dialect.name != "postgresql":
        return None
    return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def cpu_seconds(pid: int | None) -> float:
    """CPU seconds used so far by this process, plus by the PostgreSQL backend `pid`."""
    used = time.process_time()
    if pid is not None:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        used += (int(fields[11]) + int(fields[12])) / _TICKS
    return used


@dataclass
class Timed:
    """One run's outcome, wall time and CPU time (client and server) in milliseconds."""

    value: Any
    ms: float
    cpu_ms: float


def timed(pid: int | None, work: Callable[[], Any]) -> Timed:
    start, cpu = time.perf_counter(), cpu_seconds(pid)
    value = work()
    return Timed(value, (time.perf_counter() - start) * 1000, (cpu_seconds(pid) - cpu) * 1000)


def alternate(
    runs: int, first: Callable[[], Timed], second: Callable[[], Timed], before: Callable[[], None]
) -> tuple[list[Timed], list[Timed]]:
    """Run `first` and `second` in turns (who goes first alternates), after a warm-up of each."""
    done: tuple[list[Timed], list[Timed]] = ([], [])
    for fn in (first, second):
        before()
        fn()
    for run in range(runs):
        for index in (0, 1) if run % 2 == 0 else (1, 0):
            before()
            done[index].append((first, second)[index]())
    return done


def summary(product: list[Timed], reference: list[Timed]) -> dict[str, Any]:
    """Medians of wall and CPU time, and the product/reference ratios of both."""
    ms = statistics.median(t.ms for t in product)
    cpu_ms = statistics.median(t.cpu_ms for t in product)
    reference_ms = statistics.median(t.ms for t in reference)
    reference_cpu_ms = statistics.median(t.cpu_ms for t in reference)
    return {
        "ms": ms,
        "cpu_ms": cpu_ms,
        "reference_ms": reference_ms,
        "reference_cpu_ms": reference_cpu_ms,
        "ratio": ms / reference_ms,
        "cpu_ratio": cpu_ms / reference_cpu_ms,
        "runs_ms": [round(t.ms) for t in product],
        "reference_runs_ms": [round(t.ms) for t in reference],
    }


def materialize(engine: Any, backend: str, runs: int, explain: bool) -> dict[str, Any]:
    from sqlalchemy import insert, text
    from sqlalchemy.orm import Session

    from coterie import actor as actors
    from coterie import ids
    from coterie.db import utcnow
    from coterie.groups import service
    from coterie.groups.models import Group
    from coterie.groups.schemas import GroupCreate

    with Session(engine) as session:
        workspace = _common.bench_workspace(session)
        workspace_id = workspace.id
    admin = actors.system(workspace_id, label="bench")
    after: Any = AFTER if backend == "postgresql" else "2026-05-02 00:00:00.000000"
    counter = iter(range(1_000_000))

    def product() -> Timed:
        with Session(engine) as session:
            pid = backend_pid(session.connection())
            data = GroupCreate(name=f"bench new {next(counter)}", selection="rule", include=RULE)

            def create() -> int:
                group = service.create(session, actor=admin, data=data)
                session.flush()
                return group.member_count

            run = timed(pid, create)
            session.rollback()
        return run

    def reference() -> Timed:
        with engine.connect() as conn, conn.begin() as transaction:
            pid = backend_pid(conn)
            group_id = ids.new_id()
            params = {"ws": workspace_id, "group_id": group_id, "label": "bench"}
            params |= {"now": utcnow(), "after": after}
            if backend == "sqlite":
                params["now"] = params["now"].strftime("%Y-%m-%d %H:%M:%S.%f")

            def insert_members() -> int:
                conn.execute(
                    insert(Group.__table__).values(
                        workspace_id=workspace_id,
                        id=group_id,
                        name=f"bench reference {next(counter)}",
                        selection="rule",
                        behaviour="dynamic",
                    )
                )
                return int(conn.execute(text(reference_insert(backend)), params).rowcount)

            run = timed(pid, insert_members)
            transaction.rollback()
        return run

    print(f"materialize on {backend}: {RULE!r}, median of {runs} alternating runs", flush=True)
    products, references = alternate(runs, product, reference, lambda: vacuum(engine, backend))
    members, inserted = products[-1].value, references[-1].value
    if members != inserted:
        raise SystemExit(f"the product added {members:,} people, the reference {inserted:,}")
    result = {"rule": RULE, "members": members, "runs": runs} | summary(products, references)
    result["met"] = result["ratio"] <= TARGET_RATIO
    _common.line("people selected", f"{members:,}")
    _common.line(
        "groups.service.create (flushed)",
        f"{result['ms']:6.0f} ms (CPU {result['cpu_ms']:5.0f})   reference INSERT ... SELECT "
        f"{result['reference_ms']:6.0f} ms (CPU {result['reference_cpu_ms']:5.0f})",
    )
    _common.line(
        "product / reference",
        f"{result['ratio']:.2f}x wall, {result['cpu_ratio']:.2f}x CPU   "
        f"target {TARGET_RATIO}x {'met' if result['met'] else 'MISSED'}",
    )
    if explain:
        _explain(engine, backend, admin)
    return result


def _explain(engine: Any, backend: str, admin: Any) -> None:
    """Print the plan of the membership insert the product sends: the group is created, its
    members deleted again, and the captured insert run under EXPLAIN, all rolled back."""
    from sqlalchemy import delete, event
    from sqlalchemy.orm import Session

    from coterie.groups import service
    from coterie.groups.models import Membership
    from coterie.groups.schemas import GroupCreate

    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("INSERT INTO memberships"):
            captured.append((statement, parameters))

    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if backend == "postgresql" else "EXPLAIN QUERY PLAN "
    with Session(engine) as session:
        event.listen(engine, "before_cursor_execute", capture)
        data = GroupCreate(name="bench explain", selection="rule", include=RULE)
        group = service.create(session, actor=admin, data=data)
        event.remove(engine, "before_cursor_execute", capture)
        session.execute(delete(Membership).where(Membership.group_id == group.id))
        statement, parameters = captured[-1]
        cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(prefix + statement, parameters)
        rows = [str(r[-1] if backend == "sqlite" else r[0]) for r in cursor]
        session.rollback()
    print("    plan of the membership insert:\n      " + "\n      ".join(rows))


def flip_plans(backend: str) -> str:
    """1% of people (ids are random: `id % 100 = 7`) change plan: Free -> Pro, else -> Free."""
    if backend == "postgresql":
        new = (
            "jsonb_set(attributes, '{plan}', to_jsonb(CASE attributes->>'plan'"
            " WHEN 'Free' THEN 'Pro' ELSE 'Free' END))"
        )
    else:
        new = (
            "json_set(attributes, '$.plan', CASE json_extract(attributes, '$.plan')"
            " WHEN 'Free' THEN 'Pro' ELSE 'Free' END)"
        )
    return (
        f"UPDATE users SET attributes = {new}, updated_at = :now"
        " WHERE workspace_id = :ws AND id % 100 = 7"
    )


def delta(engine: Any, backend: str, runs: int) -> dict[str, Any]:
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from coterie import actor as actors
    from coterie.db import utcnow
    from coterie.groups import evaluation, service
    from coterie.groups.models import Group
    from coterie.groups.schemas import GroupCreate

    with Session(engine) as session:
        workspace_id = _common.bench_workspace(session).id
    admin = actors.system(workspace_id, label="bench")
    result: dict[str, Any] = {"rule": BROAD}
    with Session(engine) as session:
        group = service.find_by_name(session, workspace_id=workspace_id, name=BROAD_NAME)
        if group is not None:
            service.delete_group(session, actor=admin, group_id=group.id)
            session.commit()
        start = time.perf_counter()
        data = GroupCreate(name=BROAD_NAME, selection="rule", include=BROAD)
        group_id = service.create(session, actor=admin, data=data).id
        session.commit()
        result["create_broad_s"] = time.perf_counter() - start
    vacuum(engine, backend)
    try:
        with Session(engine) as session:
            group = session.get(Group, (workspace_id, group_id))
            assert group is not None
            result["members"] = group.member_count
            now = utcnow()
            since = now - timedelta(seconds=1)
            params: dict[str, Any] = {"ws": workspace_id, "now": now}
            if backend == "sqlite":
                params["now"] = now.strftime("%Y-%m-%d %H:%M:%S.%f")
            changed = session.execute(text(flip_plans(backend)), params)
            result["changed"] = int(changed.rowcount)  # type: ignore[attr-defined]

            pid = backend_pid(session.connection())

            def run(full: bool) -> Callable[[], Timed]:
                def once() -> Timed:
                    with session.begin_nested() as savepoint:
                        target = session.get(Group, (workspace_id, group_id))
                        assert target is not None

                        def work() -> Any:
                            if full:
                                return evaluation.evaluate(session, actor=admin, group=target)
                            return evaluation.evaluate_since(
                                session, actor=admin, group=target, since=since
                            )

                        outcome = timed(pid, work)
                        savepoint.rollback()
                    return outcome

                return once

            print(
                f"delta on {backend}: {BROAD!r} ({result['members']:,} members), "
                f"{result['changed']:,} people changed; median of {runs} alternating runs",
                flush=True,
            )
            deltas, fulls = alternate(runs, run(False), run(True), lambda: None)
            session.rollback()
        since_done, full_done = deltas[-1].value, fulls[-1].value
        if (since_done.added, since_done.removed) != (full_done.added, full_done.removed):
            raise SystemExit(f"evaluate_since made {since_done}, evaluate {full_done}")
    finally:
        with Session(engine) as session:
            start = time.perf_counter()
            service.delete_group(session, actor=admin, group_id=group_id)
            session.commit()
            result["delete_broad_s"] = time.perf_counter() - start
    figures = summary(deltas, fulls)
    result |= {"runs": runs, "added": since_done.added, "removed": since_done.removed}
    result |= {
        "since_ms": figures["ms"],
        "since_cpu_ms": figures["cpu_ms"],
        "full_ms": figures["reference_ms"],
        "full_cpu_ms": figures["reference_cpu_ms"],
        "ratio": figures["ratio"],
        "since_runs_ms": figures["runs_ms"],
        "full_runs_ms": figures["reference_runs_ms"],
    }
    result["met"] = result["since_ms"] < result["full_ms"]
    _common.line("broad group created (committed)", f"{result['create_broad_s']:8.1f} s")
    _common.line("changes found (added, removed)", f"{result['added']:,}, {result['removed']:,}")
    _common.line(
        "evaluate_since / full evaluate",
        f"{result['since_ms']:8.0f} ms / {result['full_ms']:8.0f} ms   "
        f"({result['ratio']:.3f}x)   target {'met' if result['met'] else 'MISSED'}",
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("materialize", "delta"))
    parser.add_argument("--explain", action="store_true", help="print the insert's plan")
    args = parser.parse_args()
    from coterie import db

    engine = db.make_engine(_common.database_url(args.db))
    groups_setup.drop(engine)  # a workspace without other groups, whatever ran before
    if args.only in (None, "materialize"):
        figure = materialize(engine, args.db, args.runs, args.explain)
        _common.record(args.db, "groups_materialize", figure)
    if args.only in (None, "delta"):
        _common.record(args.db, "groups_delta", delta(engine, args.db, args.runs))
    engine.dispose()


if __name__ == "__main__":
    main()
