"""speed: counts of enum and boolean field values, kept by PostgreSQL triggers

Revision ID: 2026_12_04_0008
Revises: 2026_12_04_0007
Create Date: 2026-12-04 15:40:00

`field_value_counts` holds, per workspace, field and value, deltas whose sum is how many people
hold that value (a JSON string for an enum field, a JSON boolean for a boolean one: exactly the
people the rule `attributes.<key> eq <value>` selects). Statement-level triggers on `users`
add one row per (field, value) a statement changed, a trigger on `fields` counts the values
already stored when a field is created, and the foreign key drops a deleted field's rows. When
a field's rows outnumber twice its distinct values (plus 32), the writing statement folds them
into one row per value, unless another transaction is folding the same field (an advisory lock,
tried, never waited for). docs/performance.md ("The exact count") has the trade-off.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import sqlite

revision: str = "2026_12_04_0008"
down_revision: str | None = "2026_12_04_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sqlite.INTEGER(), "sqlite")

# The (workspace, field, value) of every enum or boolean value in a set of users rows, as the
# rule engine reads it: the JSON type must be the field's (rules/_access.py).
_VALUES = """
    SELECT u.workspace_id, f.id AS field_id, u.attributes ->> f.key AS value, {sign} AS n
    FROM {rows} u
    JOIN fields f ON f.workspace_id = u.workspace_id AND f.type IN ('enum', 'boolean')
    WHERE jsonb_typeof(u.attributes -> f.key)
        = CASE f.type WHEN 'enum' THEN 'string' ELSE 'boolean' END
"""

_COUNT = """
    FOR touched IN
        WITH added AS (
            INSERT INTO field_value_counts (workspace_id, field_id, value, delta)
            SELECT workspace_id, field_id, value, sum(n) FROM ({values}) d
            GROUP BY workspace_id, field_id, value HAVING sum(n) <> 0
            RETURNING workspace_id, field_id
        )
        SELECT DISTINCT workspace_id, field_id FROM added
    LOOP
        PERFORM coterie_fold_value_counts(touched.workspace_id, touched.field_id);
    END LOOP;
"""


def _trigger_function(name: str, values: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched record;
BEGIN
    {_COUNT.format(values=values)}
    RETURN NULL;
END $$
"""


_FOLD = """
CREATE FUNCTION coterie_fold_value_counts(ws bigint, fid bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n_rows bigint;
    n_values bigint;
BEGIN
    SELECT count(*), count(DISTINCT value) INTO n_rows, n_values
    FROM field_value_counts WHERE workspace_id = ws AND field_id = fid;
    IF n_rows <= 2 * n_values + 32
        OR current_setting('transaction_isolation') <> 'read committed'
        OR NOT pg_try_advisory_xact_lock(1668247401, hashint8(fid))
    THEN
        RETURN;
    END IF;
    WITH gone AS (
        DELETE FROM field_value_counts WHERE workspace_id = ws AND field_id = fid
        RETURNING value, delta
    )
    INSERT INTO field_value_counts (workspace_id, field_id, value, delta)
    SELECT ws, fid, value, sum(delta) FROM gone GROUP BY value HAVING sum(delta) <> 0;
END $$
"""

_FIELD_CREATED = """
CREATE FUNCTION coterie_count_field_values() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.type IN ('enum', 'boolean') THEN
        INSERT INTO field_value_counts (workspace_id, field_id, value, delta)
        SELECT NEW.workspace_id, NEW.id, attributes ->> NEW.key, count(*)
        FROM users
        WHERE workspace_id = NEW.workspace_id
            AND jsonb_typeof(attributes -> NEW.key)
                = CASE NEW.type WHEN 'enum' THEN 'string' ELSE 'boolean' END
        GROUP BY attributes ->> NEW.key;
    END IF;
    RETURN NULL;
END $$
"""

# Count a workspace's values again from its people: for loads that skip triggers (the bench
# seed's COPY runs with `session_replication_role = replica`) or a repair.
_RECOUNT = (
    """
CREATE FUNCTION coterie_recount_field_values(ws bigint) RETURNS void LANGUAGE sql AS $$
    DELETE FROM field_value_counts WHERE workspace_id = ws;
    INSERT INTO field_value_counts (workspace_id, field_id, value, delta)
    SELECT workspace_id, field_id, value, sum(n) FROM ("""
    + _VALUES.format(sign=1, rows="users")
    + """ AND u.workspace_id = ws) d
    GROUP BY workspace_id, field_id, value;
$$
"""
)

_FUNCTIONS = {
    "coterie_count_users_inserted": _VALUES.format(sign=1, rows="new_rows"),
    "coterie_count_users_deleted": _VALUES.format(sign=-1, rows="old_rows"),
    "coterie_count_users_updated": _VALUES.format(sign=1, rows="new_rows")
    + " UNION ALL "
    + _VALUES.format(sign=-1, rows="old_rows"),
}
_TRIGGERS = {
    "coterie_count_users_inserted": "AFTER INSERT ON users REFERENCING NEW TABLE AS new_rows",
    "coterie_count_users_deleted": "AFTER DELETE ON users REFERENCING OLD TABLE AS old_rows",
    "coterie_count_users_updated": (
        "AFTER UPDATE ON users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    ),
}


def upgrade() -> None:
    op.create_table(
        "field_value_counts",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("field_id", ID, nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "field_id"],
            ["fields.workspace_id", "fields.id"],
            name=op.f("fk_field_value_counts_workspace_id_field_id_fields"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "field_id", "value", "id", name=op.f("pk_field_value_counts")
        ),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FOLD)
    for name, values in _FUNCTIONS.items():
        op.execute(_trigger_function(name, values))
        op.execute(
            f"CREATE TRIGGER {name} {_TRIGGERS[name]} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    op.execute(_FIELD_CREATED)
    op.execute(
        "CREATE TRIGGER coterie_count_field_values AFTER INSERT ON fields"
        " FOR EACH ROW EXECUTE FUNCTION coterie_count_field_values()"
    )
    op.execute(_RECOUNT)
    # People stored before this migration.
    op.execute("SELECT coterie_recount_field_values(id) FROM workspaces")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER coterie_count_field_values ON fields")
        op.execute("DROP FUNCTION coterie_count_field_values()")
        for name in _FUNCTIONS:
            op.execute(f"DROP TRIGGER {name} ON users")
            op.execute(f"DROP FUNCTION {name}()")
        op.execute("DROP FUNCTION coterie_recount_field_values(bigint)")
        op.execute("DROP FUNCTION coterie_fold_value_counts(bigint, bigint)")
    op.drop_table("field_value_counts")
