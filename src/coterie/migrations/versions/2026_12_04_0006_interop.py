"""SCIM tokens and webhooks

Revision ID: 2026_12_04_0006
Revises: 2026_12_04_0005
Create Date: 2026-12-04 15:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import coterie.db

revision: str = "2026_12_04_0006"
down_revision: str | None = "2026_12_04_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scim_tokens",
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", coterie.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", coterie.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_scim_tokens_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_scim_tokens")),
        sa.UniqueConstraint(
            "workspace_id", "secret_hash", name=op.f("uq_scim_tokens_workspace_id_secret_hash")
        ),
    )
    op.create_index(
        op.f("ix_scim_tokens_secret_hash"), "scim_tokens", ["secret_hash"], unique=False
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column(
            "event_types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", coterie.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coterie.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", coterie.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_webhook_endpoints_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "webhook_events",
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", coterie.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", coterie.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_webhook_events_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_webhook_events")),
    )
    op.create_index(
        op.f("ix_webhook_events_dispatched_at_webhook_events_seq"),
        "webhook_events",
        ["dispatched_at", "seq"],
        unique=False,
    )
    op.create_index(
        op.f("ix_webhook_events_workspace_id_webhook_events_seq"),
        "webhook_events",
        ["workspace_id", "seq"],
        unique=False,
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False),
        sa.Column(
            "endpoint_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", coterie.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", coterie.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.String(length=1000), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("created_at", coterie.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "endpoint_id"],
            ["webhook_endpoints.workspace_id", "webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_workspace_id_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "event_id"],
            ["webhook_events.workspace_id", "webhook_events.id"],
            name=op.f("fk_webhook_deliveries_workspace_id_event_id_webhook_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_status_webhook_deliveries_next_attempt_at"),
        "webhook_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_index(
        op.f(
            "ix_webhook_deliveries_workspace_id_webhook_deliveries_endpoint_id_webhook_deliveries_created_at_webhook_deliveries_id"
        ),
        "webhook_deliveries",
        ["workspace_id", "endpoint_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f(
            "ix_webhook_deliveries_workspace_id_webhook_deliveries_endpoint_id_webhook_deliveries_status_webhook_deliveries_seq"
        ),
        "webhook_deliveries",
        ["workspace_id", "endpoint_id", "status", "seq"],
        unique=False,
    )
    op.create_table(
        "scim_groups",
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        sa.Column("updated_at", coterie.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "group_id"],
            ["groups.workspace_id", "groups.id"],
            name=op.f("fk_scim_groups_workspace_id_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "group_id", name=op.f("pk_scim_groups")),
    )
    op.create_table(
        "scim_users",
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False),
        sa.Column("user_name", sa.String(length=300), nullable=False),
        sa.Column("user_name_key", sa.String(length=300), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", coterie.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "user_id"],
            ["users.workspace_id", "users.id"],
            name=op.f("fk_scim_users_workspace_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "user_id", name=op.f("pk_scim_users")),
        sa.UniqueConstraint(
            "workspace_id", "user_name_key", name=op.f("uq_scim_users_workspace_id_user_name_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("scim_users")
    op.drop_table("scim_groups")
    op.drop_index(
        op.f(
            "ix_webhook_deliveries_workspace_id_webhook_deliveries_endpoint_id_webhook_deliveries_status_webhook_deliveries_seq"
        ),
        table_name="webhook_deliveries",
    )
    op.drop_index(
        op.f(
            "ix_webhook_deliveries_workspace_id_webhook_deliveries_endpoint_id_webhook_deliveries_created_at_webhook_deliveries_id"
        ),
        table_name="webhook_deliveries",
    )
    op.drop_index(
        op.f("ix_webhook_deliveries_status_webhook_deliveries_next_attempt_at"),
        table_name="webhook_deliveries",
    )
    op.drop_table("webhook_deliveries")
    op.drop_index(
        op.f("ix_webhook_events_workspace_id_webhook_events_seq"), table_name="webhook_events"
    )
    op.drop_index(
        op.f("ix_webhook_events_dispatched_at_webhook_events_seq"), table_name="webhook_events"
    )
    op.drop_table("webhook_events")
    op.drop_table("webhook_endpoints")
    op.drop_index(op.f("ix_scim_tokens_secret_hash"), table_name="scim_tokens")
    op.drop_table("scim_tokens")
