"""import new form: the form an import will create when it starts

Revision ID: 2026_12_04_0014
Revises: 2026_12_04_0013
Create Date: 2026-12-04 18:30:00

`import_jobs.new_form` holds the name and description of a form asked for at the import's
metadata step; `start` makes it (with the new fields) and attaches it, then clears this column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "2026_12_04_0014"
down_revision: str | None = "2026_12_04_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "new_form",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_column("new_form")
