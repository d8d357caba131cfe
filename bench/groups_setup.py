"""Put N dynamic groups (1,000 or 10,000) and their memberships into the bench workspace, fast.

    .venv/bin/python bench/groups_setup.py --db postgresql --groups 10000
    .venv/bin/python bench/groups_setup.py --db postgresql --drop

Creating 10,000 groups through `groups.service.create` would evaluate each rule over the million
people (hours); this is the fast path, for the benchmarks only:

- the group rows go in with one multi-row insert, each with what `service.create` would derive
  from its rule (`fields_read`, `references`, `time_relative`) computed by the same functions;
- the memberships go in set-based, one `INSERT ... SELECT` per family of rules below, joining the
  people to the groups' parameters on the values the rules test;
- `member_count` is set from the stored memberships, `evaluated_at` to now, and the workspace's
  `rules_version` moves so compiled rules are rebuilt;
- one group of each family is then re-evaluated by the product (rolled back): it must find
  nothing to add or remove, or the setup stops.

The families, interleaved so that the first 1,000 groups have the same mix as all 10,000:
40% `city eq C and score in [L, L+1)` (custom fields, about 200 people each); 30%
`plan eq P and city eq C and score in [L, L+5)` (the only ones reading `plan`, about 350 each);
25% `primary_channel eq X and source eq Y and last_activity_at eq <day>` (about 100 each); 5%
`member_of` chains three deep: the members of a plan group who are active, of those the ones
whose channel is not sms, of those the ones whose source is not scim.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
import people

PREFIX = "bench many "
CHAIN_RULES = (
    'member_of eq "{0}" and status eq "active"',
    'member_of eq "{0}" and primary_channel ne "sms"',
    'member_of eq "{0}" and source ne "scim"',
)
FIRST_DAY = date(2026, 3, 1)


@dataclass
class Spec:
    """One bench group: its name, family, rule text and the parameters its memberships join on."""

    index: int
    family: str
    rule: str
    params: dict[str, Any] = field(default_factory=dict)
    reads: str | None = None  # the name of the group its member_of names (chains)

    @property
    def name(self) -> str:
        return f"{_name(self.index)} {self.family}"


def _name(index: int) -> str:
    """The start of the name of the bench group `index`: names sort in creation order."""
    return f"{PREFIX}{index:05d}"


def specs(count: int) -> list[Spec]:
    """The first `count` bench groups, always the same ones in the same order."""
    made: list[Spec] = []
    seen: dict[str, int] = {}
    plan_groups: list[str] = []
    last_chain = ""
    for index in range(count):
        slot = index % 20
        family = (
            "city" if slot < 8 else "plan" if slot < 14 else "channel" if slot < 19 else "chain"
        )
        n = seen[family] = seen.get(family, -1) + 1
        if family == "city":
            city, low = people.CITIES[n % 50], n // 50 % 100
            rule = f'attributes.city eq "{city}" and attributes.score ge {low}'
            rule += f" and attributes.score lt {low + 1}"
            made.append(Spec(index, family, rule, {"key": f"{city.lower()}|{low}"}))
        elif family == "plan":
            plan, city, low = people.PLANS[n % 3], people.CITIES[n // 3 % 50], n // 150 % 20 * 5
            rule = f'attributes.plan eq "{plan}" and attributes.city eq "{city}"'
            rule += f" and attributes.score ge {low} and attributes.score lt {low + 5}"
            made.append(Spec(index, family, rule, {"key": f"{plan}|{city.lower()}|{low}"}))
            plan_groups.append(made[-1].name)
        elif family == "channel":
            channel, source = people.CHANNELS[n % 5], people.SOURCES[n // 5 % 5]
            day = (FIRST_DAY + timedelta(days=n // 25 % 240)).isoformat()
            rule = f'primary_channel eq "{channel}" and source eq "{source}"'
            rule += f' and last_activity_at eq "{day}"'
            made.append(Spec(index, family, rule, {"key": f"{channel}|{source}|{day}"}))
        else:
            level = n % 3
            reads = plan_groups[-1] if level == 0 else last_chain  # the newest plan group
            made.append(Spec(index, f"chain{level + 1}", CHAIN_RULES[level], reads=reads))
            last_chain = made[-1].name
    return made


# How each family's memberships are found in one statement: the people joined to the groups'
# parameters (the temporary table `bench_params`) on one key made of the values the rules test
# (one key, so that both databases hash or index it instead of looping over the groups).
def _key(backend: str, family: str) -> str:
    pg = backend == "postgresql"
    city = "lower(u.attributes->>'city')" if pg else "lower(json_extract(u.attributes, '$.city'))"
    low = (
        "CASE WHEN jsonb_typeof(u.attributes->'score') = 'number'"
        " THEN floor((u.attributes->>'score')::numeric)::int END"
        if pg
        else "CAST(json_extract(u.attributes, '$.score') AS INTEGER)"
    )
    plan = "u.attributes->>'plan'" if pg else "json_extract(u.attributes, '$.plan')"
    day = (
        "to_char(u.last_activity_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        if pg
        else "substr(u.last_activity_at, 1, 10)"
    )
    as_text = "({})::text" if pg else "({})"
    if family == "city":
        return f"{city} || '|' || {as_text.format(low)}"
    if family == "plan":
        return f"{plan} || '|' || {city} || '|' || {as_text.format(f'{low} / 5 * 5')}"
    return f"u.primary_channel || '|' || u.source || '|' || {day}"


# What each level of a chain asks besides membership of the level before, as SQL.
CHAIN_TESTS = (
    "u.status = 'active'",
    "(u.primary_channel IS NULL OR u.primary_channel <> 'sms')",
    "(u.source IS NULL OR u.source <> 'scim')",
)


def existing(session: Any, workspace_id: int) -> dict[str, int]:
    from sqlalchemy import select

    from coterie.groups.models import Group

    stmt = select(Group.name, Group.id).where(
        Group.workspace_id == workspace_id, Group.name.startswith(PREFIX)
    )
    return {row.name: row.id for row in session.execute(stmt)}


def ensure(engine: Any, backend: str, count: int) -> dict[str, float]:
    """Make the bench workspace hold exactly the first `count` bench groups (adding or dropping)."""
    from sqlalchemy.orm import Session

    timings: dict[str, float] = {}
    with Session(engine) as session:
        workspace_id = _common.bench_workspace(session).id
        have = existing(session, workspace_id)
    if len(have) > count:  # the first `count` are the same groups: drop the others
        drop(engine, keep=count)
        have = {name: group_id for name, group_id in have.items() if name < _name(count)}
    wanted = specs(count)[len(have) :]
    if not wanted:
        return timings
    print(f"  setting up {len(wanted):,} more bench groups ({count:,} in all)", flush=True)
    start = time.perf_counter()
    with Session(engine) as session, session.begin():
        _insert_groups(session, workspace_id, wanted, have)
        timings["groups_s"] = time.perf_counter() - start
        start = time.perf_counter()
        _insert_memberships(session, backend, workspace_id, wanted)
        timings["memberships_s"] = time.perf_counter() - start
    start = time.perf_counter()
    _analyze(engine, backend)
    _check(engine, workspace_id, wanted)
    timings["check_s"] = time.perf_counter() - start
    for key, value in timings.items():
        _common.line(f"setup: {key.removesuffix('_s')}", f"{value:6.1f} s")
    return timings


def _insert_groups(
    session: Any, workspace_id: int, wanted: list[Spec], have: dict[str, int]
) -> None:
    from datetime import datetime

    from sqlalchemy import insert

    from coterie import ids
    from coterie.db import utcnow
    from coterie.groups.catalog import people_catalog
    from coterie.groups.models import Group
    from coterie.rules import (
        fields_read,
        is_time_relative,
        parse_filter,
        referenced_groups,
        to_json,
    )
    from coterie.workspaces import service as workspaces

    catalog = people_catalog(session, workspace_id=workspace_id)
    now: datetime = utcnow()
    rows = []
    for spec in wanted:
        group_id = have[spec.name] = ids.new_id()
        text = spec.rule.format(ids.encode(have[spec.reads])) if spec.reads else spec.rule
        rule = parse_filter(text)
        assert rule is not None
        references = sorted(ids.decode(n, what="group") for n in referenced_groups(rule))
        rows.append(
            {
                "workspace_id": workspace_id,
                "id": group_id,
                "name": spec.name,
                "tags": [spec.family.rstrip("123")],
                "selection": "rule",
                "behaviour": "dynamic",
                "include_rule": to_json(rule),
                "fields_read": sorted(fields_read(rule, catalog)),
                "references": references,
                "time_relative": is_time_relative(rule),
                "evaluated_at": now,
                "created_by_label": "bench setup",
                # A second apart, so the dashboard's default order (newest first) is the
                # reverse of creation, as it would be for groups made over time.
                "created_at": now - timedelta(seconds=len(wanted) - len(rows)),
            }
        )
    for start in range(0, len(rows), 1_000):
        session.execute(insert(Group), rows[start : start + 1_000])
    for spec in wanted:
        spec.params["group_id"] = have[spec.name]
        spec.params["reads"] = have[spec.reads] if spec.reads else None
    workspaces.rules_changed(session, workspace_id=workspace_id)


def _insert_memberships(session: Any, backend: str, workspace_id: int, wanted: list[Spec]) -> None:
    from sqlalchemy import text

    from coterie.db import utcnow

    session.execute(
        text(
            "CREATE TEMPORARY TABLE bench_params (group_id BIGINT, family VARCHAR(16),"
            " match_key VARCHAR(200), reads BIGINT)"
        )
    )
    columns = ("group_id", "key", "reads")
    params = [{k: s.params.get(k) for k in columns} | {"family": s.family} for s in wanted]
    session.execute(
        text("INSERT INTO bench_params VALUES (:group_id, :family, :key, :reads)"),
        params,
    )
    if backend == "postgresql":
        session.execute(text("ANALYZE bench_params"))  # else it plans a loop over the people
    now: Any = utcnow()
    if backend == "sqlite":
        now = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    insert = (
        "INSERT INTO memberships (workspace_id, group_id, user_id, source, added_by_id,"
        " added_by_label, added_at) SELECT :ws, p.group_id, u.id, 'rule', NULL, 'bench setup', :now"
    )
    statements = {
        family: f"{insert} FROM bench_params p JOIN users u ON u.workspace_id = :ws"
        f" AND p.match_key = {_key(backend, family)} WHERE p.family = '{family}'"
        for family in ("city", "plan", "channel")
    }
    for level in range(3):
        statements[f"chain{level + 1}"] = (
            f"{insert} FROM bench_params p JOIN memberships r ON r.workspace_id = :ws"
            " AND r.group_id = p.reads JOIN users u ON u.workspace_id = :ws"
            f" AND u.id = r.user_id WHERE p.family = 'chain{level + 1}'"
            f" AND {CHAIN_TESTS[level]}"
        )
    statements["member_count"] = (
        "UPDATE groups SET member_count = c.n FROM (SELECT group_id, count(*) AS n"
        " FROM memberships WHERE workspace_id = :ws"
        " AND group_id IN (SELECT group_id FROM bench_params) GROUP BY group_id) AS c"
        " WHERE groups.workspace_id = :ws AND groups.id = c.group_id"
    )
    for label, statement in statements.items():
        start = time.perf_counter()
        if label == "chain1" and backend == "postgresql":
            # The chains read the memberships just written: without fresh statistics PostgreSQL
            # may take the table for empty and scan it once per group.
            session.execute(text("ANALYZE memberships"))
        rows = session.execute(text(statement), {"ws": workspace_id, "now": now}).rowcount
        _common.line(f"  {label}", f"{rows:10,} rows {time.perf_counter() - start:6.1f} s")
    session.execute(text("DROP TABLE bench_params"))


def _analyze(engine: Any, backend: str) -> None:
    from sqlalchemy import text

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if backend == "postgresql":
            conn.execute(text("VACUUM (ANALYZE) memberships, groups"))
        else:
            conn.execute(text("ANALYZE memberships"))
            conn.execute(text("ANALYZE groups"))


def _check(engine: Any, workspace_id: int, wanted: list[Spec]) -> None:
    """The product re-evaluates one group of each family: it must find nothing to change."""
    from sqlalchemy.orm import Session

    from coterie import actor as actors
    from coterie.groups import evaluation
    from coterie.groups.models import Group

    admin = actors.system(workspace_id, label="bench check")
    sample: dict[str, Spec] = {}
    for spec in wanted:
        sample.setdefault(spec.family, spec)
    for spec in sample.values():
        with Session(engine) as session:
            group = session.get(Group, (workspace_id, spec.params["group_id"]))
            assert group is not None
            result = evaluation.evaluate(session, actor=admin, group=group)
            session.rollback()
        if result.added or result.removed:
            raise SystemExit(
                f"setup is wrong for {spec.name} ({spec.rule}): the product would add "
                f"{result.added} and remove {result.removed}"
            )


def drop(engine: Any, keep: int = 0) -> None:
    """Remove the bench groups but the first `keep`, and their memberships (set-based; no audit:
    they were never real)."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from coterie.workspaces import service as workspaces

    with Session(engine) as session, session.begin():
        workspace_id = _common.bench_workspace(session).id
        bench = (
            "SELECT id FROM groups WHERE workspace_id = :ws AND name LIKE :prefix"
            " AND name >= :first"
        )
        params = {"ws": workspace_id, "prefix": f"{PREFIX}%", "first": _name(keep)}
        session.execute(
            text(f"DELETE FROM memberships WHERE workspace_id = :ws AND group_id IN ({bench})"),
            params,
        )
        session.execute(
            text(f"DELETE FROM groups WHERE workspace_id = :ws AND id IN ({bench})"), params
        )
        workspaces.rules_changed(session, workspace_id=workspace_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--drop", action="store_true", help="remove the bench groups")
    args = parser.parse_args()
    from coterie import db

    engine = db.make_engine(_common.database_url(args.db))
    if args.drop:
        drop(engine)
    else:
        ensure(engine, args.db, args.groups)
    engine.dispose()


if __name__ == "__main__":
    main()
