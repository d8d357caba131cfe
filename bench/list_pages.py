"""Server time of one page of the All Users table at the start, deep inside, and at the end.

    .venv/bin/python bench/list_pages.py --db postgresql [--runs 20] [--explain]

Calls `listing.list_users` in-process (filter `attributes.plan eq "Pro"`, sorted by name, 25 a
page, no total) with a new session per call, as a request would. Each page is also fetched by a
hand-written SQL query with the same WHERE, ORDER BY and LIMIT, timed in the same run: the ratio
product/reference is the cost of the ORM, the rule compiler and the cursor handling.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

PAGE = 25
DEEP_PAGE = 10_000
TARGET_MS = 20.0
TARGET_RATIO = 2.0


def plan_test(backend: str) -> str:
    if backend == "postgresql":
        return "attributes->>'plan' = 'Pro'"
    return "json_extract(attributes, '$.plan') = 'Pro'"


def reference_sql(backend: str, kind: str) -> str:
    where = f"workspace_id = :ws AND {plan_test(backend)}"
    if kind == "deep":
        where += " AND (full_name, id) > (:name, :id)"
    order = "full_name DESC, id DESC" if kind == "last" else "full_name, id"
    return f"SELECT * FROM users WHERE {where} ORDER BY {order} LIMIT {PAGE + 1}"


STATISTICS = "CREATE STATISTICS IF NOT EXISTS bench_plan ON ((attributes->>'plan')) FROM users"


def set_statistics(backend: str, on: bool) -> None:
    """Add (or drop) PostgreSQL expression statistics on the filtered key, then re-analyze."""
    import psycopg

    with psycopg.connect(_common.psycopg_url(backend), autocommit=True) as conn:
        conn.execute(STATISTICS if on else "DROP STATISTICS IF EXISTS bench_plan")
        conn.execute("ANALYZE users")


def run(backend: str, runs: int, explain: bool = False, statistics: bool = False) -> dict[str, Any]:
    if statistics and backend == "postgresql":
        set_statistics(backend, True)
        try:
            return _run(backend, runs, explain, "list_pages_with_statistics")
        finally:
            set_statistics(backend, False)
    return _run(backend, runs, explain, "list_pages")


def _run(backend: str, runs: int, explain: bool, figure: str) -> dict[str, Any]:
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from coterie import actor as actors
    from coterie import db
    from coterie.directory import listing
    from coterie.pagination import Cursor
    from coterie.rules import parse_filter

    engine = db.make_engine(_common.database_url(backend))
    with Session(engine) as session:
        workspace = _common.bench_workspace(session)
        admin = actors.system(workspace.id, label="bench")
        params: dict[str, Any] = {"ws": workspace.id}
        matching = session.execute(
            text(f"SELECT count(*) FROM users WHERE workspace_id = :ws AND {plan_test(backend)}"),
            params,
        ).scalar_one()
        pages = -(-matching // PAGE)
        deep = DEEP_PAGE if pages > DEEP_PAGE else max(2, pages // 2)
        # The last row of the page before `deep`, found once and outside the timing.
        boundary = session.execute(
            text(
                f"SELECT full_name, id FROM users WHERE workspace_id = :ws AND {plan_test(backend)}"
                " ORDER BY full_name, id LIMIT 1 OFFSET :skip"
            ),
            {**params, "skip": (deep - 1) * PAGE - 1},
        ).one()
    deep_params = {**params, "name": boundary[0], "id": boundary[1]}
    cursors = {
        "first": None,
        "deep": Cursor("next", boundary[0], boundary[1]).encode(),
        "last": Cursor("last").encode(),
    }
    rule = parse_filter(_common.FILTER)

    def product(kind: str) -> Any:
        with Session(engine) as session:
            page = listing.list_users(
                session,
                actor=admin,
                rule=rule,
                sort="full_name",
                size=PAGE,
                cursor=cursors[kind],
                with_total=False,
            )
            return [u.id for u in page.items]

    def reference(kind: str) -> Any:
        with engine.connect() as conn:
            rows = conn.execute(
                text(reference_sql(backend, kind)), deep_params if kind == "deep" else params
            ).all()
            rows = rows[:PAGE]
            if kind == "last":
                rows.reverse()
            return [r.id for r in rows]

    print(
        f"{figure} on {backend}: {matching:,} of the workspace match {_common.FILTER!r}, "
        f"{pages:,} pages of {PAGE}; deep page = page {deep:,}; median of {runs} runs",
        flush=True,
    )
    results: dict[str, Any] = {
        "matching": matching,
        "pages": pages,
        "deep_page": deep,
        "runs": runs,
    }
    for kind in ("first", "deep", "last"):
        product_ms, product_ids = _common.median_ms(lambda k=kind: product(k), runs)
        reference_ms, reference_ids = _common.median_ms(lambda k=kind: reference(k), runs)
        if product_ids != reference_ids:
            raise SystemExit(f"{kind} page: the product and the reference disagree")
        results[kind] = {"ms": product_ms, "reference_ms": reference_ms}
    first = results["first"]["ms"]
    for kind in ("first", "deep", "last"):
        entry = results[kind]
        entry["vs_first"] = entry["ms"] / first
        entry["vs_reference"] = entry["ms"] / entry["reference_ms"]
        entry["met"] = entry["ms"] < TARGET_MS and entry["vs_first"] <= TARGET_RATIO
        label = {"first": "first page", "deep": f"page {deep:,}", "last": "last page"}[kind]
        _common.line(
            label,
            f"{entry['ms']:7.2f} ms  ({entry['vs_first']:.2f}x first)   reference SQL "
            f"{entry['reference_ms']:6.2f} ms  ratio {entry['vs_reference']:.2f}x   "
            f"target {'met' if entry['met'] else 'MISSED'}",
        )
    if explain:
        _explain(engine, backend, product, list(cursors))
    _common.record(backend, figure, results)
    engine.dispose()
    return results


def _explain(engine: Any, backend: str, product: Any, kinds: list[str]) -> None:
    """Print the plan of the page query the product sends, for each page."""
    from sqlalchemy import event

    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "ORDER BY" in statement and "LIMIT" in statement:
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    for kind in kinds:
        captured.clear()
        product(kind)
        statement, parameters = captured[-1]
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if backend == "postgresql" else "EXPLAIN QUERY PLAN "
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            cur = raw.cursor()
            cur.execute(prefix + statement, parameters)
            plan = "\n      ".join(str(row[-1] if backend == "sqlite" else row[0]) for row in cur)
        print(f"    plan of the {kind} page:\n      {plan}")
    event.remove(engine, "before_cursor_execute", capture)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument(
        "--statistics",
        action="store_true",
        help="PostgreSQL: with expression statistics on attributes->>'plan' (dropped afterwards)",
    )
    args = parser.parse_args()
    run(args.db, args.runs, args.explain, args.statistics)


if __name__ == "__main__":
    main()
