"""The temporary table a batch of an import is loaded into before it is written set-based.

Each batch's rows, placed (`created`, `matched`, `skipped`, `duplicate`, `rejected`) and with
their people's columns in stored form (`stored`, by the thread that places the batch), go into
`import_stage` in one bulk load: `COPY FROM STDIN` on PostgreSQL, one `executemany` on SQLite.
`upserts` then writes the people, their row outcomes and nothing else from it in a few
statements. The table is temporary (one per database connection, never logged, never seen by
another connection) and emptied at the end of every batch's transaction, so it holds at most one
batch, and only while it is written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import JSON, BigInteger, Column, Integer, MetaData, String, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
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
    # SQLite, set by the merge: which of the written columns the merge changes, one bit each.
    Column("changes", Integer),
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


# SQLite's page cache while a batch is written, in KiB (the connection's default is 2,000): a
# batch's statements read and change the same pages of the users' table and indexes one after
# the other. Measured (bench/imports.py, 100,000 rows into 100,000 people): the writing thread's
# CPU 4.7 -> 4.1 s with 64 MiB; at 1,000,000 rows 64 MiB took the importing process and its
# workers to 484 MiB at peak, 32 MiB to 444 MiB (the target is under 500).
SQLITE_CACHE_KIB = 32_768


@contextmanager
def roomy_cache(session: Session) -> Iterator[None]:
    """SQLite: a larger page cache for the statements of the block, the connection's own size
    restored after it, error or not (the connection goes back to the pool when the batch
    commits)."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    connection = cast(sqlite3.Connection, session.connection().connection.dbapi_connection)
    before = int(connection.execute("PRAGMA cache_size").fetchone()[0])
    connection.execute(f"PRAGMA cache_size = {-SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        connection.execute(f"PRAGMA cache_size = {before}")


def stored(dialect: Dialect, rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A batch's rows (tuples in `COLUMNS` order, JSON values as Python values) as `load` sends
    them to `dialect`'s database: JSON wrapped for `COPY` on PostgreSQL; on SQLite, JSON as
    text and datetimes as the columns' types store them. Done where the batch is placed, not
    on the writing connection: with the import pipelined, the writer is the slower of the two."""
    converters: list[tuple[int, Any]] = []
    for index, name in enumerate(COLUMNS):
        convert: Any
        if dialect.name == "postgresql":
            convert = Jsonb if name in JSON_COLUMNS else None
        elif name in JSON_COLUMNS or name == "last_activity_at":
            convert = STAGE.c[name].type.bind_processor(dialect)
        else:
            convert = None
        if convert is not None:
            converters.append((index, convert))
    converted = []
    for row in rows:
        values = list(row)
        for index, convert in converters:
            if values[index] is not None:
                values[index] = convert(values[index])
        converted.append(tuple(values))
    return converted


def load(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    """Load a batch's rows, as `stored` made them for this connection's database."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        # One `executemany` of the driver (SQLAlchemy's per-row parameter handling cost more
        # than SQLite's insert).
        sqlite = cast(sqlite3.Connection, session.connection().connection.dbapi_connection)
        marks = ", ".join("?" for _ in COLUMNS)
        sqlite.executemany(
            f"INSERT INTO temp.import_stage ({', '.join(COLUMNS)}) VALUES ({marks})", rows
        )
        return
    connection = cast(psycopg.Connection[Any], session.connection().connection.dbapi_connection)
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY import_stage ({', '.join(COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
