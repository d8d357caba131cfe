"""CSV export of the whole workspace through `export.export_csv`: rows/s and memory.

    .venv/bin/python bench/export.py --db postgresql

The product's iterator is consumed and its bytes counted; a thread samples the process's resident
memory meanwhile, so the growth printed is the peak seen during the export over the RSS just
before it. Product and reference run alternately `--rounds` times and the medians are compared;
CPU seconds (this process, and on PostgreSQL the server backend, read from /proc) are printed
too, as they hold steady when other work shares the machine and wall times do not.

Reference (PostgreSQL): the server's own `COPY (SELECT <the same columns> ... ORDER BY
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
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

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


_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int | None) -> float:
    """CPU seconds used so far by a local process (a PostgreSQL backend), 0 if unknown."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _reference_columns(backend: str) -> str:
    from coterie.directory.export import EXPORT_COLUMNS

    custom = ("plan", "city", "score")
    if backend == "postgresql":
        extra = [f"attributes->>'{key}'" for key in custom]
    else:
        extra = [f"json_extract(attributes, '$.{key}')" for key in custom]
    return ", ".join([*EXPORT_COLUMNS, *extra])


def reference_postgres(workspace_id: int) -> dict[str, float]:
    import psycopg

    sql = (
        f"COPY (SELECT {_reference_columns('postgresql')} FROM users"
        f" WHERE workspace_id = {int(workspace_id)} ORDER BY full_name, id)"
        " TO STDOUT WITH CSV HEADER"
    )
    size = lines = 0
    with psycopg.connect(_common.psycopg_url("postgresql")) as conn, conn.cursor() as cur:
        backend = conn.info.backend_pid
        start, cpu, server = time.perf_counter(), time.process_time(), process_cpu(backend)
        with cur.copy(sql) as copy:
            for block in copy:
                size += len(block)
                lines += bytes(block).count(b"\n")
        return {
            "seconds": time.perf_counter() - start,
            "cpu": time.process_time() - cpu,
            "server_cpu": process_cpu(backend) - server,
            "bytes": size,
            "rows": lines - 1,
        }


def reference_sqlite(workspace_id: int) -> dict[str, float]:
    import sqlite3

    path = _common.database_url("sqlite").removeprefix("sqlite:///")
    start, cpu = time.perf_counter(), time.process_time()
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
    return {
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
        "server_cpu": 0.0,
        "bytes": size,
        "rows": rows,
    }


def product(engine: Any, admin: Any, batch_size: int) -> dict[str, float]:
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from coterie.directory.export import export_csv

    with Session(engine) as session, PeakRss() as memory:
        backend = None
        if engine.dialect.name == "postgresql":
            backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        start, cpu, server = time.perf_counter(), time.process_time(), process_cpu(backend)
        size = lines = 0
        for chunk in export_csv(session, actor=admin, sort="full_name", batch_size=batch_size):
            encoded = chunk.encode()
            size += len(encoded)
            lines += encoded.count(b"\n")
        found = {
            "seconds": time.perf_counter() - start,
            "cpu": time.process_time() - cpu,
            "server_cpu": process_cpu(backend) - server,
            "bytes": size,
            "lines": lines,
        }
    found["rss_growth_mib"] = memory.growth_mb
    found["rss_baseline_mib"] = memory.baseline / 2**20
    return found


def run(backend: str, batch_size: int = 5000, rounds: int = 3) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from coterie import actor as actors
    from coterie import db
    from coterie.directory.export import export_csv
    from coterie.rules import parse_filter

    engine = db.make_engine(_common.database_url(backend))
    with Session(engine) as session:
        workspace = _common.bench_workspace(session)
        admin = actors.system(workspace.id, label="bench")
    # Warm the code path and the connection on a small export (a filter nobody matches).
    with Session(engine) as session:
        nobody = parse_filter('email eq "nobody@nowhere.example"')
        for _ in export_csv(session, actor=admin, rule=nobody, batch_size=batch_size):
            pass

    reference = reference_postgres if backend == "postgresql" else reference_sqlite
    products, references = [], []
    for _ in range(rounds):
        products.append(product(engine, admin, batch_size))
        references.append(reference(workspace.id))
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    rows = int(references[0]["rows"])  # the reference counts rows; lines would count newlines
    product_s, reference_s = median(products, "seconds"), median(references, "seconds")
    product_rate, reference_rate = rows / product_s, rows / reference_s
    ratio = product_rate / reference_rate
    product_cpu = median(products, "cpu") + median(products, "server_cpu")
    reference_cpu = median(references, "cpu") + median(references, "server_cpu")
    growth = max(r["rss_growth_mib"] for r in products)
    met = ratio >= TARGET_RATIO
    reference_name = "COPY ... TO STDOUT CSV" if backend == "postgresql" else "sqlite3 + csv.writer"
    print(
        f"export on {backend}: {rows:,} rows, batch {batch_size}, median of {rounds} rounds",
        flush=True,
    )
    for label, runs, seconds, rate in (
        ("export.export_csv", products, product_s, product_rate),
        (f"reference: {reference_name}", references, reference_s, reference_rate),
    ):
        _common.line(
            label,
            f"{seconds:7.2f} s  {rate:10,.0f} rows/s  {runs[0]['bytes'] / 2**20:7.1f} MiB   "
            f"CPU: client {median(runs, 'cpu'):5.2f} s  server {median(runs, 'server_cpu'):5.2f} s",
        )
    _common.line(
        "ratio (product rate / reference rate)",
        f"{ratio:.2f}x by wall time, {reference_cpu / product_cpu:.2f}x by CPU time   "
        f"target >= {TARGET_RATIO}x {'met' if met else 'MISSED'}",
    )
    _common.line(
        "memory during the export",
        f"RSS +{growth:.1f} MiB over {products[0]['rss_baseline_mib']:.0f} MiB "
        f"(process peak {maxrss_mb:.0f} MiB)",
    )
    results = {
        "rows": rows,
        "seconds": product_s,
        "rows_per_s": product_rate,
        "bytes": products[0]["bytes"],
        "cpu_s": product_cpu,
        "reference": reference_name,
        "reference_seconds": reference_s,
        "reference_rows_per_s": reference_rate,
        "reference_bytes": references[0]["bytes"],
        "reference_cpu_s": reference_cpu,
        "ratio": ratio,
        "cpu_ratio": reference_cpu / product_cpu,
        "met": met,
        "rss_growth_mib": growth,
        "rss_baseline_mib": products[0]["rss_baseline_mib"],
        "batch_size": batch_size,
        "rounds": rounds,
        "all_seconds": [r["seconds"] for r in products],
        "all_reference_seconds": [r["seconds"] for r in references],
    }
    _common.record(backend, "export", results)
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    run(args.db, args.batch_size, args.rounds)


if __name__ == "__main__":
    main()
