"""Engine, sessions and the column types every domain shares.

The engine is built lazily from settings. On SQLite it turns on WAL and foreign keys and replaces
`lower()`/`upper()` with Python's Unicode-aware versions, so text comparisons agree with
PostgreSQL and with the Python rule evaluator.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    MetaData,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql.schema import CallableColumnDefault, Column, ScalarElementColumnDefault
from sqlalchemy.types import TypeDecorator

from coterie import jsontext

if TYPE_CHECKING:
    from psycopg import AsyncConnection

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# A 64-bit id; SQLite only has INTEGER, which is 64-bit too.
Id = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")
# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
Json = JSON().with_variant(postgresql.JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python; naive UTC in SQLite, timestamptz in PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC was expected")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, `process_bind_param` and SQLite's storage format in one step: the text
        SQLAlchemy's `DATETIME` writes (microseconds always), at a third of its cost (a create
        binds five; docs/performance.md, SCIM)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def to_text(value: datetime | None) -> str | None:
            naive = self.process_bind_param(value, dialect)
            return None if naive is None else naive.isoformat(" ", "microseconds")

        return to_text

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def rows_json(rows: Any) -> str:
    """Rows of column values (or a structure of them) as a JSON document, times as ISO text,
    for a PostgreSQL statement that reads them with `jsonb_populate_record(set)`."""
    return jsontext.dumps(rows, _iso).decode()


def json_text(value: Any) -> str:
    """A JSON column's value as the text it is stored as (compact; `jsontext`), refusing what
    JSON has no type for (datetimes included) as the standard library does."""
    return jsontext.dumps(value, _not_json, datetimes_by_default=True).decode()


def _not_json(value: object) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _sqlite_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _sqlite_upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


WAL_PAGES = 10_000  # SQLite's log is checkpointed by the commit that takes it past this
BUSY_WAL_PAGES = 2_000  # ...or past this, by a commit of writes that arrived together


@contextmanager
def checkpoint_when_busy(connection: Connection, busy: bool) -> Iterator[None]:
    """While the block runs, SQLite's log is checkpointed at `BUSY_WAL_PAGES` if `busy`. A
    commit that checkpoints holds up every request of the process: under load shorter
    checkpoints keep the p99 down, while one client's p99 would meet the more frequent ones
    (docs/performance.md, SCIM, "A shorter log under load"). Nothing on PostgreSQL."""
    if not busy or connection.dialect.name != "sqlite":
        yield
        return
    driver: Any = connection.connection.driver_connection
    driver.execute(f"PRAGMA wal_autocheckpoint={BUSY_WAL_PAGES}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")


def _on_sqlite_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.create_function("lower", 1, _sqlite_lower, deterministic=True)
    dbapi_connection.create_function("upper", 1, _sqlite_upper, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoint every 10,000 pages of log, not 1,000: the index pages that many small writes
    # share are copied back to the file less often (bench/RESULTS.md, SCIM, 2026-12-06).
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _begin_before_savepoint(connection: Connection, _name: str) -> None:
    """Python's sqlite3 begins a transaction only before a write, so a savepoint opened after
    reads alone (`session.begin_nested()`) would begin one itself, and its release would commit
    what it wrote while the rest of the unit of work could still fail: a person without their
    audit entry, a move half made. Beginning first keeps the savepoint inside the transaction
    the session commits or rolls back, as on PostgreSQL. IMMEDIATE: a savepoint is for writes,
    and a deferred transaction that read first could not take the write lock if another
    connection wrote meanwhile (it waits for the lock instead, up to `busy_timeout`)."""
    driver: Any = connection.connection.driver_connection
    if not driver.in_transaction:
        driver.execute("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build an engine for a SQLite file or a PostgreSQL server (psycopg 3)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, json_serializer=json_text, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "savepoint", _begin_before_savepoint)
    return engine


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    from coterie.settings import get_settings

    settings = get_settings()
    if settings.database_url.startswith(("postgresql:", "postgresql+")):
        # Enough connections for a worker's thread pool; the default 5 made new connections
        # under load (bench/RESULTS.md, HTTP).
        return make_engine(settings.database_url, pool_size=settings.db_pool_size, max_overflow=10)
    return make_engine(settings.database_url)


@lru_cache(maxsize=1)
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


# Per event loop (a semaphore belongs to one), with the engine it counts the connections of.
_slots: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[Engine, asyncio.Semaphore | None]
] = weakref.WeakKeyDictionary()


def pool_capacity(engine: Engine) -> int | None:
    """How many connections the engine's pool lends at once; None for a pool without a limit."""
    pool = engine.pool
    overflow = getattr(pool, "_max_overflow", -1)  # QueuePool's; -1 is no limit
    return pool.size() + overflow if isinstance(pool, QueuePool) and overflow >= 0 else None


