"""Team access at 100,000 people, 10,000 groups three levels deep and 2,000 resources.

    .venv/bin/python bench/access.py --db sqlite|postgresql [--checks 5000] [--casbin-checks 20]

Works on its own database (`coterie_bench_access`, `bench/.data/access.db`), made anew each run.
Figures, each in-process on one session, as a request would call the services:
- `grants.check(user, resource)` with its path: p50/p99 and checks/s over random pairs (half of
  them allowed), against pycasbin's `enforce` on the equivalent RBAC model with role hierarchy
  (people in groups and subgroups in their parents as role links, assignments as policies,
  deactivated people left out; loaded once from its file adapter, then checked in memory), same
  run. One workspace, so domains add nothing; with `g = _, _, _` pycasbin's domain role manager
  did not finish building its links for these 110,000 links in 5 minutes;
- `grants.users_with(resource)` first page (25, no total, and with the total) for a resource
  given at level 1 (about 10,000 people) and one given at level 3;
- `hierarchy.tree` of all 10,000 groups with direct and subtree counts;
- `hierarchy.move` of a 1,000-group subtree (a group with 999 subgroups) under another group,
  flushed and rolled back, with the number of SQL statements it took.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("COTERIE_BENCH_NAME", "access")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import event, insert, text
from sqlalchemy.orm import Session

import _common
from coterie import actor as actors
from coterie import db, ids, migrations
from coterie.access import grants
from coterie.access.models import Assignment, Resource
from coterie.db import utcnow
from coterie.demo import as_row, generate_people
from coterie.directory.models import User
from coterie.groups import hierarchy
from coterie.groups.models import Group, Membership
from coterie.workspaces import service as workspaces

USERS, ORGS, TEAMS_PER_ORG, SQUADS_PER_TEAM = 100_000, 9, 100, 9  # 9 + 900 + 8,100 groups
MOVER_CHILDREN = 999  # and a level-1 group with 999 subgroups, the subtree moved: 10,009 groups
RESOURCES = 2_000
DEACTIVATED = 0.02
SECOND_GROUP = 0.2


def reset(backend: str) -> str:
    import seed

    seed.reset_database(backend)
    url = _common.database_url(backend)
    migrations.upgrade(url)
    return url


def _group_row(workspace_id: int, name: str, parent: int | None) -> dict[str, Any]:
    now = utcnow()
    return {
        "workspace_id": workspace_id, "id": ids.new_id(), "name": name, "description": "",
        "tags": [], "status": "active", "attributes": {}, "source": "api", "selection": "manual",
        "excluded_user_ids": [], "fields_read": [], "references": [], "time_relative": False,
        "member_count": 0, "subtree_member_count": 0, "parent_id": parent,
        "created_by_label": "bench", "created_at": now, "updated_at": now,
    }  # fmt: skip


def _insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5_000):
        session.execute(insert(table), rows[start : start + 5_000])


def populate(session: Session, rng: random.Random) -> dict[str, Any]:
    """The workspace: people, the tree, memberships, resources and assignments, counts kept."""
    workspace = workspaces.create(session, slug="bench-access", name="Bench access")
    ws = workspace.id
    workspace.hierarchy_depth = 3
    session.commit()
    people = []
    for person in generate_people(USERS, 7):
        row = as_row(person, workspace_id=ws)
        if rng.random() < DEACTIVATED:
            row["status"] = "deactivated"
        people.append(row)
    _insert(session, User.__table__, people)
    session.commit()
    user_ids = [p["id"] for p in people]
    active = {p["id"] for p in people if p["status"] == "active"}

    orgs = [_group_row(ws, f"Org {o}", None) for o in range(ORGS)]
    teams = [
        _group_row(ws, f"Team {o}.{t}", org["id"])
        for o, org in enumerate(orgs)
        for t in range(TEAMS_PER_ORG)
    ]
    squads = [
        _group_row(ws, f"Squad {t}.{s}", team["id"])
        for t, team in enumerate(teams)
        for s in range(SQUADS_PER_TEAM)
    ]
    mover = _group_row(ws, "Mover", None)
    movers = [_group_row(ws, f"Mover {c}", mover["id"]) for c in range(MOVER_CHILDREN)]
    every = [*orgs, *teams, *squads, mover, *movers]
    parent_of = {row["id"]: row["parent_id"] for row in every}

    pairs: set[tuple[int, int]] = set()
    leaves = [s["id"] for s in squads] + [m["id"] for m in movers]
    middle = [t["id"] for t in teams]
    for user_id in user_ids:
        pairs.add((rng.choice(leaves), user_id))
        if rng.random() < SECOND_GROUP:
            pairs.add((rng.choice(middle if rng.random() < 0.5 else leaves), user_id))
    # The kept counts, computed here as the product keeps them (tests/groups/test_hierarchy.py
    # checks `hierarchy.recount` against the same definition): no UPDATE of 10,000 rows.
    direct: dict[int, int] = {}
    below: dict[int, set[int]] = {}
    for group, user in pairs:
        direct[group] = direct.get(group, 0) + 1
        at: int | None = group
        while at is not None:
            below.setdefault(at, set()).add(user)
            at = parent_of[at]
    for row in every:
        row["member_count"] = direct.get(row["id"], 0)
        row["subtree_member_count"] = len(below.get(row["id"], ()))
    _insert(session, Group.__table__, every)
    session.commit()  # in steps: a long transaction is more exposed on a shared server
    now = utcnow()
    memberships = [
        {"workspace_id": ws, "group_id": g, "user_id": u, "source": "manual", "added_at": now,
         "added_by_label": "bench"}
        for g, u in pairs
    ]  # fmt: skip
    _insert(session, Membership.__table__, memberships)
    session.commit()

    resources = [
        {"workspace_id": ws, "id": ids.new_id(), "kind": "bot" if r % 2 else "persona",
         "name": f"Resource {r}", "description": "", "features": ["voice"] if r % 3 else [],
         "created_at": now, "updated_at": now}
        for r in range(RESOURCES)
    ]  # fmt: skip
    _insert(session, Resource.__table__, resources)
    resource_ids = [r["id"] for r in resources]
    given: set[tuple[int, int]] = set()
    for org in orgs:
        given.update((org["id"], r) for r in rng.sample(resource_ids, 20))
    for team in middle:
        given.update((team, r) for r in rng.sample(resource_ids, 3))
    for leaf in leaves:
        given.add((leaf, rng.choice(resource_ids)))
    _insert(
        session,
        Assignment.__table__,
        [
            {
                "workspace_id": ws,
                "group_id": gr,
                "resource_id": r,
                "assigned_by_label": "bench",
                "assigned_at": now,
            }
            for gr, r in given
        ],
    )
    return {
        "workspace_id": ws,
        "users": user_ids,
        "active": active,
        "pairs": pairs,
        "given": given,
        "orgs": [o["id"] for o in orgs],
        "leaves": leaves,
        "parents": {
            row["id"]: row["parent_id"] for row in [*orgs, *teams, *squads, mover, *movers]
        },
        "mover": mover["id"],
        "resources": resource_ids,
    }


def _reach(world: dict[str, Any], user_id: int, by_user: dict[int, list[int]]) -> set[int]:
    found: set[int] = set()
    for group in by_user.get(user_id, []):
        at: int | None = group
        while at is not None:
            found.add(at)
            at = world["parents"][at]
    return found


def check_pairs(
    world: dict[str, Any], rng: random.Random, count: int
) -> list[tuple[int, int, bool]]:
    """Random (person, resource) pairs, about half of them allowed, with the expected answer."""
    by_user: dict[int, list[int]] = {}
    for group, user in world["pairs"]:
        by_user.setdefault(user, []).append(group)
    held: dict[int, set[int]] = {}
    for group, resource in world["given"]:
        held.setdefault(group, set()).add(resource)
    chosen = []
    users = world["users"]
    while len(chosen) < count:
        user = rng.choice(users)
        reach = _reach(world, user, by_user)
        mine = set().union(*(held.get(g, set()) for g in reach)) if reach else set()
        if len(chosen) % 2 == 0 and mine:
            resource = rng.choice(sorted(mine))
        else:
            resource = rng.choice(world["resources"])
        chosen.append((user, resource, user in world["active"] and resource in mine))
    return chosen


def backend_cpu(session: Session) -> float:
    """CPU seconds the PostgreSQL backend serving `session` has used so far (from /proc, at the
    kernel's 10 ms tick: meaningful summed over many calls); 0 on SQLite (it runs in-process)."""
    if session.get_bind().dialect.name != "postgresql":
        return 0.0
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_checks(session: Session, world: dict[str, Any], pairs: list[Any]) -> dict[str, float]:
    ws = world["workspace_id"]
    for user, resource, _ in pairs[:200]:  # warm the statement cache and the pages
        grants.check(session, workspace_id=ws, user_id=user, resource_id=resource)
    times = []
    server_all = backend_cpu(session)
    cpu_all = time.process_time()
    start_all = time.perf_counter()
    for user, resource, expected in pairs:
        start = time.perf_counter()
        path = grants.check(session, workspace_id=ws, user_id=user, resource_id=resource)
        times.append((time.perf_counter() - start) * 1000)
        if (path is not None) != expected:
            raise SystemExit(f"wrong answer for {user}, {resource}: {path}")
    total = time.perf_counter() - start_all
    cpu = time.process_time() - cpu_all
    server = backend_cpu(session) - server_all
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p99_ms": times[int(len(times) * 0.99) - 1],
        "per_second": len(times) / total,
        "cpu_ms_each": cpu * 1000 / len(times),
        "server_cpu_ms_each": server * 1000 / len(times),
    }


