"""operators: group scope and capability flags

Revision ID: 2026_12_04_0007
Revises: 2026_12_04_0006
Create Date: 2026-12-04 15:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coterie.db

revision: str = "2026_12_04_0007"
down_revision: str | None = "2026_12_04_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id", column],
        [f"{target}.workspace_id", f"{target}.id"],
        name=op.f(f"fk_{table}_workspace_id_{column}_{target}"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "operator_permissions",
        _id("workspace_id"),
        _id("user_id"),
        sa.Column("group_access", sa.Boolean(), nullable=False),
        sa.Column("reporting", sa.Boolean(), nullable=False),
        sa.Column("audio_scoring", sa.Boolean(), nullable=False),
        sa.Column("updated_at", coterie.db.UTCDateTime(timezone=True), nullable=False),
        _fk("operator_permissions", "user_id", "users"),
        sa.PrimaryKeyConstraint("workspace_id", "user_id", name=op.f("pk_operator_permissions")),
    )
    op.create_table(
        "operator_scopes",
        _id("workspace_id"),
        _id("user_id"),
        _id("group_id"),
        _fk("operator_scopes", "group_id", "groups"),
        _fk("operator_scopes", "user_id", "users"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "user_id", "group_id", name=op.f("pk_operator_scopes")
        ),
    )
    op.create_table(
        "token_scopes",
        _id("workspace_id"),
        _id("token_id"),
        _id("group_id"),
        _fk("token_scopes", "token_id", "api_tokens"),
        _fk("token_scopes", "group_id", "groups"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "token_id", "group_id", name=op.f("pk_token_scopes")
        ),
    )


def downgrade() -> None:
    op.drop_table("token_scopes")
    op.drop_table("operator_scopes")
    op.drop_table("operator_permissions")