@asynccontextmanager
async def connection_slot() -> AsyncIterator[None]:
    """Wait on the event loop, not in a worker thread, until the pool has a connection for one
    request, and hold it while the request uses the database.

    Without it a process could stall: requests whose sync dependency had taken a connection
    waited for a worker thread to run their route, while every worker thread waited for one of
    their connections, until the pool's timeout answered 500s (a code redeemed by 200 members at
    once, CI). With it, at most as many requests as the pool has connections hold one, and the
    rest wait for a slot without holding a thread. A CSV download's stream holds a connection
    of its own beyond its request's slot (`web.downloads`); a few of them only make requests
    wait longer."""
    engine = get_engine()
    loop = asyncio.get_running_loop()
    known = _slots.get(loop)
    if known is None or known[0] is not engine:
        capacity = pool_capacity(engine)
        known = _slots[loop] = (engine, None if capacity is None else asyncio.Semaphore(capacity))
    if known[1] is None:
        yield
        return
    async with known[1]:
        yield


@asynccontextmanager
async def request_session() -> AsyncIterator[Session]:
    """A request's session, once it has a connection slot (`connection_slot`). Opening does no
    I/O and closing only returns the connection, so neither needs a worker thread."""
    async with connection_slot():
        with get_sessionmaker()() as session:
            yield session


