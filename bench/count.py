"""The exact total of a filtered list: `listing.count_users`, and the same counted over the people.

    .venv/bin/python bench/count.py --db postgresql [--runs 11] [--experiments]

Reference: a hand-written `SELECT count(*) ... WHERE workspace_id = ? AND <plan is Pro>` in the
same run. `--experiments` (PostgreSQL) also times candidate indexes, each created in the bench
database and dropped again, so the schema is left as the migrations made it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
from list_pages import plan_test

TARGET_MS = 150.0

# name -> DDL. Each is tried alone, then dropped.
EXPERIMENTS = {
    "expression statistics on attributes->>'plan'": (
        "CREATE STATISTICS bench_plan ON ((attributes->>'plan')) FROM users"
    ),
    "expression index (workspace_id, attributes->>'plan')": (
        "CREATE INDEX bench_plan ON users (workspace_id, (attributes->>'plan'))"
    ),
    "the same index INCLUDE (attributes)": (
        "CREATE INDEX bench_plan ON users (workspace_id, (attributes->>'plan'))"
        " INCLUDE (attributes)"
    ),
}
DROP = "DROP INDEX IF EXISTS bench_plan; DROP STATISTICS IF EXISTS bench_plan"


def product_sql(session: Any, stmt: Any) -> str:
    """The count statement the product sends, with literal values (for the experiments)."""
    from sqlalchemy import func, select

    counted = select(func.count()).select_from(stmt.order_by(None).subquery())
    return str(counted.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))


def run(backend: str, runs: int, experiments: bool = False) -> dict[str, Any]:
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from coterie import actor as actors
    from coterie import db
    from coterie.directory import listing
    from coterie.directory.service import workspace_fields
    from coterie.pagination import count_rows
    from coterie.rules import parse_filter

    engine = db.make_engine(_common.database_url(backend))
    rule = parse_filter(_common.FILTER)
    with Session(engine) as session:
        workspace = _common.bench_workspace(session)
    admin = actors.system(workspace.id, label="bench")
    reference_sql = f"SELECT count(*) FROM users WHERE workspace_id = :ws AND {plan_test(backend)}"

    def product() -> int:
        with Session(engine) as session:
            return listing.count_users(session, actor=admin, rule=rule)

    def counted_over_people() -> int:
        """The product's count as it was before `field_value_counts`: over every person."""
        with Session(engine) as session:
            custom = workspace_fields(session, workspace_id=admin.workspace_id)
            stmt = listing.selection(session, actor=admin, rule=rule, custom=custom)
            return count_rows(session, stmt)

    def reference(sql: str = reference_sql) -> int:
        with engine.connect() as conn:
            return int(conn.execute(text(sql), {"ws": workspace.id}).scalar_one())

    def everyone() -> int:
        with Session(engine) as session:
            stmt = listing.selection(session, actor=admin, rule=None, custom=[])
            return count_rows(session, stmt)

    product_ms, total = _common.median_ms(product, runs)
    reference_ms, expected = _common.median_ms(reference, runs)
    over_people_ms, over_people = _common.median_ms(counted_over_people, runs)
    all_ms, everybody = _common.median_ms(everyone, runs)
    if total != expected or over_people != expected:
        raise SystemExit(
            f"count: the product says {total} ({over_people} over the people), "
            f"the reference {expected}"
        )
    met = product_ms < TARGET_MS
    print(
        f"count on {backend}: {total:,} of {everybody:,} match; median of {runs} runs", flush=True
    )
    _common.line(
        "listing.count_users(plan eq Pro)",
        f"{product_ms:8.1f} ms   reference SQL {reference_ms:8.1f} ms   ratio "
        f"{product_ms / reference_ms:.2f}x   target <{TARGET_MS:.0f} ms "
        f"{'met' if met else 'MISSED'}",
    )
    _common.line(
        "count_rows(selection(plan eq Pro))", f"{over_people_ms:8.1f} ms (over the people)"
    )
    _common.line("count_rows(selection(no filter))", f"{all_ms:8.1f} ms")
    results: dict[str, Any] = {
        "count": total,
        "users": everybody,
        "ms": product_ms,
        "reference_ms": reference_ms,
        "ratio": product_ms / reference_ms,
        "met": met,
        "over_people_ms": over_people_ms,
        "unfiltered_ms": all_ms,
        "runs": runs,
    }
    if experiments and backend == "postgresql":
        with Session(engine) as session:
            custom = workspace_fields(session, workspace_id=admin.workspace_id)
            compiled = product_sql(
                session, listing.selection(session, actor=admin, rule=rule, custom=custom)
            )
        results["experiments"] = _experiments(engine, workspace.id, runs, compiled, reference)
    _common.record(backend, "count", results)
    engine.dispose()
    return results


def _experiments(engine: Any, workspace_id: int, runs: int, compiled: str, reference: Any) -> Any:
    from sqlalchemy import text

    shapes = {"product": compiled, "reference": None}
    found: dict[str, Any] = {}

    def time_shapes(label: str) -> None:
        for name, sql in shapes.items():
            ms, _ = _common.median_ms(lambda s=sql: reference(s) if s else reference(), runs)
            found.setdefault(label, {})[name] = ms
        row = "   ".join(f"{n} {found[label][n]:7.1f} ms" for n in shapes)
        _common.line(label[:44], row)

    print("  experiments (each alone, dropped afterwards):")
    time_shapes("as migrated")
    for label, ddl in EXPERIMENTS.items():
        with engine.begin() as conn:
            conn.execute(text(ddl))
            conn.execute(text("ANALYZE users"))
            size = conn.execute(
                text("SELECT pg_relation_size(to_regclass('bench_plan'))")
            ).scalar_one()
        try:
            time_shapes(label)
            found[label]["index_mib"] = (size or 0) / 2**20
            if size:
                _common.line("", f"index size {size / 2**20:.0f} MiB")
        finally:
            with engine.begin() as conn:
                for statement in DROP.split(";"):
                    conn.execute(text(statement))
    with engine.begin() as conn:
        conn.execute(text("ANALYZE users"))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--experiments", action="store_true")
    args = parser.parse_args()
    run(args.db, args.runs, args.experiments)


if __name__ == "__main__":
    main()