CASBIN_MODEL = """
[request_definition]
r = sub, obj

[policy_definition]
p = sub, obj

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj
"""


def time_casbin(world: dict[str, Any], pairs: list[Any], count: int) -> dict[str, float]:
    """pycasbin with the same facts in memory: people in groups and groups in their parents as
    role links, assignments as policies; deactivated people left out."""
    import casbin

    folder = Path(tempfile.mkdtemp(prefix="casbin-"))
    (folder / "model.conf").write_text(CASBIN_MODEL)
    with (folder / "policy.csv").open("w") as out:  # the file adapter, as casbin loads storage
        out.writelines(f"p, g{g}, r{r}\n" for g, r in world["given"])
        out.writelines(f"g, u{u}, g{g}\n" for g, u in world["pairs"] if u in world["active"])
        out.writelines(f"g, g{c}, g{p}\n" for c, p in world["parents"].items() if p is not None)
    started = time.perf_counter()
    enforcer = casbin.Enforcer(str(folder / "model.conf"), str(folder / "policy.csv"))
    loaded = time.perf_counter() - started
    sample = pairs[:count]
    for user, resource, _ in sample[:3]:
        enforcer.enforce(f"u{user}", f"r{resource}")
    times = []
    start_all = time.perf_counter()
    for user, resource, expected in sample:
        start = time.perf_counter()
        answer = enforcer.enforce(f"u{user}", f"r{resource}")
        times.append((time.perf_counter() - start) * 1000)
        if answer != expected:
            raise SystemExit(f"casbin disagrees on {user}, {resource}: {answer}")
    total = time.perf_counter() - start_all
    times.sort()
    return {
        "load_s": loaded,
        "p50_ms": statistics.median(times),
        "p99_ms": times[max(int(len(times) * 0.99) - 1, 0)],
        "per_second": len(times) / total,
    }


