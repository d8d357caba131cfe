"""operators: group scope and capability flags

Revision ID: 2026_12_04_0007
Revises: 2026_12_04_0006
Create Date: 2026-12-04 15:25:00
"""

from collections.abc import Sequence

revision: str = "2026_12_04_0007"
down_revision: str | None = "2026_12_04_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
