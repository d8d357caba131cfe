"""Keyset pagination over one sort expression plus a unique id, in constant time at any depth.

NULLs sort last in both directions. A cursor is an opaque token carrying the sort value and id of
the row next to which the page starts, and which way to go. `first` and `last` need no row.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from coterie.errors import Invalid

T = TypeVar("T")
PAGE_SIZES = (10, 25, 50)
MAX_PAGE_SIZE = 200
Direction = Literal["next", "prev", "last"]


@dataclass(frozen=True)
class SortKey:
    expression: ColumnElement[Any]
    nullable: bool = True
    name: str = ""  # what the cursor records, so a cursor is refused under another sort


@dataclass(frozen=True)
class Cursor:
    direction: Direction
    value: Any = None
    row_id: int | None = None
    sort: str = ""

    def encode(self) -> str:
        value = self.value
        if isinstance(value, datetime):
            value = {"$dt": value.isoformat()}
        raw = json.dumps([self.direction, value, self.row_id, self.sort], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            direction, value, row_id, sort = json.loads(raw)
            if direction not in ("next", "prev", "last") or not isinstance(sort, str):
                raise ValueError(direction)
            if isinstance(value, dict):
                value = datetime.fromisoformat(value["$dt"])
            if row_id is not None and not isinstance(row_id, int):
                raise ValueError(row_id)
        except (ValueError, TypeError, KeyError, binascii.Error, json.JSONDecodeError) as exc:
            raise Invalid("The page cursor is malformed or expired", field="cursor") from exc
        return cls(direction=direction, value=value, row_id=row_id, sort=sort)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int | None  # None when the caller skipped the count
    size: int
    next: str | None
    prev: str | None
    # `first` is the query without a cursor; `last` is this constant token.
    last: str


LAST = Cursor("last").encode()


def check_size(size: int) -> int:
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise Invalid(f"Page size must be between 1 and {MAX_PAGE_SIZE}", field="size")
    return size


def count_rows(session: Session, stmt: Select[Any]) -> int:
    """The exact number of rows `stmt` selects."""
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def _after(key: SortKey, row_id: ColumnElement[Any], value: Any, cid: int, desc: bool) -> Any:
    """Rows strictly after (value, cid) in the order `key` (desc?) NULLS LAST, id (desc?)."""
    expr = key.expression
    if value is None:
        return and_(expr.is_(None), row_id < cid if desc else row_id > cid)
    pair = tuple_(expr, row_id)
    beyond = pair < tuple_(value, cid) if desc else pair > tuple_(value, cid)
    return or_(beyond, expr.is_(None)) if key.nullable else beyond


def _before(key: SortKey, row_id: ColumnElement[Any], value: Any, cid: int, desc: bool) -> Any:
    """Rows strictly before (value, cid) in the same order."""
    expr = key.expression
    if value is None:
        return or_(expr.is_not(None), and_(expr.is_(None), row_id > cid if desc else row_id < cid))
    pair = tuple_(expr, row_id)
    ahead = pair > tuple_(value, cid) if desc else pair < tuple_(value, cid)
    return and_(expr.is_not(None), ahead) if key.nullable else ahead


def _order(key: SortKey, row_id: ColumnElement[Any], desc: bool, backwards: bool) -> list[Any]:
    """The page order (NULLs last), or its exact reverse when walking backwards."""
    expr = key.expression
    flip = desc != backwards
    main = expr.desc() if flip else expr.asc()
    if key.nullable:
        main = main.nulls_first() if backwards else main.nulls_last()
    tie = row_id.desc() if flip else row_id.asc()
    return [main, tie]


def paginate(
    session: Session,
    stmt: Select[Any],
    *,
    key: SortKey,
    row_id: ColumnElement[Any],
    descending: bool,
    size: int,
    cursor: str | None,
    count: bool = True,
) -> Page[Any]:
    """One page of `stmt` (which selects rows; it gets the key and id appended to its columns)."""
    check_size(size)
    where = Cursor.decode(cursor) if cursor else None
    tag = f"{key.name}:{'desc' if descending else 'asc'}"
    if where is not None and where.direction != "last" and where.sort != tag:
        raise Invalid(
            "The page cursor belongs to another sort order; start again from the first page",
            field="cursor",
        )
    keyed = stmt.add_columns(key.expression.label("_sort_value"), row_id.label("_sort_id"))
    backwards = where is not None and where.direction in ("prev", "last")
    if where is not None and where.direction != "last":
        pick = _before if where.direction == "prev" else _after
        keyed = keyed.where(pick(key, row_id, where.value, where.row_id or 0, descending))
    order = _order(key, row_id, descending, backwards)
    rows = list(session.execute(keyed.order_by(*order).limit(size + 1)).all())
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    total = count_rows(session, stmt) if count else None
    items = [row[0] if len(row) == 3 else row[:-2] for row in rows]
    has_next = (more and not backwards) or (
        backwards and where is not None and where.direction == "prev"
    )
    has_prev = (more and backwards) or (not backwards and where is not None)
    nxt = Cursor("next", rows[-1][-2], rows[-1][-1], tag).encode() if rows and has_next else None
    prv = Cursor("prev", rows[0][-2], rows[0][-1], tag).encode() if rows and has_prev else None
    return Page(items=items, total=total, size=size, next=nxt, prev=prv, last=LAST)
