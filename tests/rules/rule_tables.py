"""The tables, rows and records the rule tests share, on whichever database a fixture gives.

`ROWS` are awkward people that cover what rules get wrong: NULLs and missing JSON keys, JSON values
of the wrong type (some that PostgreSQL could not even cast), mixed case and accents, `%`, `_`,
`/` and `\\` in values, and multi_enum arrays. `RECORDS` are the same rows as the Python
evaluator reads them (column name -> stored value), and `Memberships` is a membership source over
a `memberships` table, as the groups domain would write one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
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
)

from coterie import db
from coterie.rules import FieldCatalog, FieldSpec, FieldType, Rule, parse_filter, to_sql

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)


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


def build_table(
    schema: str | None, name: str = "people", metadata: MetaData | None = None
) -> tuple[Table, FieldCatalog]:
    table = Table(
        name,
        metadata or MetaData(schema=schema),
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


def _record(id_: int, values: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("name", "phone", "score", "seen_at", "active", "joined", "attributes")
    record = dict(zip(keys, values, strict=True), id=id_)
    tags = record["attributes"].get("tags") if isinstance(record["attributes"], dict) else None
    record["labels"] = tags if isinstance(tags, list) else None
    if record["attributes"] == "null":
        record["attributes"] = None  # JSON null reads as None, like SQL NULL
    return record


# The rows as records for the Python evaluator: column name -> stored value.
RECORDS: dict[int, dict[str, Any]] = {id_: _record(id_, values) for id_, values in ROWS.items()}


def insert_values(record: Mapping[str, Any], json_columns: Sequence[str]) -> dict[str, Any]:
    """A record as insert() values: None in a JSON column is SQL NULL, not JSON `null`."""
    return {
        key: null() if key in json_columns and value is None else value
        for key, value in record.items()
        if key != "member_of"
    }


def insert_rows(engine: Engine, table: Table) -> None:
    table.metadata.create_all(engine)
    rows = []
    for id_, values in ROWS.items():
        row = insert_values(RECORDS[id_], ("attributes", "labels"))
        if values[6] == "null":
            row["attributes"] = None  # JSON null: the JSON type stores None as `null`
        rows.append(row)
    with engine.begin() as conn:
        for row in rows:
            conn.execute(table.insert().values(**row))


def memberships_table(metadata: MetaData, name: str = "memberships") -> Table:
    return Table(
        name,
        metadata,
        Column("person_id", Integer, primary_key=True, autoincrement=False),
        Column("group_id", Text, primary_key=True),
    )


class Memberships:
    """A `MembershipSource` over a memberships table: what the groups domain will provide."""

    def __init__(self, table: Table, people: Table, groups: Collection[str]) -> None:
        self.table, self.people, self.groups = table, people, frozenset(groups)

    def known(self, group_id: str) -> bool:
        return group_id in self.groups

    def sql_contains(self, group_ids: Sequence[str]) -> ColumnElement[bool]:
        m = self.table.c
        found = select(m.person_id).where(m.person_id == self.people.c.id)
        return found.where(m.group_id.in_(group_ids)).exists()

    def python_contains(self, record: Mapping[str, Any], group_ids: Sequence[str]) -> bool:
        member_of: set[str] = record["member_of"]
        return not member_of.isdisjoint(group_ids)


# Memberships of the ROWS people for member_of tests; g3 and g4 have no members.
MEMBERS: dict[str, set[int]] = {"g1": {1, 2, 3}, "g2": {3, 4}, "g3": set()}
GROUP_IDS = ("g1", "g2", "g3", "g4")


def member_of(person_id: int) -> set[str]:
    return {group for group, ids in MEMBERS.items() if person_id in ids}


GROUPED_RECORDS = {id_: {**r, "member_of": member_of(id_)} for id_, r in RECORDS.items()}


@dataclass
class Arena:
    """Empty tables that each example fills and rolls back: people rows and their memberships."""

    engine: Engine
    table: Table
    memberships: Table
    catalog: FieldCatalog

    def outcomes(
        self, rules: Sequence[Rule], rows: Sequence[Mapping[str, Any]], *, now: datetime
    ) -> dict[int, tuple[bool | None, ...]]:
        """Each row's outcome for each rule in SQL, once `rows` (insert values plus
        `member_of`) are in; None would be a NULL, which a rule must never be."""
        dialect = self.engine.dialect.name
        tests = [to_sql(rule, self.catalog, dialect=dialect, now=now) for rule in rules]
        links = [
            {"person_id": row["id"], "group_id": group}
            for row in rows
            for group in row["member_of"]
        ]
        with self.engine.connect() as conn, conn.begin() as transaction:
            for row in rows:
                values = {key: value for key, value in row.items() if key != "member_of"}
                conn.execute(self.table.insert().values(**values))
            if links:
                conn.execute(self.memberships.insert(), links)
            found = conn.execute(select(self.table.c.id, *tests)).all()
            transaction.rollback()
        return {id_: tuple(None if v is None else bool(v) for v in rest) for id_, *rest in found}
