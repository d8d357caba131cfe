"""member groups, join codes and campaigns

Revision ID: 2026_12_04_0005
Revises: 2026_12_04_0004
Create Date: 2026-12-04 15:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite

from coterie.db import UTCDateTime

revision: str = "2026_12_04_0005"
down_revision: str | None = "2026_12_04_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sqlite.INTEGER(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rule", JSON, nullable=True),
        sa.Column("starts_at", UTCDateTime(), nullable=True),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("join_group_id", ID, nullable=True),
        sa.Column("launched_at", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("recipient_count", sa.Integer(), nullable=False),
        sa.Column("created_by_label", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_campaigns_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_campaigns")),
    )
    op.create_index(
        op.f("ix_campaigns_workspace_id_campaigns_created_at_campaigns_id"),
        "campaigns",
        ["workspace_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "member_groups",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("group_id", ID, nullable=False),
        sa.Column("join_policy", sa.String(length=8), nullable=False),
        sa.Column("user_viewable", sa.Boolean(), nullable=False),
        sa.Column("app_description", sa.Text(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=True),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("display_order", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "group_id"],
            ["groups.workspace_id", "groups.id"],
            name=op.f("fk_member_groups_workspace_id_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "group_id", name=op.f("pk_member_groups")),
    )
    op.create_index(
        op.f("ix_member_groups_workspace_id_member_groups_display_order_member_groups_group_id"),
        "member_groups",
        ["workspace_id", "display_order", "group_id"],
        unique=False,
    )
    op.create_table(
        "member_tokens",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "user_id"],
            ["users.workspace_id", "users.id"],
            name=op.f("fk_member_tokens_workspace_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_member_tokens")),
        sa.UniqueConstraint(
            "workspace_id", "secret_hash", name=op.f("uq_member_tokens_workspace_id_secret_hash")
        ),
    )
    op.create_index(
        op.f("ix_member_tokens_workspace_id_member_tokens_user_id"),
        "member_tokens",
        ["workspace_id", "user_id"],
        unique=False,
    )
    op.create_table(
        "campaign_groups",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("group_id", ID, nullable=False),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "campaign_id"],
            ["campaigns.workspace_id", "campaigns.id"],
            name=op.f("fk_campaign_groups_workspace_id_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "group_id"],
            ["groups.workspace_id", "groups.id"],
            name=op.f("fk_campaign_groups_workspace_id_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "campaign_id", "group_id", name=op.f("pk_campaign_groups")
        ),
    )
    op.create_index(
        op.f("ix_campaign_groups_workspace_id_campaign_groups_group_id"),
        "campaign_groups",
        ["workspace_id", "group_id"],
        unique=False,
    )
    op.create_table(
        "campaign_recipients",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id", "campaign_id", "user_id", name=op.f("pk_campaign_recipients")
        ),
    )
    op.create_table(
        "join_codes",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=8), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "campaign_id"],
            ["campaigns.workspace_id", "campaigns.id"],
            name=op.f("fk_join_codes_workspace_id_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_join_codes")),
        sa.UniqueConstraint(
            "workspace_id", "code_hash", name=op.f("uq_join_codes_workspace_id_code_hash")
        ),
    )
    op.create_index(
        op.f("ix_join_codes_workspace_id_join_codes_campaign_id_join_codes_created_at"),
        "join_codes",
        ["workspace_id", "campaign_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "join_code_uses",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("code_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "code_id"],
            ["join_codes.workspace_id", "join_codes.id"],
            name=op.f("fk_join_code_uses_workspace_id_code_id_join_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "user_id"],
            ["users.workspace_id", "users.id"],
            name=op.f("fk_join_code_uses_workspace_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "code_id", "user_id", name=op.f("pk_join_code_uses")
        ),
    )


def downgrade() -> None:
    op.drop_table("join_code_uses")
    op.drop_table("join_codes")
    op.drop_table("campaign_recipients")
    op.drop_table("campaign_groups")
    op.drop_table("member_tokens")
    op.drop_table("member_groups")
    op.drop_table("campaigns")
