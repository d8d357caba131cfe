"""How one batch of an import reaches the database: a few set-based statements per batch.

`place` decides, per row and in Python, what the row is (new person, matched person, repeat,
refusal); `staging` loads the placed rows into `import_stage`; then, from that table, one
`INSERT ... SELECT` makes the new people, one `UPDATE ... FROM` changes the matched ones by the
merge policy (only those it really changes, whose stage rows become `updated`), and one
`INSERT ... SELECT` records every row's outcome. Measured in `bench/imports.py`: a statement
a person (or a COPY of Python-built rows with the merge decided in Python) cost the database
and the importing process several times these statements.
"""

from __future__ import annotations

import json
import operator
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from functools import reduce
from typing import Any, cast

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from coterie.db import Id, UTCDateTime
from coterie.transfer import readers
from coterie.transfer.mapping import ATTRIBUTE_PREFIX, Mapping
from coterie.transfer.matching import Match
from coterie.transfer.models import ImportJob
from coterie.transfer.normalize import Normalized
from coterie.transfer.staging import PERSON

_TEXT_EMPTY = "COALESCE(u.{c}, '') = ''"
_EMPTY = {
    "nicknames": "u.nicknames IS NULL OR u.nicknames = '[]'",
    "last_activity_at": "u.last_activity_at IS NULL",
}


def place(
    policy: str,
    row: readers.Row,
    match: Match,
    row_user: Sequence[int | None],
    new_ids: Iterator[int],
) -> tuple[str, int | None, str | None]:
    """What happens to one row: (outcome, person, reason). `matched` rows become `updated` or
    `unchanged` in the database; a `created` row's person gets the next of `new_ids`."""
    if row.problem:
        return "rejected", None, row.problem
    if match.kind == "rejected":
        return "rejected", None, match.reason
    if match.kind == "duplicate":
        earlier = match.user.id if match.user is not None else match.previous
        if earlier is None and match.earlier is not None:
            earlier = row_user[match.earlier]
        return "duplicate", earlier, "repeats an earlier row of the file"
    if match.kind == "new":
        return "created", next(new_ids), None
    assert match.user is not None
    if policy == "skip":
        return "skipped", match.user.id, None
    return "matched", match.user.id, None


def staged(
    row: readers.Row, result: Normalized, outcome: str, user_id: int | None, reason: str | None
) -> tuple[Any, ...]:
    """A placed row in `staging.COLUMNS` order: person columns only where they are written."""
    if outcome in ("created", "matched"):
        values = result.values
        person = [values.get(name) for name in PERSON]
        return (row.number, outcome, user_id, None, None, *person, values.get("attributes"))
    cells = [_text(cell) for cell in row.cells] if outcome == "rejected" else None
    return (row.number, outcome, user_id, reason, cells, *(None,) * len(PERSON), None)


def _text(cell: readers.Cell) -> str | None:
    if cell is None:
        return None
    if isinstance(cell, date | datetime):
        return cell.isoformat()
    return str(cell)


def written_columns(mapping: Mapping) -> tuple[list[str], bool]:
    """The person columns an import's mapping can change, and whether it has custom fields."""
    targets = {target for target in mapping.values() if target}
    columns = [name for name in PERSON if name in targets]
    if targets & {"first_name", "last_name"} and "full_name" not in columns:
        columns.insert(0, "full_name")  # made from the parts
    attributes = any(target.startswith(ATTRIBUTE_PREFIX) for target in targets)
    return columns, attributes


