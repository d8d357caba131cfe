"""A throwaway `people` table with awkward rows, on SQLite and (when it answers) PostgreSQL.

The rows cover what rules get wrong: NULLs and missing JSON keys, JSON values of the wrong type
(some that PostgreSQL could not even cast), mixed case and accents, `%`, `_`, `/` and `\\` in
values, and multi_enum arrays.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Engine,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    not_,
    null,
    select,
    text,
)

from coterie import db
from coterie.rules import FieldCatalog, FieldSpec, FieldType, Rule, parse_filter, to_sql

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _phone(raw: str) -> str:
    """A stand-in for the directory's E.164 normalizer: UK numbers with a leading 0."""
    digits = "".join(c for c in raw if c.isdigit())
    if not digits:
        raise ValueError(f"{raw!r} is not a phone number")
    if raw.strip().startswith("+"):
        return "+" + digits
    return "+44" + digits.removeprefix("0")


def _day(days: float, seconds: int = 0) -> datetime:
    return NOW - timedelta(days=days, seconds=seconds)


# id: (name, phone, score, seen_at, active, joined, attributes); `None` attributes is SQL NULL.
ROWS: dict[int, tuple[Any, ...]] = {
    1: ("Ölaf Berg", "+447911123456", 10.0, _day(1), True, date(2024, 1, 10), {
        "plan": "Pro", "city": "Zürich", "seats": 5, "rating": 4.5, "vip": True,
        "since": "2024-06-01", "renewal": "2024-06-14T08:00:00Z", "tags": ["a", "b"],
        "email": "olaf@example.com", "site": "https://olaf.example/Home",
    }),
    2: ("ÉMILE Zola", "+33123456789", 99.5, _day(10), False, date(2023, 5, 1), {
        "plan": "Premium", "city": "PARIS", "seats": 100, "rating": 3, "vip": False,
        "since": "2023-12-31", "renewal": "2024-06-15T12:00:00Z", "tags": ["news"],
        "email": "emile@example.fr",
    }),
    3: ("émile petit", None, None, None, None, None, {"plan": "Free", "tags": []}),
    4: ("100% Sure", "+15550001", 0.0, _day(40), True, date(2024, 6, 15), {
        "city": "Berlin_Mitte", "seats": 0, "rating": -1.25, "vip": False,
        "tags": ["a", "b", "c"],
    }),
    5: ("under_score", "+15550002", -3.5, _day(7), False, None, {
        "city": "50% off", "seats": 7, "since": "2024-06-15",
        "renewal": "2024-06-15T12:00:01Z",
    }),
    6: ("back\\slash a/b", None, 1e6, _day(-2), None, None, {"city": "a\\b/c", "tags": ["c"]}),
    7: (None, None, None, None, None, None, None),
    8: ("json null", None, None, None, None, None, "null"),
    9: ("empty", None, None, None, None, None, {}),
    10: ("nulls", None, None, None, None, None, {
        "plan": None, "city": None, "seats": None, "rating": None, "vip": None,
        "since": None, "renewal": None, "tags": None, "email": None,
    }),
    11: ("wrong types", None, None, None, None, None, {
        "plan": 3, "city": 5, "seats": "5", "rating": "4.5", "vip": "true", "since": 20240101,
        "renewal": 1, "tags": "a", "email": ["x"], "site": True,
    }),
    12: ("float seats", None, None, None, None, None, {"seats": 2.5, "rating": 2}),
    13: ("Mixed CASE", "+447911123457", 50.0, _day(7, seconds=1), True, date(2024, 6, 14), {
        "plan": "Pro", "city": "zürich", "seats": 12, "tags": ["b"],
        "email": "mixed@example.com",
    }),
    14: ("", None, None, None, None, None, {
        "city": "", "seats": "five", "rating": "4.5 stars", "vip": "maybe",
    }),
    15: ("Ångström", "+447911000000", None, None, None, None, {"seats": 2.0}),
}  # fmt: skip


