"""The groups dashboard with 10,000 groups: server time of a page against hand-written SQL.

    .venv/bin/python bench/groups_dashboard.py --db postgresql [--groups 10000] [--runs 20]

`groups_setup.ensure` puts the bench groups in the workspace (with their memberships and kept
member counts). Then `groups.service.list_groups` is called in-process, 25 a page with the total
(as the dashboard shows it), each call in a new session: the first page (newest first), a deep
page (the 200th; its cursor is found once by walking the pages before it) and the first page
sorted by member count, largest first. Each is also fetched by hand-written SQL (the same WHERE,
ORDER BY and LIMIT, plus the `count(*)`), timed in the same run; median of `--runs`. The bench
groups are removed at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
import groups_setup

PAGE = 25
DEEP_PAGE = 200
TARGET_MS = 20.0
PAGES = {
    "first": ("created_at", None),
    "deep": ("created_at", "deep"),
    "by_members": ("member_count", None),
}


def reference_sql(sort: str, deep: bool) -> str:
    after = f" AND ({sort}, id) < (:value, :id)" if deep else ""
    return (
        f"SELECT * FROM groups WHERE workspace_id = :ws{after}"
        f" ORDER BY {sort} DESC, id DESC LIMIT {PAGE + 1}"
    )


def measure(engine: Any, backend: str, groups: int, runs: int) -> dict[str, Any]:
    from sqlalchemy import bindparam, text
    from sqlalchemy.orm import Session

    from coterie import actor as actors
    from coterie.db import UTCDateTime
    from coterie.groups import service

    setup = groups_setup.ensure(engine, backend, groups)
    with Session(engine) as session:
        workspace_id = _common.bench_workspace(session).id
        total = session.execute(
            text("SELECT count(*) FROM groups WHERE workspace_id = :ws"), {"ws": workspace_id}
        ).scalar_one()
        deep = min(DEEP_PAGE, max(2, total // PAGE // 2))
    admin = actors.system(workspace_id, label="bench")
    # The deep page's cursor, by walking the pages before it once, outside the timing.
    cursor: str | None = None
    with Session(engine) as session:
        for _ in range(deep - 1):
            page = service.list_groups(session, actor=admin, cursor=cursor, with_total=False)
            boundary, cursor = (page.items[-1].created_at, page.items[-1].id), page.next

    def product(kind: str) -> list[int]:
        sort, deep_page = PAGES[kind]
        with Session(engine) as session:
            page = service.list_groups(
                session,
                actor=admin,
                sort=sort,
                descending=True,
                size=PAGE,
                cursor=cursor if deep_page else None,
            )
            assert page.total == total
            return [g.id for g in page.items]

    def reference(kind: str) -> list[int]:
        sort, deep_page = PAGES[kind]
        params = {"ws": workspace_id, "value": boundary[0], "id": boundary[1]}
        with engine.connect() as conn:
            stmt = text(reference_sql(sort, bool(deep_page)))
            if deep_page:
                stmt = stmt.bindparams(bindparam("value", type_=UTCDateTime()))
            rows = conn.execute(stmt, params).all()
            count = conn.execute(
                text("SELECT count(*) FROM groups WHERE workspace_id = :ws"), params
            ).scalar_one()
            assert count == total
            return [row.id for row in rows[:PAGE]]

    print(
        f"dashboard on {backend}: {total:,} groups, {PAGE} a page with the total; deep page = "
        f"page {deep}; median of {runs} runs",
        flush=True,
    )
    result: dict[str, Any] = {"groups": total, "deep_page": deep, "runs": runs, "setup": setup}
    for kind in PAGES:
        product_ms, product_ids = _common.median_ms(lambda k=kind: product(k), runs)
        reference_ms, reference_ids = _common.median_ms(lambda k=kind: reference(k), runs)
        if product_ids != reference_ids:
            raise SystemExit(f"{kind} page: the product and the reference disagree")
        entry = {"ms": product_ms, "reference_ms": reference_ms}
        entry["ratio"] = product_ms / reference_ms
        entry["met"] = product_ms < TARGET_MS
        result[kind] = entry
        label = {"first": "first page", "deep": f"page {deep}", "by_members": "by member count"}
        _common.line(
            label[kind],
            f"{product_ms:7.2f} ms   reference SQL {reference_ms:6.2f} ms   "
            f"ratio {entry['ratio']:.1f}x   target < {TARGET_MS:.0f} ms "
            f"{'met' if entry['met'] else 'MISSED'}",
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="leave the bench groups in place")
    args = parser.parse_args()
    from coterie import db

    engine = db.make_engine(_common.database_url(args.db))
    try:
        result = measure(engine, args.db, args.groups, args.runs)
    finally:
        if not args.keep:
            groups_setup.drop(engine)
    _common.record(args.db, "groups_dashboard", result)
    engine.dispose()


if __name__ == "__main__":
    main()
