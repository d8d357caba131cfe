"""Run every benchmark on SQLite and PostgreSQL and print a summary (what `make bench` runs).

    .venv/bin/python bench/run_all.py                  # 1,000,000 people, both databases
    .venv/bin/python bench/run_all.py --quick          # 20,000 people, shorter runs
    .venv/bin/python bench/run_all.py --db postgresql --skip-seed
    .venv/bin/python bench/run_all.py --only groups     # the User Groups figures alone

Each benchmark runs in its own process and records its figures in bench/.data/results-<db>.json;
the summary (markdown, the tables of bench/RESULTS.md) goes to bench/.data/summary.md. A database
already seeded with the same number of people is reused unless `--reseed` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

QUICK_USERS = 20_000
PARTS = ("pages", "count", "export", "http", "groups", "imports")


def step(*args: str) -> None:
    command = [sys.executable, str(_common.BENCH / args[0]), *args[1:]]
    print(
        f"\n$ {' '.join(Path(c).name if i < 2 else c for i, c in enumerate(command))}", flush=True
    )
    env = {**os.environ, "PYTHONPATH": str(_common.SRC)}
    subprocess.run(command, check=True, env=env, cwd=_common.ROOT)


def seeded(backend: str, users: int) -> bool:
    path = _common.DATA / f"seed-{backend}.json"
    return path.exists() and json.loads(path.read_text()).get("users") == users


def machine() -> dict[str, str]:
    import psycopg

    try:
        with psycopg.connect(f"{_common.PG_SERVER}/postgres", connect_timeout=3) as conn:
            postgres = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            buffers = str(conn.execute("SHOW shared_buffers").fetchone()[0])  # type: ignore[index]
    except psycopg.OperationalError:
        postgres, buffers = "not reachable", "-"
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{os.cpu_count()} cores ({platform.machine()})",
        "memory": f"{memory:.0f} GiB",
        "python": platform.python_version(),
        "postgresql": f"{postgres} (shared_buffers {buffers}, otherwise defaults)",
        "sqlite": sqlite3.sqlite_version,
        "load average at the end": f"{os.getloadavg()[0]:.1f}",
    }


def _yes(flag: Any) -> str:
    return "yes" if flag else "**no**"


def summary(backends: list[str]) -> str:
    lines = ["| machine | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in machine().items()]
    for backend in backends:
        path = _common.DATA / f"results-{backend}.json"
        if not path.exists():
            continue
        r = json.loads(path.read_text())
        users = r.get("seed", {}).get("users", 0)
        lines += ["", f"### {backend} — {users:,} people in one workspace", ""]
        if "seed" in r:
            s = r["seed"]
            load = s.get("copy_s") or s.get("insert_s") or 0
            lines.append(
                f"Seed: {s['total_s']:.0f} s in all ({load:.0f} s generating and loading, "
                f"{s['indexes_s']:.0f} s building indexes, {s['rate_rows_per_sec']:,.0f} rows/s)."
            )
        for figure in ("list_pages", "list_pages_with_statistics"):
            if figure not in r:
                continue
            p = r[figure]
            title = "List pages" + (
                " (with expression statistics)" if "statistics" in figure else ""
            )
            lines += [
                "",
                f'{title}: `attributes.plan eq "Pro"` ({p["matching"]:,} match), sorted by name, '
                f"25 a page, median of {p['runs']}.",
                "",
                "| page | product | vs first | hand-written SQL | product / SQL | target met |",
                "|---|---:|---:|---:|---:|---|",
            ]
            for kind, label in (
                ("first", "first"),
                ("deep", f"{p['deep_page']:,}th"),
                ("last", "last"),
            ):
                e = p[kind]
                lines.append(
                    f"| {label} | {e['ms']:.2f} ms | {e['vs_first']:.2f}x | "
                    f"{e['reference_ms']:.2f} ms | {e['vs_reference']:.1f}x | {_yes(e['met'])} |"
                )
        if "count" in r:
            c = r["count"]
            lines += [
                "",
                "| exact count | product | hand-written SQL | ratio | target < 150 ms |",
                "|---|---:|---:|---:|---|",
                f"| plan eq Pro ({c['count']:,}) | {c['ms']:.0f} ms | {c['reference_ms']:.0f} ms | "
                f"{c['ratio']:.2f}x | {_yes(c['met'])} |",
                f"| everyone ({c['users']:,}) | {c['unfiltered_ms']:.0f} ms | | | |",
            ]
            for label, shapes in c.get("experiments", {}).items():
                if shapes.get("index_mib"):
                    label += f" ({shapes['index_mib']:.0f} MiB)"
                lines.append(
                    f"| plan eq Pro, {label} | {shapes['product']:.0f} ms | "
                    f"{shapes['reference']:.0f} ms | {shapes['product'] / shapes['reference']:.2f}x"
                    f" | {_yes(shapes['product'] < 150)} |"
                )
        if "export" in r:
            x = r["export"]
            lines += [
                "",
                "| CSV export | seconds | rows/s | CPU s | MiB | ratio | target >= 0.5x |",
                "|---|---:|---:|---:|---:|---:|---|",
                f"| export.export_csv | {x['seconds']:.1f} | {x['rows_per_s']:,.0f} | "
                f"{x['cpu_s']:.1f} | {x['bytes'] / 2**20:.0f} | {x['ratio']:.2f}x "
                f"(CPU {x['cpu_ratio']:.2f}x) | {_yes(x['met'])} |",
                f"| reference: {x['reference']} | {x['reference_seconds']:.1f} | "
                f"{x['reference_rows_per_s']:,.0f} | {x['reference_cpu_s']:.1f} | "
                f"{x['reference_bytes'] / 2**20:.0f} | | |",
                "",
                f"Memory: RSS grew {x['rss_growth_mib']:.1f} MiB during the export "
                f"(over {x['rss_baseline_mib']:.0f} MiB).",
            ]
        if "http_get" in r:
            h = r["http_get"]
            lines += [
                "",
                f"GET /api/v1/users/{{id}}: wrk, {h['connections']} connections, "
                f"{h['duration_s']} s, CPU steal before the run {h['steal_percent_before']:.0f}%.",
                "",
                "| workers | req/s | p50 | p99 | app CPU / request | target 1,500/s, p99 < 50 ms |",
                "|---|---:|---:|---:|---:|---|",
            ]
            for key, w in h.items():
                if key.startswith("workers_"):
                    workers = key.removeprefix("workers_")
                    lines.append(
                        f"| {workers} | {w['rps']:,.0f} | {w['p50_ms']:.1f} ms "
                        f"| {w['p99_ms']:.1f} ms | {w['app_cpu_ms_per_request']:.2f} ms "
                        f"| {_yes(w['met'])} |"
                    )
        lines += groups_summary(r)
        lines += imports_summary(backend)
    return "\n".join(lines) + "\n"


def imports_summary(backend: str) -> list[str]:
    """The import figures (bench/imports.py, which keeps its own databases and results file)."""
    path = _common.DATA / f"results-import-{backend}.json"
    if not path.exists():
        return []
    r = json.loads(path.read_text())
    lines = []
    if "imports_csv" in r:
        c = r["imports_csv"]
        ref = c["reference"]
        ref_s = (ref["before"]["seconds"] + ref["after"]["seconds"]) / 2
        lines += [
            "",
            f"| import {c['rows']:,}-row CSV (half matching) | seconds | rows/s | CPU s (all) "
            "| peak RSS | ratio | met |",
            "|---|---:|---:|---:|---:|---:|---|",
            f"| product, end to end | {c['product']['seconds']:.1f} | {c['rows_per_s']:,.0f} "
            f"| {c['product']['total_cpu_s']:.1f} | {c['product']['peak_rss_with_workers_mb']:.0f}"
            f" MiB | {c['ratio']:.2f}x (CPU {c['cpu_ratio']:.2f}x) | {_yes(c['met'])} |",
            f"| reference: {ref['name']} | {ref_s:.1f} | {c['rows'] / ref_s:,.0f} "
            f"| {(ref['before']['total_cpu_s'] + ref['after']['total_cpu_s']) / 2:.1f} | | | |",
        ]
    if "imports_xlsx" in r:
        x = r["imports_xlsx"]
        read = min(x["reference"]["before"]["seconds"], x["reference"]["after"]["seconds"])
        lines.append(
            f"\nXLSX ({x['rows']:,} rows): import {x['product']['seconds']:.1f} s, python-calamine "
            f"read {read:.2f} s: {x['ratio']:.3f}x (target 0.8x: {_yes(x['met'])})."
        )
    return lines


def groups_summary(r: dict[str, Any]) -> list[str]:
    """The User Groups figures (bench/groups*.py) as markdown tables."""
    lines: list[str] = []
    if "groups_materialize" in r:
        m = r["groups_materialize"]
        lines += [
            "",
            f"New dynamic group, `{m['rule']}` ({m['members']:,} people), median of {m['runs']}:",
            "",
            "| | wall | CPU (client + server) | target <= 1.2x |",
            "|---|---:|---:|---|",
            f"| groups.service.create | {m['ms']:,.0f} ms | {m['cpu_ms']:,.0f} ms | |",
            f"| hand-written INSERT ... SELECT | {m['reference_ms']:,.0f} ms | "
            f"{m['reference_cpu_ms']:,.0f} ms | |",
            f"| product / reference | {m['ratio']:.2f}x | {m['cpu_ratio']:.2f}x | "
            f"{_yes(m['met'])} |",
        ]
    if "groups_delta" in r:
        d = r["groups_delta"]
        lines += [
            "",
            f"Re-evaluating `{d['rule']}` ({d['members']:,} members) after {d['changed']:,} "
            f"people changed ({d['added']:,} join, {d['removed']:,} leave), median of "
            f"{d['runs']}: `evaluate_since` {d['since_ms']:,.0f} ms, full `evaluate` "
            f"{d['full_ms']:,.0f} ms ({d['ratio']:.3f}x; faster: {_yes(d['met'])}).",
        ]
    if "groups_updates" in r:
        lines += [
            "",
            "| one person's update, dynamic groups | compile once | people.update p50 / p99 "
            "| directory update p50 / p99 | added p50 / p99 | target | met |",
            "|---|---:|---:|---:|---:|---|---|",
        ]
        for groups, u in r["groups_updates"].items():
            lines.append(
                f"| {int(groups):,} ({u['plan_rules']:,} read plan) | {u['compile_ms']:,.0f} ms "
                f"| {u['product_p50_ms']:.2f} / {u['product_p99_ms']:.2f} ms "
                f"| {u['reference_p50_ms']:.2f} / {u['reference_p99_ms']:.2f} ms "
                f"| {u['added_p50_ms']:.2f} / {u['added_p99_ms']:.2f} ms "
                f"| p99 < {u['target_ms']} ms | {_yes(u['met'])} |"
            )
    if "groups_dashboard" in r:
        g = r["groups_dashboard"]
        lines += [
            "",
            f"| groups dashboard ({g['groups']:,} groups, with total) | list_groups "
            "| hand-written SQL | ratio | < 20 ms |",
            "|---|---:|---:|---:|---|",
        ]
        labels = {"first": "first page", "deep": f"page {g['deep_page']}"}
        for kind in ("first", "deep", "by_members"):
            e = g[kind]
            lines.append(
                f"| {labels.get(kind, 'by member count')} | {e['ms']:.2f} ms "
                f"| {e['reference_ms']:.2f} ms | {e['ratio']:.1f}x | {_yes(e['met'])} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_USERS:,} people, short runs")
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--skip-seed", action="store_true", help="use the databases as they are")
    parser.add_argument("--reseed", action="store_true", help="seed even when already seeded")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    args = parser.parse_args()
    users = QUICK_USERS if args.quick else args.users
    runs = "5" if args.quick else "20"
    http_seconds = "5" if args.quick else "20"
    parts = set(args.only) - ({"http"} if args.skip_http else set())
    start = time.perf_counter()
    for backend in args.db:
        results = _common.DATA / f"results-{backend}.json"
        if not args.skip_seed and (args.reseed or not seeded(backend, users)):
            results.unlink(missing_ok=True)
            step("seed.py", "--db", backend, "--users", str(users))
        if "pages" in parts:
            step("list_pages.py", "--db", backend, "--runs", runs)
            if backend == "postgresql":
                step("list_pages.py", "--db", backend, "--runs", runs, "--statistics")
        if "count" in parts:
            count = ["count.py", "--db", backend, "--runs", "5" if args.quick else "11"]
            step(*count, *(["--experiments"] if backend == "postgresql" else []))
        if "export" in parts:
            step("export.py", "--db", backend, "--rounds", "1" if args.quick else "3")
        if "http" in parts:
            step("http_get.py", "--db", backend, "--duration", http_seconds)
        if "imports" in parts:
            # Its own databases (coterie_bench_import, import.db), seeded by the script itself.
            quick = ["--users", "20000", "--rows", "20000", "--xlsx-rows", "5000"]
            step("imports.py", "--db", backend, *(quick if args.quick else []))
        if "groups" in parts:
            # The new group and the delta in a workspace without other groups; then 10,000
            # groups for the dashboard, kept for the updates, which shrink them to 1,000 and
            # remove them at the end.
            step("groups.py", "--db", backend, "--runs", "3" if args.quick else "5")
            step("groups_dashboard.py", "--db", backend, "--runs", runs, "--keep")
            step("groups_updates.py", "--db", backend, "--updates", "100" if args.quick else "300")
    text = summary(args.db)
    (_common.DATA / "summary.md").write_text(text)
    print(f"\n{text}\nall done in {time.perf_counter() - start:.0f} s; bench/.data/summary.md")


if __name__ == "__main__":
    main()
