"""CSV export of the whole workspace through `listing.export_csv`: rows/s and memory.

    .venv/bin/python bench/export.py --db postgresql

The product's iterator is consumed and its bytes counted; a thread samples the process's resident
memory meanwhile, so the growth printed is the peak seen during the export over the RSS just
before it. Reference (PostgreSQL): the server's own `COPY (SELECT <the same columns> ... ORDER BY
full_name, id) TO STDOUT WITH CSV` read through psycopg's `cursor.copy()` in the same run. On
SQLite, which has no COPY, the reference is the same SELECT through the sqlite3 module written by
`csv.writer` with no per-cell work: the floor of any export written in Python.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402

TARGET_RATIO = 0.5
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


class PeakRss:
    """Samples the resident set size every 20 ms in a background thread."""

    def __init__(self) -> None:
        self.baseline = rss_bytes()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 2**20


def _reference_columns(backend: str) -> str:
    from coterie.directory.listing import EXPORT_COLUMNS

    custom = ("plan", "city", "score")
    if backend == "postgresql":
        extra = [f"attributes->>'{key}'" for key in custom]
    else:
        extra = [f"json_extract(attributes, '$.{key}')" for key in custom]
    return ", ".join([*EXPORT_COLUMNS, *extra])


def reference_postgres(workspace_id: int) -> tuple[int, int]:
    import psycopg

    sql = (
        f"COPY (SELECT {_reference_columns('postgresql')} FROM users"
        f" WHERE workspace_id = {int(workspace_id)} ORDER BY full_name, id) TO STDOUT WITH CSV HEADER"
    )
    size = lines = 0
    with psycopg.connect(_common.psycopg_url("postgresql")) as conn, conn.cursor() as cur:
        with cur.copy(sql) as copy:
            for block in copy:
                size += len(block)
                lines += bytes(block).count(b"\n")
    return size, lines - 1


def reference_sqlite(workspace_id: int) -> tuple[int, int]:
    import sqlite3

    path = _common.database_url("sqlite").removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    cur = conn.execute(
        f"SELECT {_reference_columns('sqlite')} FROM users WHERE workspace_id = ?"
        " ORDER BY full_name, id",
        (workspace_id,),
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    size = rows = 0
    while batch := cur.fetchmany(5000):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(batch)
        size += len(buffer.getvalue().encode())
        rows += len(batch)
    conn.close()
    return size, rows


def run(backend: str, batch_size: int = 5000) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from coterie import actor as actors
    from coterie import db
    from coterie.directory import listing

    engine = db.make_engine(_common.database_url(backend))
    with Session(engine) as session:
        workspace = _common.bench_workspace(session)
        admin = actors.system(workspace.id, label="bench")
    # Warm the code path and the connection on a small export (a filter nobody matches).
    with Session(engine) as session:
        from coterie.rules import parse_filter

        nobody = parse_filter('email eq "nobody@nowhere.example"')
        for _ in listing.export_csv(session, actor=admin, rule=nobody, batch_size=batch_size):
            pass

    with Session(engine) as session, PeakRss() as memory:
        start = time.perf_counter()
        size = lines = 0
        for chunk in listing.export_csv(session, actor=admin, sort="full_name", batch_size=batch_size):
            encoded = chunk.encode()
            size += len(encoded)
            lines += encoded.count(b"\n")
        product_s = time.perf_counter() - start
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    start = time.perf_counter()
    ref_size, ref_rows = (reference_postgres if backend == "postgresql" else reference_sqlite)(
        workspace.id
    )
    reference_s = time.perf_counter() - start

    rows = ref_rows  # embedded newlines would inflate a line count; the reference counts rows
    product_rate = rows / product_s
    reference_rate = rows / reference_s
    ratio = product_rate / reference_rate
    met = ratio >= TARGET_RATIO
    reference_name = "COPY ... TO STDOUT CSV" if backend == "postgresql" else "sqlite3 + csv.writer"
    print(f"export on {backend}: {rows:,} rows, batch {batch_size}", flush=True)
    _common.line(
        "listing.export_csv",
        f"{product_s:7.2f} s  {product_rate:10,.0f} rows/s  {size / 2**20:7.1f} MiB "
        f"({lines - 1:,} lines)",
    )
    _common.line(
        f"reference: {reference_name}",
        f"{reference_s:7.2f} s  {reference_rate:10,.0f} rows/s  {ref_size / 2**20:7.1f} MiB",
    )
    _common.line(
        "ratio (product rate / reference rate)",
        f"{ratio:.2f}x   target >= {TARGET_RATIO}x {'met' if met else 'MISSED'}",
    )
    _common.line(
        "memory during the export",
        f"RSS +{memory.growth_mb:.1f} MiB over {memory.baseline / 2**20:.0f} MiB "
        f"(process peak {maxrss_mb:.0f} MiB)",
    )
    results = {
        "rows": rows, "seconds": product_s, "rows_per_s": product_rate, "bytes": size,
        "reference": reference_name, "reference_seconds": reference_s,
        "reference_rows_per_s": reference_rate, "reference_bytes": ref_size, "ratio": ratio,
        "met": met, "rss_growth_mib": memory.growth_mb, "rss_baseline_mib": memory.baseline / 2**20,
        "batch_size": batch_size,
    }
    _common.record(backend, "export", results)
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()
    run(args.db, args.batch_size)


if __name__ == "__main__":
    main()
