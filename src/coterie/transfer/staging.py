"""The temporary table a batch of an import is loaded into before it is written set-based.

Each batch's rows, placed (`created`, `matched`, `skipped`, `duplicate`, `rejected`) and with
their people's columns in stored form, go into `import_stage` in one bulk load: `COPY FROM
STDIN` on PostgreSQL, one `executemany` on SQLite. `upserts` then writes the people, their
row outcomes and nothing else from it in a few statements. The table is temporary (one per
database connection, never logged, never seen by another connection) and emptied at the end
of every batch's transaction, so it holds at most one batch, and only while it is written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, cast

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import JSON, BigInteger, Column, MetaData, String, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable

from coterie.db import Id, UTCDateTime

# The people's columns an import can set, with the users table's types.
PERSON = (
    *("full_name", "first_name", "last_name", "nicknames", "phone", "email", "whatsapp"),
    *("instagram", "external_id", "primary_channel", "source_ref", "last_activity_at"),
)
JSON_COLUMNS = frozenset({"nicknames", "attributes", "cells"})
# JSON whose Python None is SQL NULL (not the JSON text `null`): "no value in this row".
Json = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
COLUMNS = ("row_number", "outcome", "user_id", "reason", "cells", *PERSON, "attributes")

STAGE = Table(
    "import_stage",
    MetaData(),  # not the application's: a temporary table, never migrated
    Column("row_number", BigInteger),
    Column("outcome", String(16)),
    Column("user_id", Id),
    Column("reason", Text),
    Column("cells", Json),
    *(Column(name, Json) for name in ("nicknames",)),
    *(Column(name, Text) for name in PERSON if name not in ("nicknames", "last_activity_at")),
    Column("last_activity_at", UTCDateTime),
    Column("attributes", Json),
    prefixes=["TEMPORARY"],
)


def prepare(session: Session) -> None:
    """Make the table on this connection if it is not there yet."""
    dialect = session.get_bind().dialect
    ddl = str(CreateTable(STAGE, if_not_exists=True).compile(dialect=dialect))
    session.execute(text(ddl))


def clear(session: Session) -> None:
    """Empty the table before the batch commits: a pooled connection keeps no one's rows."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("TRUNCATE import_stage"))
    else:
        session.execute(text("DELETE FROM temp.import_stage"))


def load(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    """Load a batch's rows, each a tuple in `COLUMNS` order (JSON values as Python values)."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        _load_sqlite(session, rows)
        return
    json_at = [index for index, name in enumerate(COLUMNS) if name in JSON_COLUMNS]
    connection = cast(psycopg.Connection[Any], session.connection().connection.dbapi_connection)
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY import_stage ({', '.join(COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            values = list(row)
            for index in json_at:
                if values[index] is not None:
                    values[index] = Jsonb(values[index])
            copy.write_row(values)


def _load_sqlite(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    """One `executemany` of the driver, the values made as the columns' types store them
    (SQLAlchemy's per-row parameter handling cost more than SQLite's insert)."""
    dialect = session.get_bind().dialect
    process = {
        index: STAGE.c[name].type.bind_processor(dialect)
        for index, name in enumerate(COLUMNS)
        if name in JSON_COLUMNS or name == "last_activity_at"
    }
    converters = [(index, fn) for index, fn in process.items() if fn is not None]

    def stored(row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for index, convert in converters:
            if values[index] is not None:
                values[index] = convert(values[index])
        return tuple(values)

    connection = cast(sqlite3.Connection, session.connection().connection.dbapi_connection)
    marks = ", ".join("?" for _ in COLUMNS)
    connection.executemany(
        f"INSERT INTO temp.import_stage ({', '.join(COLUMNS)}) VALUES ({marks})",
        map(stored, rows),
    )