def median_ms(fn: Any, runs: int, session: Session) -> tuple[float, float, float, Any]:
    """Median wall and client CPU milliseconds of `fn()` (the machine is shared: CPU time holds
    steadier than wall time when other work runs) and the PostgreSQL backend's mean CPU
    milliseconds per call, after two untimed runs."""
    result = fn()
    fn()
    walls, cpus = [], []
    server = backend_cpu(session)
    for _ in range(runs):
        cpu, wall = time.process_time(), time.perf_counter()
        result = fn()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    server_ms = (backend_cpu(session) - server) * 1000 / runs
    return statistics.median(walls), statistics.median(cpus), server_ms, result


def time_lists(
    session: Session, world: dict[str, Any], given: set[tuple[int, int]]
) -> dict[str, float]:
    ws = world["workspace_id"]
    admin = actors.system(ws)
    org_resource = next(r for g, r in sorted(given) if g == world["orgs"][0])
    leaf_resource = next(r for g, r in sorted(given) if g == world["leaves"][0])
    found: dict[str, float] = {}
    for label, resource in (("level1", org_resource), ("level3", leaf_resource)):
        ms, cpu, server, page = median_ms(
            lambda r=resource: grants.users_with(
                session, actor=admin, resource_id=r, size=25, with_total=False
            ),
            20,
            session,
        )
        found[f"users_with_{label}_ms"] = ms
        found[f"users_with_{label}_cpu_ms"] = cpu
        found[f"users_with_{label}_server_cpu_ms"] = server
        ms_total, cpu_total, server_total, page_total = median_ms(
            lambda r=resource: grants.users_with(session, actor=admin, resource_id=r, size=25),
            10,
            session,
        )
        found[f"users_with_{label}_total_ms"] = ms_total
        found[f"users_with_{label}_total_cpu_ms"] = cpu_total
        found[f"users_with_{label}_total_server_cpu_ms"] = server_total
        found[f"users_with_{label}_people"] = float(page_total.total or 0)
        assert len(page.items) == min(25, page_total.total or 0)
    ms, cpu, server, nodes = median_ms(lambda: hierarchy.tree(session, actor=admin), 10, session)
    found["tree_ms"] = ms
    found["tree_cpu_ms"] = cpu
    found["tree_server_cpu_ms"] = server
    found["tree_groups"] = float(len(nodes))
    return found


