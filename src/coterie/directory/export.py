"""CSV export of a selection of people (All Users, a group's members, an operator roster) in
flat memory, the same bytes on both databases, and the guard every CSV cell Coterie writes goes
through (`neutralize`)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Generator, Iterator
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    case,
    event,
    func,
    literal,
    literal_column,
    not_,
    select,
    type_coerce,
)
from sqlalchemy import cast as sa_cast
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.directory.listing import Scope, custom_value, selection, sort_key
from coterie.directory.models import Field, User
from coterie.directory.service import workspace_fields
from coterie.rules import FieldType, Rule

EXPORT_COLUMNS = (
    "id",
    "full_name",
    "first_name",
    "last_name",
    "phone",
    "email",
    "whatsapp",
    "instagram",
    "external_id",
    "primary_channel",
    "source",
    "last_activity_at",
    "created_at",
    "status",
)

_FORMULA_START = "=+-@\t\r"
_SAFE_NUMBER = re.compile(r"^[+-]?[0-9][0-9 .,()/-]*$")


def neutralize(cell: str) -> str:
    """Keep spreadsheets from running a cell as a formula (OWASP CSV injection)."""
    if cell and cell[0] in _FORMULA_START and not _SAFE_NUMBER.match(cell):
        return "'" + cell
    return cell


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return neutralize(";".join(str(v) for v in value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return neutralize(str(value))


def export_csv(
    session: Session,
    *,
    actor: Actor,
    rule: Rule | None = None,
    sort: str = "full_name",
    descending: bool = False,
    batch_size: int = 5000,
    scope: Scope | None = None,
) -> Iterator[str]:
    """CSV text in chunks of `batch_size` rows, in flat memory, the same bytes on both databases.

    PostgreSQL formats every cell in SQL and streams the rows with COPY, so no Python runs per
    row; SQLite streams rows from a cursor and formats them here.
    """
    custom = workspace_fields(session, workspace_id=actor.workspace_id)
    key = sort_key(custom, sort)
    base = selection(session, actor=actor, rule=rule, custom=custom, scope=scope)
    t = User.__table__.c
    order = key.expression.desc() if descending else key.expression.asc()
    row_id = t.id.desc() if descending else t.id.asc()
    header = [*EXPORT_COLUMNS, *(f"attributes.{f.key}" for f in custom)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield buffer.getvalue()
    if session.get_bind().dialect.name == "postgresql":
        cells = [_sql_cell(name) for name in EXPORT_COLUMNS] + [_sql_custom(f) for f in custom]
        stmt = base.with_only_columns(*cells).order_by(order.nulls_last(), row_id)
        yield from _copy_csv(session, stmt, batch_size)
        return
    # Ids and datetimes come out of SQL as text; the other fixed columns are text or NULL.
    columns = [ids.sql_encode(t.id)]
    columns += [_sqlite_isoformat(t[n]) if n in _DATETIMES else t[n] for n in EXPORT_COLUMNS[1:]]
    columns += [custom_value(f) for f in custom]
    fixed = len(EXPORT_COLUMNS)
    stmt = base.with_only_columns(*columns).order_by(order.nulls_last(), row_id)
    result = session.connection().execute(stmt.execution_options(yield_per=batch_size))
    for rows in result.partitions():
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([*map(_text, row[:fixed]), *map(_cell, row[fixed:])] for row in rows)
        yield buffer.getvalue()


def _text(value: str | None) -> str:
    return "" if value is None else neutralize(value)


def _sqlite_isoformat(value: ColumnElement[Any]) -> ColumnElement[str]:
    """`isoformat()` of a datetime SQLAlchemy stored in SQLite ('YYYY-MM-DD HH:MM:SS.ffffff')."""
    text = type_coerce(value, Text)
    micro = func.substr(text, 21, 6, type_=Text)
    day, clock = func.substr(text, 1, 10, type_=Text), func.substr(text, 12, 8, type_=Text)
    return day + "T" + clock + case((micro.in_(["", "000000"]), ""), else_="." + micro) + "+00:00"


# The export in SQL (PostgreSQL), cell for cell what `_cell` makes of the value in Python.

# _SAFE_NUMBER for PostgreSQL, where `$` does not also match before a final newline as in Python.
_SAFE_NUMBER_SQL = r"^[+-]?[0-9][0-9 .,()/-]*\n?$"
_DATETIMES = ("last_activity_at", "created_at", "updated_at")


def _sql_text(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """`neutralize(value)` in SQL; '' turns NULL, which COPY writes unquoted like the csv module."""
    text = type_coerce(value, Text)
    risky = and_(
        func.ascii(text).in_([ord(c) for c in _FORMULA_START]),
        not_(text.regexp_match(_SAFE_NUMBER_SQL)),
    )
    return func.nullif(case((risky, literal("'", Text) + text), else_=text), "")


def _sql_isoformat(value: ColumnElement[Any]) -> ColumnElement[str]:
    """`value.isoformat()` of a UTC datetime: microseconds only when there are some."""
    stamp = func.to_char(func.timezone("UTC", value), 'YYYY-MM-DD"T"HH24:MI:SS.US', type_=Text)
    return func.replace(stamp, ".000000", "", type_=Text) + "+00:00"


def _sql_float(value: ColumnElement[Any]) -> ColumnElement[str]:
    """`neutralize(str(value))` for a float, in SQL.

    PostgreSQL prints the same shortest digits as Python's repr, but drops the '.0' of whole
    numbers and turns to an exponent at 1e15 where Python waits for 1e16. Of the texts a float
    makes, only a negative with an exponent is not a safe number. Each reference to `value`
    re-evaluates it, so the common cases come first and use it least.
    """
    text = sa_cast(value, Text)
    magnitude = func.abs(value)
    digits = func.replace(func.ltrim(func.split_part(text, "e", 1), "-"), ".", "", type_=Text)
    sign = case((value < 0, "-"), else_="")
    fraction = func.coalesce(func.nullif(func.substr(digits, 17), ""), "0")
    positional = sign + func.rpad(digits, 16, "0", type_=Text) + "." + fraction
    return case(
        (and_(value == func.floor(value), magnitude < 1e15), text + ".0"),
        (magnitude < 1e15, case((value < 0, _negative(text)), else_=text)),
        (magnitude < 1e16, positional),
        else_=case((value < 0, "'" + text), else_=text),
    )


def _negative(text: ColumnElement[str]) -> ColumnElement[str]:
    return case((func.strpos(text, "e") > 0, "'" + text), else_=text)


def _sql_joined(value: ColumnElement[Any]) -> ColumnElement[str]:
    """A multi-enum's options joined with ';' (any other JSON value as its text)."""
    items = func.jsonb_array_elements_text(value).table_valued("value", with_ordinality="n")
    items = items.render_derived()
    joined = select(
        func.string_agg(items.c.value, aggregate_order_by(literal(";", Text), items.c.n))
    ).scalar_subquery()
    scalar = value.op("#>>", return_type=Text)(literal_column("'{}'::text[]"))
    return case((func.jsonb_typeof(value) == "array", joined), else_=scalar)


