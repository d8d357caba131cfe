"""Issue 6's figures: a campaign audience's count, freezing a launch, and code redemption.

    .venv/bin/python bench/engagement.py --db postgresql [--runs 7] [--keep]

Needs its own bench workspace (`COTERIE_BENCH_NAME=engagement bench/seed.py`, 1,000,000
people). Seven manual groups go in by a fast path (group rows, then one `INSERT ... SELECT` of
memberships each, people picked by bits of their random ids, so groups overlap like independent
samples): five included (35, 30, 25, 20 and 15% of people) and two excluded (30 and 25%), 1.8
million memberships in all.

- count: `engagement.audience.count` for 5 included and 2 excluded groups, against a
  hand-written `SELECT count(*)` (EXISTS / NOT EXISTS on memberships) and DuckDB counting the same
  from in-memory copies of the people and memberships (loading them is not timed).
- freeze: `campaigns.launch` of a campaign including the first four groups (~700,000 people),
  committed (then the campaign is deleted); median of 3, with the wall time, this process's CPU
  and the PostgreSQL backend's CPU; beside the same hand-written chunked INSERT ... SELECT, the
  old one-row-per-person layout (a scratch table) and the bare audience count, same run.
- redeem: 16 threads, each its own session, redeeming one uncapped shared code for 100 distinct
  people each (1,600 commits): redemptions per second and the p50/p99 of one call.
The groups are deleted at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

# Its own databases (`coterie_bench_engagement`, bench/.data/engagement.db): seed them with
# `COTERIE_BENCH_NAME=engagement .venv/bin/python bench/seed.py --db postgresql`.
os.environ.setdefault("COTERIE_BENCH_NAME", "engagement")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

SHARES = {"In 1": 35, "In 2": 30, "In 3": 25, "In 4": 20, "In 5": 15, "Out 1": 30, "Out 2": 25}
PREFIX = "bench-campaign "
THREADS, EACH = 16, 100


def _setup(session: Any, workspace_id: int, reuse: bool) -> dict[str, int]:
    """The seven groups and their memberships (the fast path; counts set from the rows)."""
    from sqlalchemy import Integer, func, insert, literal, select, update

    from coterie import ids
    from coterie.directory.models import User
    from coterie.groups.models import Group, Membership

    mine = (Group.workspace_id == workspace_id) & Group.name.startswith(PREFIX)
    there = {
        n.removeprefix(PREFIX): i
        for n, i in session.execute(select(Group.name, Group.id).where(mine))
    }
    if reuse and set(there) == set(SHARES):
        return there
    _teardown(session, workspace_id)
    made: dict[str, int] = {}
    for shift, (name, share) in enumerate(SHARES.items(), start=1):
        group_id = ids.new_id()
        session.execute(
            insert(Group).values(
                workspace_id=workspace_id, id=group_id, name=PREFIX + name, selection="manual"
            )
        )
        u = User.__table__.c
        picked = (u.id.op(">>")(literal(shift * 7, Integer()))).op("&")(1023) < share * 1024 // 100
        rows = select(
            literal(workspace_id), literal(group_id), u.id, literal("manual"), literal("bench")
        ).where(u.workspace_id == workspace_id, picked)
        columns = ["workspace_id", "group_id", "user_id", "source", "added_by_label"]
        session.execute(insert(Membership).from_select(columns, rows))
        count = select(func.count()).where(
            Membership.workspace_id == workspace_id, Membership.group_id == group_id
        )
        session.execute(
            update(Group)
            .where(Group.workspace_id == workspace_id, Group.id == group_id)
            .values(member_count=count.scalar_subquery())
        )
        made[name] = group_id
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql("ANALYZE memberships")
        session.commit()
    return made


def _teardown(session: Any, workspace_id: int) -> None:
    from sqlalchemy import delete, select

    from coterie.engagement.models import Campaign, CampaignGroup
    from coterie.groups.models import Group, Membership

    old = list(
        session.scalars(
            select(Group.id).where(
                Group.workspace_id == workspace_id, Group.name.startswith(PREFIX)
            )
        )
    )
    if old:
        session.execute(delete(Campaign).where(Campaign.workspace_id == workspace_id))
        session.execute(delete(CampaignGroup).where(CampaignGroup.workspace_id == workspace_id))
        session.execute(
            delete(Membership).where(
                Membership.workspace_id == workspace_id, Membership.group_id.in_(old)
            )
        )
        session.execute(delete(Group).where(Group.workspace_id == workspace_id, Group.id.in_(old)))
        session.commit()


def _hand_sql(workspace_id: int, included: list[int], excluded: list[int]) -> str:
    inc = ", ".join(map(str, included))
    exc = ", ".join(map(str, excluded))
    ws = workspace_id
    return (
        f"SELECT count(*) FROM users u WHERE u.workspace_id = {ws} AND u.status = 'active'"
        f" AND EXISTS (SELECT 1 FROM memberships m WHERE m.workspace_id = {ws}"
        f" AND m.user_id = u.id AND m.group_id IN ({inc}))"
        f" AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.workspace_id = {ws}"
        f" AND m.user_id = u.id AND m.group_id IN ({exc}))"
    )


def _duckdb_count(
    session: Any,
    workspace_id: int,
    groups: list[int],
    included: list[int],
    excluded: list[int],
    runs: int,
) -> tuple[float, int]:
    """The same count in DuckDB over in-memory copies (people's id and status, memberships)."""
    import duckdb

    folder = _common.DATA / "engagement"
    folder.mkdir(parents=True, exist_ok=True)
    people, members = folder / "people.csv", folder / "members.csv"
    conn = session.connection().connection.driver_connection
    if session.get_bind().dialect.name == "postgresql":
        with conn.cursor() as cur, people.open("wb") as out:
            sql = (
                f"COPY (SELECT id, status FROM users WHERE workspace_id = {workspace_id}) TO STDOUT"
            )
            with cur.copy(sql) as copy:
                for chunk in copy:
                    out.write(chunk)
        with conn.cursor() as cur, members.open("wb") as out:
            ids_sql = ", ".join(map(str, groups))
            sql = (
                "COPY (SELECT group_id, user_id FROM memberships WHERE workspace_id = "
                f"{workspace_id} AND group_id IN ({ids_sql})) TO STDOUT"
            )
            with cur.copy(sql) as copy:
                for chunk in copy:
                    out.write(chunk)
        delimiter = "\t"
    else:
        delimiter = ","
        for path, sql in (
            (people, f"SELECT id, status FROM users WHERE workspace_id = {workspace_id}"),
            (
                members,
                "SELECT group_id, user_id FROM memberships WHERE workspace_id = "
                f"{workspace_id} AND group_id IN ({', '.join(map(str, groups))})",
            ),
        ):
            with path.open("w", newline="") as out:
                csv.writer(out).writerows(session.connection().exec_driver_sql(sql))
    duck = duckdb.connect()
    duck.execute(
        f"CREATE TABLE users AS SELECT * FROM read_csv('{people}', delim='{delimiter}',"
        " header=false, columns={'id': 'BIGINT', 'status': 'VARCHAR'})"
    )
    duck.execute(
        f"CREATE TABLE memberships AS SELECT * FROM read_csv('{members}', delim='{delimiter}',"
        " header=false, columns={'group_id': 'BIGINT', 'user_id': 'BIGINT'})"
    )
    inc, exc = ", ".join(map(str, included)), ", ".join(map(str, excluded))
    query = (
        "SELECT count(*) FROM users u WHERE u.status = 'active'"
        f" AND u.id IN (SELECT user_id FROM memberships WHERE group_id IN ({inc}))"
        f" AND u.id NOT IN (SELECT user_id FROM memberships WHERE group_id IN ({exc}))"
    )
    ms, result = _common.median_ms(lambda: duck.execute(query).fetchone()[0], runs)
    duck.close()
    return ms, int(result)


def _cpu(session: Any) -> tuple[float, float]:
    """CPU seconds so far of this process and of the session's PostgreSQL backend (0 on SQLite).

    The backend's comes from /proc (the server runs on this machine); call inside the
    transaction to be measured, so the pid is that of its connection.
    """
    from sqlalchemy import text

    backend = 0.0
    if session.get_bind().dialect.name == "postgresql":
        pid = session.scalar(text("SELECT pg_backend_pid()"))
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return time.process_time(), backend


def _timed(session: Any, work: Any) -> dict[str, float]:
    """Wall, process CPU and backend CPU (ms) of `work()` followed by a commit."""
    cpu, backend = _cpu(session)
    begin = time.perf_counter()
    work()
    session.commit()
    wall = time.perf_counter() - begin
    cpu_after, backend_after = _cpu(session)
    session.commit()
    return {
        "wall": wall * 1000,
        "cpu": (cpu_after - cpu) * 1000,
        "backend_cpu": (backend_after - backend) * 1000,
    }


def _freeze(session: Any, admin: Any, workspace_id: int, included: list[int]) -> dict[str, Any]:
    """`campaigns.launch` (committed) of a campaign including `included`, against hand-written
    SQL on the same data in the same run: the same chunked INSERT ... SELECT, the old layout
    (one row per person, a scratch table), and the bare audience query (a count)."""
    from sqlalchemy import text

    from coterie import ids
    from coterie.engagement import campaigns
    from coterie.engagement.audience import CHUNK
    from coterie.engagement.schemas import CampaignCreate

    postgres = session.get_bind().dialect.name == "postgresql"
    ws, inc = workspace_id, ", ".join(map(str, included))
    chosen = (
        f"SELECT u.id FROM users u WHERE u.workspace_id = {ws} AND u.status = 'active' AND EXISTS"
        f" (SELECT 1 FROM memberships m WHERE m.workspace_id = {ws} AND m.user_id = u.id"
        f" AND m.group_id IN ({inc}))"
    )

    def campaign(name: str) -> Any:
        made = campaigns.create(
            session,
            actor=admin,
            data=CampaignCreate(name=name, include_group_ids=[ids.encode(i) for i in included]),
        )
        session.commit()
        return made

    def drop(made: Any) -> None:
        campaigns.delete_campaign(session, actor=admin, campaign_id=made.id)
        session.commit()

    product: list[dict[str, float]] = []
    recipients = 0
    for _ in range(3):
        made = campaign("bench freeze")
        product.append(
            _timed(session, lambda m=made: campaigns.launch(session, actor=admin, campaign_id=m.id))
        )
        recipients = made.recipient_count
        drop(made)
        print("freeze run", {k: round(v) for k, v in product[-1].items()}, recipients, flush=True)
    hand: list[dict[str, float]] = []
    for _ in range(3):
        made = campaign("bench reference")
        user_ids = "array_agg(id)" if postgres else "group_concat(id)"
        sql = text(
            "INSERT INTO campaign_recipient_chunks (workspace_id, campaign_id, last_user_id, size,"
            f" user_ids) SELECT {ws}, {made.id}, max(id), count(*), {user_ids} FROM (SELECT id,"
            f" (row_number() OVER (ORDER BY id) - 1) / {CHUNK} AS chunk FROM ({chosen}) AS a)"
            " AS n GROUP BY chunk"
        )
        hand.append(_timed(session, lambda q=sql: session.execute(q)))
        drop(made)
    rows: list[dict[str, float]] = []
    session.execute(
        text(
            "CREATE TABLE IF NOT EXISTS bench_recipient_rows (workspace_id bigint, campaign_id"
            " bigint, user_id bigint, PRIMARY KEY (workspace_id, campaign_id, user_id))"
        )
    )
    session.commit()
    for run in range(3):
        sql = text(
            "INSERT INTO bench_recipient_rows (workspace_id, campaign_id, user_id)"
            f" SELECT {ws}, {run}, id FROM ({chosen}) AS a ORDER BY id"
        )
        rows.append(_timed(session, lambda q=sql: session.execute(q)))
    session.execute(text("DROP TABLE bench_recipient_rows"))
    session.commit()
    count: list[dict[str, float]] = [
        _timed(session, lambda: session.scalar(text(f"SELECT count(*) FROM ({chosen}) AS a")))
        for _ in range(3)
    ]

    def median(runs: list[dict[str, float]]) -> dict[str, float]:
        return {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]}

    mine = median(product)
    return {
        "recipients": recipients,
        "product_ms": mine,
        "product_runs_wall_ms": [round(r["wall"]) for r in product],
        "hand_chunked_insert_ms": median(hand),
        "hand_row_per_person_insert_ms": median(rows),
        "audience_count_ms": median(count),
        "ratio_to_hand_chunked": round(mine["wall"] / median(hand)["wall"], 2),
        "ratio_to_row_per_person": round(mine["wall"] / median(rows)["wall"], 2),
        "load_average": os.getloadavg(),
    }


