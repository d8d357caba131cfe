"""identifier keys: each person's identifiers unique over the people who have them

Revision ID: 2026_12_06_0015
Revises: 2026_12_04_0014
Create Date: 2026-12-06 22:10:00

The unique keys of `users` on (workspace_id, phone / email / whatsapp / instagram / external_id /
agent_id) become unique indexes `WHERE <identifier> IS NOT NULL`. They enforce the same thing
(NULLs never collided), but a person without an identifier now writes no entry, and so no index
page, to its key: most people lack most of the six (docs/performance.md, SCIM).

On SQLite a table's own unique constraints cannot be dropped: `users` is rebuilt (a new table,
the rows copied, the old one dropped, the new one renamed, its indexes made again), in one
transaction, with foreign keys off meanwhile so that dropping the old table deletes no row that
refers to a person, and checked (`foreign_key_check`) before it commits.

It takes as long as building six indexes over `users` (PostgreSQL, holding the table's lock
meanwhile) or copying the table (SQLite): plan it for a quiet moment on a large directory.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_06_0015"
down_revision: str | None = "2026_12_04_0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAMES = ("agent_id", "email", "external_id", "instagram", "phone", "whatsapp")


def _key(name: str) -> str:
    return f"uq_users_workspace_id_{name}"


def _constraint(name: str) -> str:
    """The key as `users`' own constraint, as the first migration wrote it on SQLite."""
    return f"CONSTRAINT {_key(name)} UNIQUE (workspace_id, {name})"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_on_sqlite(own_constraints=False)
        return
    for name in NAMES:
        op.drop_constraint(_key(name), "users", type_="unique")
        op.create_index(
            _key(name),
            "users",
            ["workspace_id", name],
            unique=True,
            postgresql_where=sa.text(f"{name} IS NOT NULL"),
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_on_sqlite(own_constraints=True)
        return
    for name in NAMES:
        op.drop_index(_key(name), "users")
        op.create_unique_constraint(_key(name), "users", ["workspace_id", name])


def _rebuild_on_sqlite(*, own_constraints: bool) -> None:
    """`users` made again with the keys as its own constraints or as partial unique indexes.
    Nothing is done when it already has them as asked (a run stopped after the rebuild
    committed)."""
    bind = op.get_bind()
    table = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'"
    ).scalar_one()
    if (_constraint("email") in table) == own_constraints:
        return
    if own_constraints:
        head, tail = table.rstrip().rsplit(")", 1)
        table = head.rstrip() + "".join(f", \n\t{_constraint(n)}" for n in NAMES) + "\n)" + tail
    else:
        for name in NAMES:
            clause = f", \n\t{_constraint(name)}"
            if clause not in table:
                raise RuntimeError(f"users has no constraint {_key(name)} as expected")
            table = table.replace(clause, "")
    kept = [  # the other indexes and triggers of users (dropped with the table)
        sql
        for (sql,) in bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'users'"
            " AND type IN ('index', 'trigger') AND sql IS NOT NULL AND name NOT LIKE 'uq_users_%'"
        )
    ]
    new_table = table.replace("CREATE TABLE users", "CREATE TABLE _users_new", 1).replace(
        'CREATE TABLE "users"', "CREATE TABLE _users_new", 1
    )
    if not new_table.startswith("CREATE TABLE _users_new"):
        raise RuntimeError("users' definition is not as expected")
    bind.commit()  # `PRAGMA foreign_keys` is ignored inside a transaction
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        bind.exec_driver_sql("BEGIN")
        try:
            bind.exec_driver_sql(new_table)
            bind.exec_driver_sql("INSERT INTO _users_new SELECT * FROM users")
            bind.exec_driver_sql("DROP TABLE users")
            bind.exec_driver_sql("ALTER TABLE _users_new RENAME TO users")
            for sql in kept:
                bind.exec_driver_sql(sql)
            if not own_constraints:
                for name in NAMES:
                    bind.exec_driver_sql(
                        f"CREATE UNIQUE INDEX {_key(name)} ON users (workspace_id, {name})"
                        f" WHERE {name} IS NOT NULL"
                    )
            broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"rows would lose what they refer to: {broken[:5]}")
        except BaseException:
            bind.exec_driver_sql("ROLLBACK")
            raise
        bind.exec_driver_sql("COMMIT")
    finally:
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