def build_table(schema: str | None) -> tuple[Table, FieldCatalog]:
    table = Table(
        "people",
        MetaData(schema=schema),
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("name", Text),
        Column("phone", Text),
        Column("score", Float),
        Column("seen_at", db.UTCDateTime),
        Column("active", Boolean),
        Column("joined", Date),
        Column("attributes", db.Json),
        Column("labels", db.Json),  # a multi_enum in a column of its own: a copy of the tags
    )
    c = table.c

    def custom(key: str, kind: FieldType, *options: str, **extra: Any) -> FieldSpec:
        return FieldSpec(f"attributes.{key}", kind, c.attributes, options, json_key=key, **extra)

    catalog = FieldCatalog(
        [
            FieldSpec("name", FieldType.TEXT, c.name, label="Name"),
            FieldSpec("phone", FieldType.PHONE, c.phone, normalize=_phone),
            FieldSpec("score", FieldType.NUMBER, c.score),
            FieldSpec("seen_at", FieldType.DATETIME, c.seen_at),
            FieldSpec("active", FieldType.BOOLEAN, c.active),
            FieldSpec("joined", FieldType.DATE, c.joined),
            FieldSpec("seen_on", FieldType.DATE, c.seen_at),  # a date field on a UTC column
            custom("plan", FieldType.ENUM, "Free", "Pro", "Premium"),
            custom("city", FieldType.TEXT),
            custom("seats", FieldType.INTEGER),
            custom("rating", FieldType.NUMBER),
            custom("vip", FieldType.BOOLEAN),
            custom("since", FieldType.DATE),
            custom("renewal", FieldType.DATETIME),
            custom("tags", FieldType.MULTI_ENUM, "a", "b", "c", "news"),
            custom("email", FieldType.EMAIL, normalize=lambda v: v.strip().lower()),
            custom("site", FieldType.URL),
            FieldSpec("labels", FieldType.MULTI_ENUM, c.labels, ("a", "b", "c", "news")),
        ]
    )
    return table, catalog


@dataclass
class People:
    """The table on one database, and the ids a rule selects from it."""

    engine: Engine
    table: Table
    catalog: FieldCatalog
    now: datetime = NOW

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def where(self, rule: Rule | Mapping[str, Any] | str) -> Any:
        parsed = rule if not isinstance(rule, str | Mapping) else parse_filter(rule)
        assert parsed is not None
        return to_sql(parsed, self.catalog, dialect=self.dialect, now=NOW)

    def ids(self, rule: Rule | Mapping[str, Any] | str) -> set[int]:
        with self.engine.connect() as conn:
            return set(conn.scalars(select(self.table.c.id).where(self.where(rule))))

    def split(self, rule: Rule | Mapping[str, Any] | str) -> tuple[int, int, int]:
        """How many rows match, how many match `not`, and how many the two leave NULL."""
        where = self.where(rule)
        query = select(
            func.count().filter(where),
            func.count().filter(not_(where)),
            func.count().filter(where.is_(None)),
        )
        with self.engine.connect() as conn:
            row = conn.execute(query.select_from(self.table)).one()
        return row[0], row[1], row[2]


def _insert(engine: Engine, table: Table) -> None:
    table.metadata.create_all(engine)
    keys = ("name", "phone", "score", "seen_at", "active", "joined", "attributes")
    rows = []
    for id_, values in ROWS.items():
        row = dict(zip(keys, values, strict=True), id=id_)
        tags = row["attributes"].get("tags") if isinstance(row["attributes"], dict) else None
        row["labels"] = tags if isinstance(tags, list) else null()
        if row["attributes"] is None:
            row["attributes"] = null()
        elif row["attributes"] == "null":
            row["attributes"] = None  # JSON null: the JSON type stores None as `null`
        rows.append(row)
    with engine.begin() as conn:
        for row in rows:
            conn.execute(table.insert().values(**row))


def _postgres_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        if os.environ.get("COTERIE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but does not answer at {url}")
        return False


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def people(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[People]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("rules") / "people.db"
        engine = db.make_engine(f"sqlite:///{path}")
        table, catalog = build_table(None)
        _insert(engine, table)
        yield People(engine, table, catalog)
        engine.dispose()
        return
    url = os.environ.get("COTERIE_TEST_POSTGRES_URL") or DEFAULT_PG
    if not _postgres_answers(url):
        pytest.skip(f"PostgreSQL does not answer at {url} (set COTERIE_TEST_POSTGRES_URL)")
    engine = db.make_engine(url)
    schema = f"rules_test_{secrets.token_hex(4)}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        table, catalog = build_table(schema)
        _insert(engine, table)
        yield People(engine, table, catalog)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
