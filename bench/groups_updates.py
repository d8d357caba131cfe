"""One person's update with 1,000 and 10,000 dynamic groups: the latency the groups add.

    .venv/bin/python bench/groups_updates.py --db postgresql [--groups 10000 1000] [--updates 300]

For each group count, `groups_setup.ensure` puts that many bench groups in the workspace (30%
of them read `plan`; 5% are `member_of` chains, see groups_setup.py). Then a few hundred people
each get their plan changed, in-process and in a new session each, as a request would:
`groups.people.update` (the directory update, then the person re-evaluated against the dynamic
rules that read `attributes.plan`, in the same transaction) alternating with the same change by
`directory.service.update` alone (the reference: no groups). Each is timed up to and including
the flush of everything it wrote, then rolled back, so every update starts from the same data;
the commit (one WAL flush, the same for both) is left out. The added latency of an update is
its time less the time its own directory update took, the flush of the directory's audit entry
included (so: everything the groups do, the re-evaluation, its writes and the flush of its audit
entries), p50 and p99 over the updates; the reference's distribution is printed beside it, and
the time spent in `dynamic.person_changed` itself is also recorded. The compiled rules are per
process: they are built once before timing (that one-off compile is timed separately), so the
figures are the steady state. Since the tail is made of the updates that move the person in or
out of a group (about one in five), those are also given apart; with the garbage collector's
pauses inside the timed updates and the load average, so a tail can be told from the machine's.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
import groups_setup

TARGET_ADDED_P99_MS = {1_000: 5.0, 10_000: 20.0}
NEXT_PLAN = {"Free": "Pro", "Pro": "Enterprise", "Enterprise": "Free"}
WARMUP = 10


def percentile(values: list[float], point: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[point - 1]


def backend_pid(connection: Any) -> int | None:
    from groups import backend_pid as pid_of

    return pid_of(connection)


def server_cpu_ms(pid: int | None) -> float:
    """CPU milliseconds the PostgreSQL backend `pid` used so far (clock ticks: 10 ms, so only
    a mean over many updates means anything)."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def measure(engine: Any, backend: str, groups: int, updates: int) -> dict[str, Any]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from coterie import actor as actors
    from coterie.directory import service as directory
    from coterie.directory.models import User
    from coterie.directory.schemas import UserUpdate
    from coterie.groups import dynamic
    from coterie.groups import people as group_people
    from coterie.workspaces.models import Workspace

    setup = groups_setup.ensure(engine, backend, groups)
    with Session(engine) as session:
        workspace_id = _common.bench_workspace(session).id
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        start = time.perf_counter()
        dynamic._compile(session, workspace_id, workspace.rules_version)
        compile_ms = (time.perf_counter() - start) * 1000
        plan_rules = sum("attributes.plan" in s.rule for s in groups_setup.specs(groups))
        rows = session.execute(
            select(User.id, User.attributes)
            .where(User.workspace_id == workspace_id)
            .order_by(User.id)
            .limit(updates + WARMUP)
        ).all()
    admin = actors.system(workspace_id, label="bench")
    changes = [
        (row.id, UserUpdate(attributes={"plan": NEXT_PLAN[row.attributes["plan"]]})) for row in rows
    ]

    spent: dict[str, float] = {}
    moved: list[int] = []
    collecting: dict[str, float] = {"since": 0.0, "ms": 0.0}

    def gc_pause(phase: str, info: dict[str, int]) -> None:
        """Time the garbage collector took (its pauses show as tails), summed per update."""
        if phase == "start":
            collecting["since"] = time.perf_counter()
        else:
            collecting["ms"] += (time.perf_counter() - collecting["since"]) * 1000

    person_changed, directory_update = dynamic.person_changed, directory.update

    def timed(name: str, fn: Any, flush: bool = False) -> Any:
        def run(session: Any, **kwargs: Any) -> Any:
            start, cpu = time.perf_counter(), time.process_time()
            try:
                done = fn(session, **kwargs)
                if flush:  # its audit entry: in both paths part of the directory's work
                    session.flush()
                return done
            finally:
                spent[name] = (time.perf_counter() - start) * 1000
                spent[f"{name}_cpu"] = (time.process_time() - cpu) * 1000

        return run

    def counted(*args: Any, **kwargs: Any) -> tuple[list[int], list[int]]:
        joined, left = person_changed(*args, **kwargs)
        moved.append(len(joined) + len(left))
        return joined, left

    def update(user_id: int, data: Any, with_groups: bool) -> dict[str, float]:
        """Wall and CPU milliseconds (this process's CPU: on PostgreSQL the server's is apart),
        and the wall time spent in the directory's update and in `person_changed`."""
        spent.clear()
        collecting["ms"] = 0.0
        with Session(engine) as session:
            pid = backend_pid(session.connection())
            server = server_cpu_ms(pid)
            start, cpu = time.perf_counter(), time.process_time()
            if with_groups:
                group_people.update(session, actor=admin, user_id=user_id, data=data)
            else:
                directory.update(session, actor=admin, user_id=user_id, data=data)
            session.flush()
            wall = (time.perf_counter() - start) * 1000
            times = {"wall": wall, "cpu": (time.process_time() - cpu) * 1000} | spent
            times["server_cpu"] = server_cpu_ms(pid) - server
            times["gc"] = collecting["ms"]
            session.rollback()
        return times

    print(
        f"updates on {backend} with {groups:,} dynamic groups ({plan_rules:,} read plan): "
        f"{updates} updates of attributes.plan each way, alternating",
        flush=True,
    )
    dynamic.person_changed = timed("groups", counted)  # type: ignore[assignment]
    directory.update = timed("directory", directory_update, flush=True)  # type: ignore[assignment]
    gc.callbacks.append(gc_pause)
    load_before = os.getloadavg()
    try:
        product: list[dict[str, float]] = []
        reference: list[dict[str, float]] = []
        for index, (user_id, data) in enumerate(changes):
            first = index % 2 == 0
            for with_groups in (first, not first):
                times = update(user_id, data, with_groups)
                if index >= WARMUP:
                    (product if with_groups else reference).append(times)
    finally:
        gc.callbacks.remove(gc_pause)
        dynamic.person_changed = person_changed  # type: ignore[assignment]
        directory.update = directory_update  # type: ignore[assignment]
    load_after = os.getloadavg()
    result: dict[str, Any] = {
        "groups": groups,
        "plan_rules": plan_rules,
        "updates": len(product),
        "compile_ms": compile_ms,
        "setup": setup,
        "memberships_changed_per_update": statistics.mean(moved[WARMUP:]),
        "load_average_1min": [load_before[0], load_after[0]],
        "gc_ms_total": sum(t["gc"] for t in product),
        "gc_ms_max": max(t["gc"] for t in product),
    }
    series = {
        "product": [t["wall"] for t in product],
        "reference": [t["wall"] for t in reference],
        # What the groups add to each update: its time less its own directory update's.
        "added": [t["wall"] - t["directory"] for t in product],
        "inner": [t["groups"] for t in product],
    }
    # CPU, steadier than wall time on a shared machine: this process's per update, and the
    # server's as a mean (its clock ticks are too coarse for one update).
    series["added_cpu"] = [t["cpu"] - t["directory_cpu"] for t in product]
    # The updates that moved the person in or out of a group: the tail is made of those.
    moving = [t for t, n in zip(product, moved[WARMUP:], strict=True) if n]
    if len(moving) >= 2:
        series["added_moving"] = [t["wall"] - t["directory"] for t in moving]
        series["added_cpu_moving"] = [t["cpu"] - t["directory_cpu"] for t in moving]
    for label, values in series.items():
        result[f"{label}_p50_ms"] = percentile(values, 50)
        result[f"{label}_p99_ms"] = percentile(values, 99)
    for label, runs in (("product", product), ("reference", reference)):
        result[f"{label}_server_cpu_mean_ms"] = statistics.mean(t["server_cpu"] for t in runs)
    for point in ("p50", "p99"):
        result[f"product_vs_reference_{point}_ms"] = (
            result[f"product_{point}_ms"] - result[f"reference_{point}_ms"]
        )
    result["target_ms"] = TARGET_ADDED_P99_MS.get(groups)
    result["met"] = result["target_ms"] is not None and result["added_p99_ms"] < result["target_ms"]
    _common.line("compile the rules (once per process)", f"{compile_ms:8.1f} ms")
    _common.line(
        "memberships changed per update", f"{result['memberships_changed_per_update']:.2f}"
    )
    for label, name in (
        ("product", "groups.people.update"),
        ("reference", "directory.service.update alone"),
        ("added", "added: people.update less its directory part"),
        ("inner", "  of which dynamic.person_changed"),
    ):
        _common.line(
            name,
            f"p50 {result[f'{label}_p50_ms']:6.2f} ms   p99 {result[f'{label}_p99_ms']:6.2f} ms",
        )
    _common.line(
        "added CPU (this process)",
        f"p50 {result['added_cpu_p50_ms']:6.2f} ms   p99 {result['added_cpu_p99_ms']:6.2f} ms",
    )
    if "added_moving_p50_ms" in result:
        _common.line(
            f"added, the {len(moving)} updates that moved someone",
            f"p50 {result['added_moving_p50_ms']:6.2f} ms   "
            f"p99 {result['added_moving_p99_ms']:6.2f} ms",
        )
        _common.line(
            "  their added CPU (this process)",
            f"p50 {result['added_cpu_moving_p50_ms']:6.2f} ms   "
            f"p99 {result['added_cpu_moving_p99_ms']:6.2f} ms",
        )
    _common.line(
        "garbage collection in the updates",
        f"{result['gc_ms_total']:6.1f} ms in all, at most {result['gc_ms_max']:5.2f} ms in one",
    )
    _common.line(
        "load average (1 min) before / after",
        f"{load_before[0]:.2f} / {load_after[0]:.2f}",
    )
    _common.line(
        "server CPU per update, mean",
        f"{result['product_server_cpu_mean_ms']:6.2f} ms with groups, "
        f"{result['reference_server_cpu_mean_ms']:6.2f} ms without",
    )
    _common.line(
        "target: added p99",
        f"< {result['target_ms']} ms {'met' if result['met'] else 'MISSED'}",
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--groups", type=int, nargs="+", default=[10_000, 1_000])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="leave the bench groups in place")
    args = parser.parse_args()
    from coterie import db

    engine = db.make_engine(_common.database_url(args.db))
    results = {}
    try:
        for groups in args.groups:
            results[str(groups)] = measure(engine, args.db, groups, args.updates)
    finally:
        if not args.keep:
            groups_setup.drop(engine)
    _common.record(args.db, "groups_updates", results)
    engine.dispose()


if __name__ == "__main__":
    main()