def insert_created(session: Session, job: ImportJob, *, now: datetime) -> None:
    """The batch's new people, from their stage rows, in the order of their ids: new ids are
    random, and in id order the users' primary key and the indexes that end in the id with one
    value for the whole batch before it (created_at, updated_at, source, ...) are written page
    after page instead of at a random page a person (SQLite: 37 -> 24 µs a person, 100,000
    people, batches of 8,000)."""
    names = ", ".join(PERSON)
    selected = ", ".join(
        "COALESCE(s.nicknames, '[]')"
        if name == "nicknames"
        else "COALESCE(s.source_ref, :file_name)"
        if name == "source_ref"
        else f"s.{name}"
        for name in PERSON
    )
    session.execute(
        text(
            f"INSERT INTO users (workspace_id, id, {names}, attributes, source, role, status,"
            " scoring_enabled, roaming, created_at, updated_at)"
            f" SELECT :ws, s.user_id, {selected}, COALESCE(s.attributes, '{{}}'), 'import',"
            " 'none', 'active', false, false, :now, :now"
            " FROM import_stage s WHERE s.outcome = 'created' ORDER BY s.user_id"
        ).bindparams(bindparam("now", type_=UTCDateTime), bindparam("ws", type_=Id)),
        {"ws": job.workspace_id, "now": now, "file_name": job.file_name},
    )


def merge_matched(
    session: Session, job: ImportJob, *, columns: Sequence[str], attributes: bool, now: datetime
) -> list[int]:
    """Change the matched people by the merge policy; the ids of those really changed.

    A matched row whose merge changes nothing stays `matched` (recorded `unchanged`) and its
    person is not written: no new row version, no index entries, no `updated_at` moved.
    """
    dialect = session.get_bind().dialect.name
    overwrite = job.merge_policy == "overwrite"
    merged = {name: _merged_column(name, overwrite=overwrite) for name in columns}
    if attributes and dialect == "sqlite":
        _merge_sqlite_attributes(session, job, overwrite=overwrite)
        merged["attributes"] = "s.attributes"
    elif attributes:
        merged["attributes"] = _merged_attributes(overwrite=overwrite)
    if not merged:
        return []
    update = (
        "UPDATE users AS u SET {sets}, updated_at = :now FROM import_stage AS s"
        " WHERE s.outcome = '{outcome}' AND u.workspace_id = :ws AND u.id = s.user_id"
    )
    params = {"ws": job.workspace_id, "now": now}
    types = (bindparam("now", type_=UTCDateTime), bindparam("ws", type_=Id))
    if dialect == "postgresql":  # one statement: the people changed, then their stage rows
        changed = " OR ".join(f"({sql}) IS DISTINCT FROM u.{name}" for name, sql in merged.items())
        sets = ", ".join(f"{name} = {sql}" for name, sql in merged.items())
        pg_update = update.replace("{sets}", sets).replace("{outcome}", "matched")
        marked = session.execute(
            text(
                f"WITH changed AS ({pg_update} AND ({changed})"
                " RETURNING u.id) UPDATE import_stage AS t SET outcome = 'updated'"
                " FROM changed WHERE t.user_id = changed.id AND t.outcome = 'matched'"
                " RETURNING t.row_number, t.user_id"
            ).bindparams(*types),
            params,
        )
        return [int(row[1]) for row in sorted(marked.all())]
    return _update_sqlite(session, job, merged, update=update, params=params, types=types)


# SQLite: a batch's matched people written by at most this many UPDATEs, one per set of columns
# the merge changes; past it, one UPDATE of every column any of them changes.
MAX_COLUMN_SETS = 8


def _update_sqlite(
    session: Session,
    job: ImportJob,
    merged: dict[str, str],
    *,
    update: str,
    params: dict[str, Any],
    types: tuple[Any, ...],
) -> list[int]:
    """SQLite rewrites the index entries of every column an UPDATE sets, changed or not (a
    matched person's name, phone and email: entries at random places of indexes of a million
    keys). So each stage row records which columns its merge changes (`changes`, a bit a column)
    and the people are written by one UPDATE per such set, each setting only its columns."""
    bits = " | ".join(
        f"((({sql}) IS DISTINCT FROM u.{name}) << {bit})"
        for bit, (name, sql) in enumerate(merged.items())
    )
    session.execute(
        text(
            f"UPDATE import_stage AS s SET changes = (SELECT {bits} FROM users u"
            " WHERE u.workspace_id = :ws AND u.id = s.user_id) WHERE s.outcome = 'matched'"
        ).bindparams(bindparam("ws", type_=Id)),
        {"ws": job.workspace_id},
    )
    session.execute(
        text("UPDATE import_stage SET outcome = 'updated' WHERE outcome = 'matched' AND changes")
    )
    updated: list[int] = []
    sets: set[int] = set()
    for user_id, changes in session.execute(
        text(
            "SELECT user_id, changes FROM import_stage WHERE outcome = 'updated'"
            " ORDER BY row_number"
        )
    ):
        updated.append(int(user_id))
        sets.add(int(changes))
    # Each UPDATE: the columns it sets, and the stage rows it takes (all of them for the union).
    writes = [(changes, " AND s.changes = :changes") for changes in sorted(sets)]
    if len(sets) > MAX_COLUMN_SETS:
        writes = [(reduce(operator.or_, sets), "")]
    names = list(merged)
    for changes, rows in writes:
        columns = ", ".join(
            f"{name} = {merged[name]}" for bit, name in enumerate(names) if changes >> bit & 1
        )
        statement = update.replace("{sets}", columns).replace("{outcome}", "updated") + rows
        session.execute(text(statement).bindparams(*types), {**params, "changes": changes})
    return updated


