"""How one batch's rows become new and changed people: the rows to insert and the updates.

Kept apart from `runner`, which owns the transactions, because what a row does to a person (the
merge policies) and how the changes reach each database (one statement per shape of change, set
based on PostgreSQL) are questions of their own.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import Table, bindparam, insert, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from coterie import ids
from coterie.db import UTCDateTime
from coterie.directory.models import IDENTIFIERS, User
from coterie.transfer import readers
from coterie.transfer.matching import Match, Person
from coterie.transfer.models import ImportJob
from coterie.transfer.normalize import Normalized

_USERS = cast(Table, User.__table__)
_SYSTEM = (
    *("full_name", "first_name", "last_name", "primary_channel", "source_ref"),
    *("last_activity_at", "nicknames", *IDENTIFIERS),
)


def place(
    job: ImportJob,
    row: readers.Row,
    result: Normalized,
    match: Match,
    row_user: list[int | None],
    now: datetime,
    created: list[dict[str, Any]],
    updates: list[dict[str, Any]],
) -> tuple[str, int | None, str | None]:
    """What happens to one row: (outcome, person, reason); new and changed people are queued."""
    if row.problem:
        return "rejected", None, row.problem
    if match.kind == "rejected":
        return "rejected", None, match.reason
    if match.kind == "duplicate":
        earlier = match.user.id if match.user is not None else None
        if earlier is None and match.earlier is not None:
            earlier = row_user[match.earlier]
        return "duplicate", earlier, "repeats an earlier row of the file"
    values = result.values
    if match.kind == "new":
        person = _new_person(job, values, now)
        created.append(person)
        return "created", person["id"], None
    user = match.user
    assert user is not None
    if job.merge_policy == "skip":
        return "skipped", user.id, None
    changes = _merged(user, values, overwrite=job.merge_policy == "overwrite")
    if not changes:
        return "unchanged", user.id, None
    updates.append({"_ws": user.workspace_id, "_id": user.id, **changes, "updated_at": now})
    return "updated", user.id, None


def _new_person(job: ImportJob, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    person: dict[str, Any] = dict.fromkeys(_SYSTEM)
    person.update({k: v for k, v in values.items() if k != "attributes"})
    person.update(
        workspace_id=job.workspace_id,
        id=ids.new_id(),
        nicknames=values.get("nicknames") or [],
        attributes=values.get("attributes") or {},
        source="import",
        source_ref=values.get("source_ref") or job.file_name,
        role="none",
        status="active",
        scoring_enabled=False,
        roaming=False,
        created_at=now,
        updated_at=now,
    )
    return person


def _merged(user: Person, values: dict[str, Any], *, overwrite: bool) -> dict[str, Any]:
    """The columns to change: every mapped value (overwrite) or only what is empty (fill)."""
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if name == "attributes":
            current = dict(user.attributes or {})
            for key, item in value.items():
                if overwrite or current.get(key) in (None, "", []):
                    current[key] = item
            if current != (user.attributes or {}):
                changes["attributes"] = current
            continue
        present = getattr(user, name)
        if value != present and (overwrite or present in (None, "", [])):
            changes[name] = value
    return changes


def update_people(session: Session, updates: list[dict[str, Any]]) -> None:
    """One executemany per set of changed columns (an import's rows share a few).

    Setting only what changed spares the database the indexes of unchanged columns, which
    SQLite otherwise rewrites; PostgreSQL keeps the update on the heap page when it can.
    """
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for person in updates:
        shapes.setdefault(tuple(person), []).append(person)
    table = _USERS
    for shape, people in shapes.items():
        if session.get_bind().dialect.name == "postgresql":
            _update_set_based(session, shape, people)
            continue
        stmt = (
            update(table)
            .where(table.c.workspace_id == bindparam("_ws"), table.c.id == bindparam("_id"))
            .values({name: bindparam(name) for name in shape if not name.startswith("_")})
        )
        session.execute(stmt, people)


def _update_set_based(
    session: Session, shape: tuple[str, ...], people: list[dict[str, Any]]
) -> None:
    """PostgreSQL: one UPDATE ... FROM unnest(arrays) for a batch's people of one shape, where
    an executemany sends one statement a person (measured: half the server's time)."""
    names = [name for name in shape if not name.startswith("_")]
    arrays: dict[str, Any] = {"ids": [person["_id"] for person in people]}
    columns, sets = ["CAST(:ids AS bigint[])"], []
    for index, name in enumerate(names):
        column = _USERS.c[name]
        if isinstance(column.type.dialect_impl(session.get_bind().dialect), JSONB):
            arrays[f"c{index}"] = [json.dumps(person[name]) for person in people]
            columns.append(f"CAST(:c{index} AS text[])")
            sets.append(f"{name} = CAST(d.c{index} AS jsonb)")
        else:
            arrays[f"c{index}"] = [person[name] for person in people]
            kind = "timestamptz" if isinstance(column.type, UTCDateTime) else "text"
            columns.append(f"CAST(:c{index} AS {kind}[])")
            sets.append(f"{name} = d.c{index}")
    aliases = ", ".join(["id", *(f"c{i}" for i in range(len(names)))])
    session.execute(
        text(
            f"UPDATE users SET {', '.join(sets)} FROM unnest({', '.join(columns)})"
            f" AS d({aliases}) WHERE users.workspace_id = :ws AND users.id = d.id"
        ),
        {"ws": people[0]["_ws"], **arrays},
    )


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert a batch's rows (all with the same keys): COPY on PostgreSQL, where an executemany
    sends one INSERT a row and cost the server several times the COPY of the same rows."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    names = list(rows[0])
    dialect = session.get_bind().dialect
    json_columns = {
        name for name in names if isinstance(table.c[name].type.dialect_impl(dialect), JSONB)
    }
    connection = cast(psycopg.Connection[Any], session.connection().connection.dbapi_connection)
    columns = ", ".join(names)
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(
                [Jsonb(row[name]) if name in json_columns else row[name] for name in names]
            )
