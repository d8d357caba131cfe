"""Migration 2026_12_04_0012 carries launched campaigns' recipients into chunks, and back."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from coterie import db, migrations

BEFORE, AFTER = "2026_12_04_0011", "2026_12_04_0012"
WS = 7


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_recipients_move_into_chunks_and_back(empty_database: str) -> None:
    migrations.upgrade(empty_database, BEFORE)
    engine = db.make_engine(empty_database)
    big = list(range(1_000, 3_500, 1))  # 2,500 people: chunks of 1,000, 1,000 and 500
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO workspaces (id, slug, name, default_region, time_zone,"
                    " hierarchy_depth, upload_limit_bytes, created_at)"
                    f" VALUES ({WS}, 'w', 'W', 'US', 'UTC', 3, 1000, :t)"
                ),
                {"t": db.utcnow()},
            )
            for campaign in (1, 2):
                conn.execute(
                    text(
                        "INSERT INTO campaigns (workspace_id, id, name, kind, recipient_count,"
                        " created_by_label, created_at, updated_at) VALUES"
                        f" ({WS}, {campaign}, 'C', 'sms', 0, '', :t, :t)"
                    ),
                    {"t": db.utcnow()},
                )
            rows = [{"c": 1, "u": u} for u in reversed(big)] + [{"c": 2, "u": 5}]
            rows.append({"c": 3, "u": 9})  # an orphan of a deleted campaign: not carried over
            conn.execute(text(f"INSERT INTO campaign_recipients VALUES ({WS}, :c, :u)"), rows)
        command.upgrade(migrations.alembic_config(empty_database), AFTER)
        with engine.connect() as conn:
            chunks = conn.execute(
                text(
                    "SELECT campaign_id, last_user_id, size, user_ids"
                    " FROM campaign_recipient_chunks ORDER BY campaign_id, last_user_id"
                )
            ).all()
        parsed = [
            (
                c,
                last,
                size,
                sorted(int(i) for i in (ids.split(",") if isinstance(ids, str) else ids)),
            )
            for c, last, size, ids in chunks
        ]
        assert parsed == [
            (1, big[999], 1000, big[:1000]),
            (1, big[1999], 1000, big[1000:2000]),
            (1, big[-1], 500, big[2000:]),
            (2, 5, 1, [5]),
        ]
        command.downgrade(migrations.alembic_config(empty_database), BEFORE)
        with engine.connect() as conn:
            back = conn.execute(
                text("SELECT campaign_id, user_id FROM campaign_recipients ORDER BY 1, 2")
            ).all()
        assert [tuple(r) for r in back] == [(1, u) for u in big] + [(2, 5)]
    finally:
        engine.dispose()
