"""Alembic environment: one connection, the package's metadata, batch mode for SQLite."""

from __future__ import annotations

from alembic import context

from coterie.db import make_engine
from coterie.migrations.metadata import target_metadata

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
connection = config.attributes.get("connection")


def _run(conn: object) -> None:
    context.configure(
        connection=conn,  # type: ignore[arg-type]
        target_metadata=target_metadata(),
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()