def _merged_column(name: str, *, overwrite: bool) -> str:
    """A person column after the merge: the file's value (when the row has one) replaces it
    (overwrite) or fills it when empty (fill)."""
    if overwrite:
        return f"COALESCE(s.{name}, u.{name})"
    empty = _EMPTY.get(name, _TEXT_EMPTY.format(c=name))
    return f"CASE WHEN {empty} THEN COALESCE(s.{name}, u.{name}) ELSE u.{name} END"


def _merged_attributes(*, overwrite: bool) -> str:
    """The custom fields after the merge (PostgreSQL): each of the row's values replaces the
    person's (overwrite) or is set where the person has none, an empty text or an empty list
    (fill)."""
    if overwrite:
        return "u.attributes || COALESCE(s.attributes, '{}')"
    return (
        "u.attributes || COALESCE((SELECT jsonb_object_agg(e.key, e.value)"
        " FROM jsonb_each(s.attributes) AS e"
        " WHERE COALESCE(u.attributes -> e.key, 'null') IN ('null', '\"\"', '[]')), '{}')"
    )


def _merge_sqlite_attributes(session: Session, job: ImportJob, *, overwrite: bool) -> None:
    """SQLite: the matched rows' stage `attributes` replaced by the person's custom fields after
    the merge, computed once by `merge_attributes` (which the test of a change and the update
    then read as text, instead of calling it twice a person)."""
    connection = cast(sqlite3.Connection, session.connection().connection.dbapi_connection)
    connection.create_function("coterie_merge_attributes", 3, merge_attributes, deterministic=True)
    session.execute(
        text(
            "UPDATE import_stage AS s SET attributes = (SELECT coterie_merge_attributes("
            f"u.attributes, s.attributes, {int(overwrite)}) FROM users u"
            " WHERE u.workspace_id = :ws AND u.id = s.user_id) WHERE s.outcome = 'matched'"
        ).bindparams(bindparam("ws", type_=Id)),
        {"ws": job.workspace_id},
    )


def merge_attributes(current: str | None, new: str | None, overwrite: int) -> str | None:
    """SQLite's `coterie_merge_attributes`: the stored JSON text itself when nothing changes,
    so that the `IS DISTINCT FROM` test is a plain text comparison."""
    if new is None or current is None:
        return current
    before = json.loads(current)
    after = dict(before)
    for key, value in json.loads(new).items():
        if overwrite or after.get(key) in (None, "", []):
            after[key] = value
    return current if after == before else json.dumps(after)


def record_outcomes(session: Session, job: ImportJob) -> None:
    """Every row's outcome, from the stage (a matched row that changed nothing: `unchanged`)."""
    session.execute(
        text(
            "INSERT INTO import_rows (workspace_id, job_id, row_number, outcome, user_id, reason,"
            ' "values") SELECT :ws, :job, s.row_number,'
            " CASE s.outcome WHEN 'matched' THEN 'unchanged' ELSE s.outcome END,"
            " s.user_id, s.reason, s.cells FROM import_stage s"
        ).bindparams(bindparam("ws", type_=Id), bindparam("job", type_=Id)),
        {"ws": job.workspace_id, "job": job.id},
    )