def _sql_cell(name: str) -> ColumnElement[Any]:
    column = User.__table__.c[name]
    if name == "id":
        return ids.sql_encode(column)
    if name in _DATETIMES:
        return _sql_isoformat(column)
    return _sql_text(column)


def _sql_custom(field: Field) -> ColumnElement[Any]:
    value = custom_value(field)
    kind = FieldType(field.type)
    if kind in (FieldType.NUMBER, FieldType.INTEGER):
        return _sql_float(value)
    if kind is FieldType.BOOLEAN:
        return case((value.is_(True), "true"), (value.is_(False), "false"))
    if kind is FieldType.MULTI_ENUM:
        return _sql_text(_sql_joined(value))
    return _sql_text(value)


def _driver_statement(session: Session, stmt: Select[Any]) -> tuple[str, dict[str, Any]]:
    """`stmt` as the driver would receive it: SQL with placeholders, values through their types."""
    dialect = session.get_bind().dialect
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params: dict[str, Any] = {}
    for name, value in compiled.construct_params().items():
        # The values of an expanded IN (`name_1`, `name_2`...) take the type of `name`.
        bind = compiled.binds[name if name in compiled.binds else name.rpartition("_")[0]]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        params[name] = process(value) if process else value
    return str(compiled), params


def _copy_csv(session: Session, stmt: Select[Any], batch_size: int) -> Iterator[str]:
    """The rows of `stmt` as CSV from `COPY ... TO STDOUT`, in chunks of `batch_size` rows.

    A COPY stopped early is cancelled, which fails its transaction: it runs in a savepoint, so
    the session stays usable after an export left unfinished.
    """
    sql, params = _driver_statement(session, stmt)
    connection = session.connection()
    savepoint = connection.begin_nested()
    chunks = _copy_chunks(connection.connection.driver_connection, sql, params, batch_size)

    # psycopg holds the connection while a COPY is open, so a rollback or commit would wait for
    # it forever. Should the session end with this generator left suspended (a client gone
    # mid-download), close the COPY first.
    def stop(_connection: Any) -> None:
        chunks.close()

    for name in ("rollback", "commit"):
        event.listen(connection, name, stop)
    finished = False
    try:
        yield from chunks
        finished = True
    finally:
        for name in ("rollback", "commit"):
            event.remove(connection, name, stop)
        if savepoint.is_active:
            (savepoint.commit if finished else savepoint.rollback)()


def _copy_chunks(
    driver: Any, sql: str, params: dict[str, Any], batch_size: int
) -> Generator[str, None, None]:
    encoding = driver.info.encoding
    rows: list[Any] = []
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy,
    ):
        for row in copy:
            rows.append(row)
            if len(rows) >= batch_size:
                yield _crlf(b"".join(rows).decode(encoding))
                rows.clear()
        if rows:
            yield _crlf(b"".join(rows).decode(encoding))


def _crlf(text: str) -> str:
    """COPY ends rows with LF, the csv module with CRLF. A chunk starts on a row boundary, so a
    newline ends a row exactly when an even number of quotes comes before it."""
    if '"' not in text:
        return text.replace("\n", "\r\n")
    parts = text.split('"')
    parts[::2] = [part.replace("\n", "\r\n") for part in parts[::2]]
    return '"'.join(parts)