def time_move(session: Session, world: dict[str, Any], runs: int) -> dict[str, float]:
    ws = world["workspace_id"]
    admin = actors.system(ws)
    subtree = hierarchy.subtree_ids(session, workspace_id=ws, group_ids=[world["mover"]])
    times, cpus, statements = [], [], []
    server = backend_cpu(session)
    for run in range(runs):
        target = world["orgs"][run % len(world["orgs"])]
        seen: list[str] = []
        conn = session.connection()

        def count(*args: Any, seen: list[str] = seen) -> None:
            seen.append(args[2])

        nested = session.begin_nested()
        event.listen(conn, "before_cursor_execute", count)
        cpu, start = time.process_time(), time.perf_counter()
        mover = session.get(Group, (ws, world["mover"]))
        assert mover is not None
        hierarchy.move(session, actor=admin, group=mover, parent_id=target)
        session.flush()
        times.append((time.perf_counter() - start) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        event.remove(conn, "before_cursor_execute", count)
        statements.append(len(seen))
        nested.rollback()
        session.expire_all()
    return {
        "move_ms": statistics.median(times),
        "move_cpu_ms": statistics.median(cpus),
        # the mean, with the rollbacks' share: an upper bound
        "move_server_cpu_ms": (backend_cpu(session) - server) * 1000 / runs,
        "move_subtree_groups": float(len(subtree)),
        "move_statements": float(max(statements)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--checks", type=int, default=5_000)
    parser.add_argument("--casbin-checks", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(11)
    url = reset(args.db)
    engine = db.make_engine(url)
    started = time.perf_counter()
    with Session(engine) as session:
        world = populate(session, rng)
        session.commit()
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    print(f"seeded in {time.perf_counter() - started:.1f} s: {len(world['pairs']):,} memberships, "
          f"{len(world['given']):,} assignments")  # fmt: skip
    pairs = check_pairs(world, rng, args.checks)
    with Session(engine) as session:
        ours = time_checks(session, world, pairs)
        lists = time_lists(session, world, world["given"])
        moved = time_move(session, world, 10)
        session.rollback()
    theirs = time_casbin(world, pairs, args.casbin_checks)
    ratio = ours["per_second"] / theirs["per_second"]
    figures = {**{f"check_{k}": v for k, v in ours.items()},
               **{f"casbin_{k}": v for k, v in theirs.items()},
               "throughput_ratio": ratio, **lists, **moved}  # fmt: skip
    _common.record(args.db, "access", figures)
    print(f"{args.db}: access check p50 {ours['p50_ms']:.3f} ms, p99 {ours['p99_ms']:.3f} ms "
          f"(target < 1 ms), {ours['per_second']:,.0f} checks/s, CPU per check: "
          f"{ours['cpu_ms_each']:.3f} ms client, "
          f"{ours['server_cpu_ms_each']:.3f} ms server")  # fmt: skip
    print(f"  pycasbin enforce: p50 {theirs['p50_ms']:.1f} ms, "
          f"{theirs['per_second']:,.1f} checks/s (model loaded in {theirs['load_s']:.1f} s) "
          f"-> Coterie {ratio:,.0f}x")  # fmt: skip
    for key, value in {**lists, **moved}.items():
        print(f"  {key}: {value:,.2f}")
    engine.dispose()


if __name__ == "__main__":
    main()