@contextmanager
def transaction() -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises (adapters only)."""
    with get_sessionmaker()() as session, session.begin():
        yield session


# SQL, positional parameter names, fixed parameter values, result converters by column, and
# parameter converters by name.
_Compiled = tuple[str, list[str], dict[str, Any], list[tuple[int, Any]], dict[str, Any]]


class Prepared:
    """A fixed Core statement compiled once per dialect and run on the DBAPI connection, for the
    few hot statements (access checks, the group tree, SCIM's token with the people it reads,
    the insert of every new person, audit entry and webhook event) where SQLAlchemy's per-call
    execution context and row objects cost more than the statement itself. It runs in a
    session's transaction, after flushing the session as an ORM query would, or on a
    connection; parameters are the statement's `bindparam` (or, for an insert, column) names,
    converted as SQLAlchemy's column types would convert them (`write`); a read may also run on
    an asyncio psycopg connection (`rows_async`, SCIM's hot reads); rows come back as
    plain tuples, their values as the driver gives them, or with `convert` as SQLAlchemy's
    column types would (JSON text decoded and naive times made UTC on SQLite, times in UTC on
    PostgreSQL).
    """

    def __init__(self, statement: Any, *, convert: bool = False) -> None:
        self.statement, self.convert = statement, convert
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            fixed = {name: bind.effective_value for name, bind in compiled.binds.items()}
            columns = self.statement.selected_columns if self.convert else ()
            processors = [
                (i, processor)
                for i, column in enumerate(columns)
                if (processor := column.type.dialect_impl(dialect).result_processor(dialect, None))
            ]
            binds = {
                name: processor
                for name, bind in compiled.binds.items()
                if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
            }
            order = list(compiled.positiontup or ())
            found = (str(compiled), order, fixed, processors, binds)
            self._by_dialect[dialect.name] = found
        return found

    @staticmethod
    def _connection(source: Session | Connection) -> Connection:
        if isinstance(source, Session):
            source.flush()
            return source.connection()
        return source

    def rows(self, source: Session | Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The rows, on the session's connection (after a flush) or on a connection."""
        connection = self._connection(source)
        sql, order, fixed, processors, _ = self._compiled(connection.dialect)
        values = fixed | params
        driver: Any = connection.connection.driver_connection
        if connection.dialect.name == "postgresql":
            found = driver.execute(sql, values, prepare=True).fetchall()
        else:
            found = driver.execute(sql, [values[name] for name in order]).fetchall()
        return _converted(found, processors)

    async def rows_async(
        self, connection: AsyncConnection, dialect: Dialect, params: dict[str, Any]
    ) -> list[tuple[Any, ...]]:
        """The rows, as `rows` gives them, on an asyncio psycopg connection (PostgreSQL, in
        autocommit) of a database of `dialect`: the event loop serves other requests while the
        database answers."""
        sql, _, fixed, processors, _ = self._compiled(dialect)
        cursor = await connection.execute(sql, fixed | params, prepare=True)
        return _converted(await cursor.fetchall(), processors)

    def _bound(self, dialect: Dialect, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each row of parameters with the fixed ones, converted as column types convert them."""
        _, _, fixed, _, binds = self._compiled(dialect)
        params = []
        for row in rows:
            values = fixed | row
            for name, processor in binds.items():
                values[name] = processor(values[name])
            params.append(values)
        return params

    def write(self, source: Session | Connection, rows: list[dict[str, Any]]) -> int:
        """Run the statement (an insert, update or delete) once per row of parameters, each
        converted as its column type would convert it; the number of rows it wrote."""
        connection = self._connection(source)
        sql, order, _, _, _ = self._compiled(connection.dialect)
        params = self._bound(connection.dialect, rows)
        driver: Any = connection.connection.driver_connection
        if connection.dialect.name == "postgresql":
            if len(params) == 1:
                return int(driver.execute(sql, params[0], prepare=True).rowcount)
            with driver.cursor() as cursor:
                cursor.executemany(sql, params)
                return int(cursor.rowcount)
        positional = [[values[name] for name in order] for values in params]
        if len(positional) == 1:
            return int(driver.execute(sql, positional[0]).rowcount)
        return int(driver.executemany(sql, positional).rowcount)

    def returned(self, source: Session | Connection, row: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Run the statement (a write with `RETURNING`) for one row of parameters, converted as
        `write` converts them; the rows it returned, as `rows` gives them."""
        bind = source.get_bind() if isinstance(source, Session) else source
        (values,) = self._bound(bind.dialect, [row])
        return self.rows(source, values)


def _converted(
    found: list[tuple[Any, ...]], processors: list[tuple[int, Any]]
) -> list[tuple[Any, ...]]:
    """The driver's rows with the values of `processors`' columns converted."""
    if not processors:
        return found
    rows = []
    for row in found:
        values = list(row)
        for i, processor in processors:
            values[i] = processor(values[i])
        rows.append(tuple(values))
    return rows


# Per mapped class and `RETURNING` expression (or None): (attribute, column, Python default or
# None) of each column, and the `INSERT ... ON CONFLICT DO NOTHING` of its table per dialect.
_NewRows = tuple[list[tuple[str, str, Any]], dict[str, Prepared]]
_NEW_ROWS: dict[tuple[type[Any], Any], _NewRows] = {}


def _python_default(column: Column[Any]) -> Any:
    """A function giving the column's Python-side default as a flush would, or None."""
    default = column.default
    if isinstance(default, CallableColumnDefault):
        call: Any = default.arg  # a default of no argument, wrapped to take a context
        return lambda: call(None)
    if isinstance(default, ScalarElementColumnDefault):
        value = default.arg
        return lambda: value
    return None


def _new_rows(kind: type[Any], returning: ColumnElement[Any] | None) -> _NewRows:
    found = _NEW_ROWS.get((kind, returning))
    if found is None:
        mapper = kind.__mapper__
        columns = [
            (prop.key, prop.columns[0].key, _python_default(prop.columns[0]))
            for prop in mapper.column_attrs
        ]
        inserts = {}
        for name, module in (("postgresql", postgresql), ("sqlite", sqlite)):
            insert = module.insert(mapper.local_table).on_conflict_do_nothing()
            inserts[name] = Prepared(insert if returning is None else insert.returning(returning))
        found = _NEW_ROWS[kind, returning] = (columns, inserts)
    return found


def new_row_insert(
    kind: type[Base], returning: ColumnElement[Any] | None, dialect: Dialect
) -> Prepared:
    """The `INSERT ... ON CONFLICT DO NOTHING` of `kind`'s rows (`new_row_values`), returning
    `returning` if given, on databases of `dialect`."""
    return _new_rows(kind, returning)[1][dialect.name]


def new_row(kind: type[Base], given: Mapping[str, Any]) -> dict[str, Any]:
    """The column values a new row of `kind` is inserted with, by column name, from the values
    of its attributes `given`: those left out get their Python defaults, as a flush would give
    them."""
    return {
        column: given[attribute] if attribute in given else None if default is None else default()
        for attribute, column, default in _new_rows(kind, None)[0]
    }


def new_row_values(row: Base) -> dict[str, Any]:
    """`new_row` of a new ORM object, whose attributes left unset are set to their defaults too
    (it is held as loaded once written)."""
    state = row.__dict__
    values = new_row(type(row), state)
    for attribute, column, _ in _new_rows(type(row), None)[0]:
        state.setdefault(attribute, values[column])  # stored as a loaded row's values are
    return values


def insert_new(session: Session, row: Base) -> bool:
    """Write a new ORM object in one prebuilt `INSERT ... ON CONFLICT DO NOTHING` instead of
    the unit of work (no savepoint, no read back), then hold it in the session as if loaded.
    False, with nothing written and the transaction usable, when one of its unique keys is
    taken: the caller then looks up the holder to say which. Columns left unset get their Python
    defaults, as a flush would give them."""
    return insert_returning(session, row, None) is not None


def insert_returning(
    session: Session, row: Base, returning: ColumnElement[Any] | None
) -> tuple[Any, ...] | None:
    """`insert_new`, with the value of `returning` (a fixed expression: a scalar subquery
    correlated to the row's table reads what the write needs in the same statement) as the
    insert returned it; None when one of the row's unique keys is taken (an empty tuple without
    `returning`)."""
    values = new_row_values(row)
    # Both flush first: what the unit of work holds is written first, as a flush would.
    insert = new_row_insert(type(row), returning, session.get_bind().dialect)
    if returning is None:
        found = () if insert.write(session, [values]) else None
    else:
        written = insert.returned(session, values)
        found = written[0] if written else None
    if found is not None:
        make_transient_to_detached(row)
        session.add(row)
    return found