def run(backend: str, runs: int, keep: bool, reuse: bool, redeem: bool) -> dict[str, Any]:
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from coterie import actor as actors
    from coterie import db, ids
    from coterie.db import utcnow
    from coterie.engagement import audience, campaigns, codes, member_groups
    from coterie.engagement.schemas import CampaignCreate, JoinCodesIssue, MemberGroupUpdate

    engine = db.make_engine(_common.database_url(backend), pool_size=THREADS + 2)
    results: dict[str, Any] = {}
    with Session(engine) as session:
        workspace_id = _common.bench_workspace(session).id
        start = time.perf_counter()
        made = _setup(session, workspace_id, reuse)
        results["setup_s"] = round(time.perf_counter() - start, 1)
        included = [made[f"In {k}"] for k in range(1, 6)]
        excluded = [made["Out 1"], made["Out 2"]]
        results["memberships"] = int(
            session.scalar(
                text("SELECT count(*) FROM memberships WHERE workspace_id = :ws"),
                {"ws": workspace_id},
            )
            or 0
        )
        wanted = audience.Audience(tuple(included), tuple(excluded))
        product_ms, count = _common.median_ms(
            lambda: audience.count(session, workspace_id=workspace_id, audience=wanted), runs
        )
        hand = text(_hand_sql(workspace_id, included, excluded))
        hand_ms, hand_count = _common.median_ms(lambda: session.scalar(hand), runs)
        assert count == hand_count, (count, hand_count)
        duck_ms, duck_count = _duckdb_count(
            session, workspace_id, [*included, *excluded], included, excluded, runs
        )
        assert duck_count == count, (duck_count, count)
        results["count"] = {
            "audience": count,
            "product_ms": round(product_ms, 1),
            "hand_sql_ms": round(hand_ms, 1),
            "duckdb_ms": round(duck_ms, 1),
            "ratio_to_sql": round(product_ms / hand_ms, 2),
            "ratio_to_duckdb": round(product_ms / duck_ms, 2),
        }
        print("count", results["count"], flush=True)

        admin = actors.system(workspace_id, label="bench")
        results["freeze"] = _freeze(session, admin, workspace_id, included[:4])
        print("freeze", results["freeze"], flush=True)

        if not redeem:
            if not keep:
                _teardown(session, workspace_id)
            engine.dispose()
            _common.record(backend, "engagement-count-freeze", results)
            return results
        # Redemption: a code group, a launched code campaign and one uncapped shared code.
        target = made["Out 2"]
        member_groups.update(
            session, actor=admin, group_id=target, data=MemberGroupUpdate(join_policy="code")
        )
        now = utcnow()
        campaign = campaigns.create(
            session,
            actor=admin,
            data=CampaignCreate(
                name="bench codes",
                include_group_ids=[ids.encode(included[0])],
                join_group_id=ids.encode(target),
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(days=1),
            ),
        )
        campaigns.launch(session, actor=admin, campaign_id=campaign.id)
        [(_, code)] = codes.issue(
            session, actor=admin, campaign_id=campaign.id, data=JoinCodesIssue(kind="shared")
        )
        session.commit()
        outsiders = list(
            session.scalars(
                text(
                    "SELECT id FROM users u WHERE workspace_id = :ws AND status = 'active' AND "
                    "NOT EXISTS (SELECT 1 FROM memberships m WHERE m.workspace_id = :ws AND "
                    "m.group_id = :g AND m.user_id = u.id) ORDER BY id LIMIT :n"
                ),
                {"ws": workspace_id, "g": target, "n": THREADS * EACH},
            )
        )
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def worker(people: list[int]) -> None:
        from coterie.directory.models import User

        mine: list[float] = []
        barrier.wait()
        for person_id in people:
            begin = time.perf_counter()
            with Session(engine) as s:
                member = s.get(User, (workspace_id, person_id))
                codes.redeem(s, member=member, code=code)
                s.commit()
            mine.append((time.perf_counter() - begin) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [
        threading.Thread(target=worker, args=(outsiders[k * EACH : (k + 1) * EACH],))
        for k in range(THREADS)
    ]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - begin
    latencies.sort()
    results["redeem"] = {
        "redemptions": len(latencies),
        "threads": THREADS,
        "per_second": round(len(latencies) / wall),
        "p50_ms": round(latencies[len(latencies) // 2], 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
    }
    print("redeem", results["redeem"], flush=True)
    if not keep:
        with Session(engine) as session:
            _teardown(session, workspace_id)
    engine.dispose()
    _common.record(backend, "engagement", results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="leave the bench groups in place")
    parser.add_argument("--reuse", action="store_true", help="use the groups a --keep run left")
    parser.add_argument("--skip-redeem", action="store_true", help="count and freeze only")
    args = parser.parse_args()
    print(run(args.db, args.runs, args.keep, args.reuse, not args.skip_redeem))


if __name__ == "__main__":
    main()
