"""engagement speed: a campaign's frozen recipients stored a chunk of people to a row

`campaign_recipients` (one row per person) becomes `campaign_recipient_chunks`: one row per run of
up to 1,000 consecutive (by person id) recipients, keyed by the run's last id, the ids in an
`int8[]` on PostgreSQL and comma-separated text on SQLite. A launch of 700,000 recipients then
writes 700 rows instead of 700,000. Existing lists are carried over, chunked the same way.

Revision ID: 2026_12_04_0012
Revises: 2026_12_04_0011
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "2026_12_04_0012"
down_revision: str | None = "2026_12_04_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
CHUNK = 1000


def upgrade() -> None:
    op.create_table(
        "campaign_recipient_chunks",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("last_user_id", ID, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column(
            "user_ids",
            sa.Text().with_variant(postgresql.ARRAY(sa.BigInteger()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "campaign_id"],
            ["campaigns.workspace_id", "campaigns.id"],
            name=op.f("fk_campaign_recipient_chunks_workspace_id_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id",
            "campaign_id",
            "last_user_id",
            name=op.f("pk_campaign_recipient_chunks"),
        ),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    user_ids = "array_agg(user_id)" if postgres else "group_concat(user_id)"
    op.execute(
        "INSERT INTO campaign_recipient_chunks"
        " (workspace_id, campaign_id, last_user_id, size, user_ids)"
        f" SELECT workspace_id, campaign_id, max(user_id), count(*), {user_ids}"
        " FROM (SELECT workspace_id, campaign_id, user_id, (row_number() OVER"
        f" (PARTITION BY workspace_id, campaign_id ORDER BY user_id) - 1) / {CHUNK} AS chunk"
        " FROM campaign_recipients AS r WHERE EXISTS (SELECT 1 FROM campaigns AS c"
        " WHERE c.workspace_id = r.workspace_id AND c.id = r.campaign_id)) AS numbered"
        " GROUP BY workspace_id, campaign_id, chunk"
    )
    op.drop_table("campaign_recipients")


def downgrade() -> None:
    op.create_table(
        "campaign_recipients",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id", "campaign_id", "user_id", name=op.f("pk_campaign_recipients")
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        ids = "unnest(c.user_ids) AS user_id FROM campaign_recipient_chunks AS c"
    else:
        # The ids are comma-separated text there: as a JSON array, json_each lists them.
        ids = "j.value FROM campaign_recipient_chunks AS c, json_each('[' || c.user_ids || ']') j"
    op.execute(
        "INSERT INTO campaign_recipients (workspace_id, campaign_id, user_id)"
        f" SELECT c.workspace_id, c.campaign_id, {ids}"
    )
    op.drop_table("campaign_recipient_chunks")
