"""Shared helpers of the benchmarks: the two bench databases, timing, and printing results.

Every benchmark takes `--db sqlite|postgresql` and works on its own database: a SQLite file under
`bench/.data/` or the PostgreSQL database `coterie_bench` (dropped and recreated by the seed).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / ".data"
SRC = ROOT / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_SERVER = os.environ.get("COTERIE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
# `COTERIE_BENCH_NAME` gives a benchmark its own databases (bench/imports.py: "import"), so it
# can seed and write without touching the shared `coterie_bench` ones.
NAME = os.environ.get("COTERIE_BENCH_NAME", "")
PG_DATABASE = f"coterie_bench_{NAME}" if NAME else "coterie_bench"
SQLITE_FILE = f"{NAME}.db" if NAME else "coterie_bench.db"
TAG = f"{NAME}-" if NAME else ""  # in the names of the JSON files under bench/.data
WORKSPACE_SLUG = "bench"
FILTER = 'attributes.plan eq "Pro"'


def database_url(backend: str) -> str:
    if backend == "postgresql":
        return f"{PG_SERVER}/{PG_DATABASE}"
    if backend == "sqlite":
        return f"sqlite:///{DATA / SQLITE_FILE}"
    raise SystemExit(f"unknown backend {backend!r} (sqlite or postgresql)")


def psycopg_url(backend: str) -> str:
    return database_url(backend)  # psycopg takes the plain postgresql:// form


def median_ms(fn: Callable[[], Any], runs: int, warmup: int = 2) -> tuple[float, Any]:
    """Median wall time of `fn()` in milliseconds over `runs` runs, after `warmup` untimed runs."""
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def bench_workspace(session: Any) -> Any:
    from coterie.workspaces import service as workspaces

    workspace = workspaces.find_by_slug(session, slug=WORKSPACE_SLUG)
    if workspace is None:
        raise SystemExit("no bench workspace: run bench/seed.py first")
    return workspace


def record(backend: str, figure: str, values: dict[str, Any]) -> None:
    """Keep the latest figures in bench/.data/results-<backend>.json for run_all's summary."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"results-{TAG}{backend}.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[figure] = values
    path.write_text(json.dumps(results, indent=2, default=str))


def line(label: str, value: str) -> None:
    print(f"  {label:<44} {value}", flush=True)


def descendants(pid: int) -> list[int]:
    """Every descendant process: a server's workers, an import's workers under its fork server."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(child) for child in children.read().split()]
    except OSError:
        pass
    return found + [grandchild for child in found for grandchild in descendants(child)]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes, from /proc (0 for those gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def backend_pids(database: str) -> list[int]:
    """The PostgreSQL backends connected to `database` (on this machine's server)."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)
        ).fetchall()
    return [int(r[0]) for r in rows]


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """A distribution-free confidence interval of the median of `values` (independent rounds
    of one figure): the order statistics that hold the true median with at least `confidence`,
    from the binomial distribution of how many rounds fall below it; None for too few rounds
    (at 95%, fewer than six)."""
    n, ordered = len(values), sorted(values)
    tail, below, k = (1 - confidence) / 2, 0.0, 0
    while k < n // 2 and below + math.comb(n, k) / 2**n <= tail:
        below += math.comb(n, k) / 2**n
        k += 1
    return (ordered[k - 1], ordered[n - k]) if k else None
