"""The database the rule tests run on: a SQLite file, and PostgreSQL when it answers.

Each database gets the tables of `rule_tables` once per session: `people` with its rows (and
their memberships for `grouped`), and the empty tables property tests fill (`arena`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from rule_tables import (
    GROUP_IDS,
    MEMBERS,
    Arena,
    Memberships,
    People,
    build_table,
    insert_rows,
    memberships_table,
)
from sqlalchemy import Engine, MetaData, text

from coterie import db
from coterie.rules import FieldCatalog

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _postgres_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        if os.environ.get("COTERIE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but does not answer at {url}")
        return False


@dataclass
class Database:
    """One database for the session: a SQLite file, or a schema of its own on PostgreSQL."""

    engine: Engine
    schema: str | None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("rules") / "people.db"
        engine = db.make_engine(f"sqlite:///{path}")
        yield Database(engine, None)
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
        yield Database(engine, schema)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def people(database: Database) -> People:
    table, catalog = build_table(database.schema)
    insert_rows(database.engine, table)
    return People(database.engine, table, catalog)


@pytest.fixture(scope="session")
def grouped(people: People) -> People:
    """The people table with a memberships table (`rule_tables.MEMBERS`) behind `member_of`."""
    table = memberships_table(people.table.metadata)
    table.create(people.engine)
    links = [{"person_id": p, "group_id": g} for g, ids in MEMBERS.items() for p in sorted(ids)]
    with people.engine.begin() as conn:
        conn.execute(table.insert(), links)
    source = Memberships(table, people.table, GROUP_IDS)
    return People(people.engine, people.table, people.catalog.with_membership(source))


@pytest.fixture(scope="session")
def arena(database: Database) -> Arena:
    """Empty `random_people` and `random_memberships` tables, for property tests to fill."""
    metadata = MetaData(schema=database.schema)
    table, catalog = build_table(database.schema, "random_people", metadata)
    memberships = memberships_table(metadata, "random_memberships")
    metadata.create_all(database.engine)
    source = Memberships(memberships, table, GROUP_IDS)
    return Arena(database.engine, table, memberships, catalog.with_membership(source))


@pytest.fixture(scope="session")
def catalog() -> FieldCatalog:
    """The people catalog with membership, for tests that need no database."""
    table, plain = build_table(None)
    source = Memberships(memberships_table(table.metadata), table, GROUP_IDS)
    return plain.with_membership(source)
