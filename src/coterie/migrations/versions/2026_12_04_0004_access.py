"""team access: group hierarchy, resources and assignments

Revision ID: 2026_12_04_0004
Revises: 2026_11_22_0003
Create Date: 2026-12-04 15:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import coterie.db

revision: str = "2026_12_04_0004"
down_revision: str | None = "2026_11_22_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", _ID, nullable=True))
        batch_op.add_column(
            sa.Column("subtree_member_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("billing_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("billing_plan", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("billing_seats", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_groups_workspace_id_groups_parent_id"),
            ["workspace_id", "parent_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_groups_workspace_id_parent_id_groups"),
            "groups",
            ["workspace_id", "parent_id"],
            ["workspace_id", "id"],
        )
    # Every existing group is a level-1 group without subgroups: its subtree is itself.
    op.execute("UPDATE groups SET subtree_member_count = member_count")

    op.create_table(
        "resources",
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("features", _JSON, nullable=False),
        sa.Column("created_at", coterie.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coterie.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_resources_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_resources")),
        sa.UniqueConstraint(
            "workspace_id", "kind", "name", name=op.f("uq_resources_workspace_id_kind_name")
        ),
    )
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resources_workspace_id_resources_kind_resources_id"),
            ["workspace_id", "kind", "id"],
            unique=False,
        )

    op.create_table(
        "assignments",
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("group_id", _ID, nullable=False),
        sa.Column("resource_id", _ID, nullable=False),
        sa.Column("assigned_by_id", _ID, nullable=True),
        sa.Column("assigned_by_label", sa.String(length=200), nullable=False),
        sa.Column("assigned_at", coterie.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "group_id"],
            ["groups.workspace_id", "groups.id"],
            name=op.f("fk_assignments_workspace_id_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "resource_id"],
            ["resources.workspace_id", "resources.id"],
            name=op.f("fk_assignments_workspace_id_resource_id_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "group_id", "resource_id", name=op.f("pk_assignments")
        ),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assignments_workspace_id_assignments_resource_id_assignments_group_id"),
            ["workspace_id", "resource_id", "group_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_assignments_workspace_id_assignments_resource_id_assignments_group_id")
        )
    op.drop_table("assignments")
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resources_workspace_id_resources_kind_resources_id"))
    op.drop_table("resources")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_groups_workspace_id_parent_id_groups"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_groups_workspace_id_groups_parent_id"))
        batch_op.drop_column("billing_seats")
        batch_op.drop_column("billing_plan")
        batch_op.drop_column("billing_email")
        batch_op.drop_column("subtree_member_count")
        batch_op.drop_column("parent_id")
