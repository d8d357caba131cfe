"""groups speed: no schema change (an unused slot, kept in the chain)

Revision ID: 2026_12_04_0010
Revises: 2026_12_04_0009
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

revision: str = "2026_12_04_0010"
down_revision: str | None = "2026_12_04_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
