"""Import jobs and what happened to each row of their file.

A job is made when a file is uploaded and runs in steps: the people are upserted in chunks, each
chunk committed with its rows' outcomes (so a job interrupted mid-way resumes after its last
chunk), and the group is made from those rows in one final transaction (so no half-made group is
ever visible).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coterie.db import Base, Id, Json, UTCDateTime, utcnow
from coterie.ids import new_id

STATUSES = ("draft", "queued", "running", "done", "failed")
MERGE_POLICIES = ("fill", "overwrite", "skip")
OUTCOMES = ("created", "updated", "unchanged", "skipped", "duplicate", "rejected")


class ImportJob(Base):
    __tablename__ = "import_jobs"
    __table_args__ = (Index(None, "workspace_id", "created_at", "id"),)

    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    file_name: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))
    file_size: Mapped[int] = mapped_column(BigInteger)
    file_sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255))
    encoding: Mapped[str | None] = mapped_column(String(32))
    delimiter: Mapped[str | None] = mapped_column(String(4))
    sheet: Mapped[str | None] = mapped_column(String(200))
    sheets: Mapped[list[str]] = mapped_column(Json, default=list)
    headers: Mapped[list[str]] = mapped_column(Json, default=list)
    mapping: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    new_fields: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    new_form: Mapped[dict[str, Any] | None] = mapped_column(Json)
    merge_policy: Mapped[str] = mapped_column(String(16), default="fill")
    group_name: Mapped[str | None] = mapped_column(String(200))
    group_description: Mapped[str] = mapped_column(Text, default="")
    group_tags: Mapped[list[str]] = mapped_column(Json, default=list)
    form_id: Mapped[int | None] = mapped_column(Id)
    group_id: Mapped[int | None] = mapped_column(Id)
    rows_total: Mapped[int | None] = mapped_column(BigInteger)
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    counts: Mapped[dict[str, int]] = mapped_column(Json, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(Id)
    created_by_label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ImportRow(Base):
    """One data row of an import's file: who it became, or why it was refused."""

    __tablename__ = "import_rows"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "job_id"],
            ["import_jobs.workspace_id", "import_jobs.id"],
            ondelete="CASCADE",
        ),
        Index(None, "workspace_id", "job_id", "outcome", "row_number"),
        Index(None, "workspace_id", "job_id", "user_id"),
    )

    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    job_id: Mapped[int] = mapped_column(Id, primary_key=True)
    row_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(Id)
    reason: Mapped[str | None] = mapped_column(Text)
    values: Mapped[list[str] | None] = mapped_column(Json)
