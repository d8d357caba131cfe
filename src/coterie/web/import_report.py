"""An import's own page: its progress while it runs, then its report, and the rejected rows.

The page polls the progress card (`/imports/{id}/status`) every second while the job is queued or
running; the card that comes back once it is done (or failed) no longer polls, and shows the
counts, the new group and the download of the rows that were not imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from coterie import ids
from coterie.directory.models import Form
from coterie.errors import NotFound
from coterie.groups import service as groups
from coterie.transfer import service as imports
from coterie.transfer.models import ImportJob
from coterie.web import downloads
from coterie.web.deps import Operator, OperatorDep, SessionDep, WebRoute, redirect, render
from coterie.web.imports import job_url, load_job

router = APIRouter(prefix="/imports", route_class=WebRoute)
RUNNING = ("queued", "running")


def _status_context(session: Session, op: Operator, job: ImportJob) -> dict[str, Any]:
    group = None
    if job.group_id is not None:
        try:
            group = groups.get(session, actor=op.actor, group_id=job.group_id)
        except NotFound:  # deleted since
            group = None
    total, done = job.rows_total, min(job.rows_done, job.rows_total or job.rows_done)
    elapsed = None
    if job.started_at and job.finished_at:
        elapsed = max((job.finished_at - job.started_at).total_seconds(), 0.0)
    form = session.get(Form, (job.workspace_id, job.form_id)) if job.form_id else None
    return {
        "section": "users",
        "form_name": form.name if form else "",
        "dropped": imports.dropped_columns(session, job)[0],
        "job": job,
        "jid": ids.encode(job.id),
        "group": group,
        "running": job.status in RUNNING,
        "percent": int(done * 100 / total) if total else 0,
        "rows_done": done,
        "elapsed": elapsed,
        "tz": op.workspace.time_zone,
    }


@router.get("/{import_id}")
def job_page(request: Request, session: SessionDep, op: OperatorDep, import_id: str) -> Response:
    job = load_job(session, op, import_id)
    if job.status == "draft":
        return redirect(job_url(job, "columns"))
    return render(request, "imports/job.html", _status_context(session, op, job))


@router.get("/{import_id}/status")
def status(request: Request, session: SessionDep, op: OperatorDep, import_id: str) -> Response:
    """The progress card alone, which the page polls every second while the job runs."""
    job = load_job(session, op, import_id)
    return render(request, "imports/_status.html", _status_context(session, op, job))


@router.get("/{import_id}/rejected.csv")
def rejected(session: SessionDep, op: OperatorDep, import_id: str) -> Response:
    """The rows that were not imported, as in the file, with the reason per row (streamed)."""
    job = load_job(session, op, import_id)
    name = f"{Path(job.file_name).stem}-rejected-rows.csv"
    return downloads.streamed_csv(
        lambda session: (imports.rejected_csv(session, actor=op.actor, job_id=job.id), name)
    )
