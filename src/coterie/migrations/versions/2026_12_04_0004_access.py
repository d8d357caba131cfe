"""team access: group hierarchy, resources and assignments

Revision ID: 2026_12_04_0004
Revises: 2026_11_22_0003
Create Date: 2026-12-04 15:25:00
"""

from collections.abc import Sequence

revision: str = "2026_12_04_0004"
down_revision: str | None = "2026_11_22_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
