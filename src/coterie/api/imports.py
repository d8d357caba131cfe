"""`/api/v1/imports`: upload a contact file, map it, preview it, import it into a new group.

The file is the request body itself (`POST /imports?file_name=contacts.csv`), so its declared size
is checked against the workspace's limit before a byte is read (413), and it is streamed to disk.
"""

from __future__ import annotations

import itertools
import tempfile
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from coterie import ids, jobs, uploads
from coterie.api.deps import ActorDep, SessionDep, decode_id
from coterie.pagination import PAGE_SIZES
from coterie.transfer import service as imports
from coterie.transfer.models import ImportJob
from coterie.transfer.schemas import DryRunRead, ImportConfigure, ImportRead, SampleRead

router = APIRouter(prefix="/imports", tags=["imports"])
_SPOOL = 8 * 1024 * 1024


def import_read(session: Session, job: ImportJob) -> ImportRead:
    dropped, outside = imports.dropped_columns(session, job)
    given = {
        "id": ids.encode(job.id),
        "new_fields": job.new_fields,
        "dropped_columns": dropped,
        "outside_form": outside,
        "form_id": None if job.form_id is None else ids.encode(job.form_id),
        "new_form": imports.new_form(job),
        "group_id": None if job.group_id is None else ids.encode(job.group_id),
        "created_by": job.created_by_label,
    }
    return ImportRead(
        **given,
        **{name: getattr(job, name) for name in ImportRead.model_fields if name not in given},
    )


@router.post("", response_model=ImportRead, status_code=201)
async def upload(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    file_name: Annotated[str, Query(min_length=1, max_length=255)],
) -> ImportRead:
    """Step 1: the file as the request body (CSV, XLSX, XLS or ODS)."""
    declared = request.headers.get("content-length")
    size = int(declared) if declared and declared.isdigit() else None
    limit = imports.check_size(session, actor=actor, declared=size)
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as body:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise uploads.too_large(limit)
            body.write(chunk)
        body.seek(0)
        job = imports.upload(session, actor=actor, file_name=file_name, stream=body)  # type: ignore[arg-type]
    session.commit()
    return import_read(session, job)


@router.get("", response_model=list[ImportRead])
def list_imports(
    session: SessionDep,
    actor: ActorDep,
    size: Annotated[int, Query(ge=1, le=max(PAGE_SIZES))] = 25,
) -> list[ImportRead]:
    return [
        import_read(session, j) for j in imports.list_jobs(session, actor=actor, size=size).items
    ]


@router.get("/{import_id}", response_model=ImportRead)
def get_import(session: SessionDep, actor: ActorDep, import_id: str) -> ImportRead:
    """The job, with its progress (`rows_done` of `rows_total`) and counts while it runs."""
    job = imports.get(session, actor=actor, job_id=decode_id(import_id, "import"))
    return import_read(session, job)


@router.patch("/{import_id}", response_model=ImportRead)
def configure(
    session: SessionDep, actor: ActorDep, import_id: str, data: ImportConfigure
) -> ImportRead:
    """Steps 2 and 3: sheet, column mapping, new fields, merge policy, the group's details, and
    the form that holds the custom columns (`form_id` attaches one, `new_form` creates one when
    the import starts). `dropped_columns` names the columns whose data will not be stored."""
    job = imports.configure(session, actor=actor, job_id=decode_id(import_id, "import"), data=data)
    session.commit()
    return import_read(session, job)


@router.get("/{import_id}/sample", response_model=SampleRead)
def sample(
    session: SessionDep,
    actor: ActorDep,
    import_id: str,
    rows: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SampleRead:
    """The first rows as they will be stored, each cell normalized or with its error."""
    job_id = decode_id(import_id, "import")
    return SampleRead(rows=imports.sample(session, actor=actor, job_id=job_id, rows=rows))


@router.post("/{import_id}/dry-run", response_model=DryRunRead)
def dry_run(session: SessionDep, actor: ActorDep, import_id: str) -> DryRunRead:
    """Step 4: counts over the whole file; nothing is written."""
    result = imports.dry_run(session, actor=actor, job_id=decode_id(import_id, "import"))
    session.rollback()
    return result


@router.post("/{import_id}/start", response_model=ImportRead, status_code=202)
def start(session: SessionDep, actor: ActorDep, import_id: str) -> ImportRead:
    """Step 5: run the import in the background; follow it with GET /imports/{id}."""
    job = imports.start(session, actor=actor, job_id=decode_id(import_id, "import"))
    session.commit()
    jobs.enqueue_import(job.workspace_id, job.id)
    session.refresh(job)
    return import_read(session, job)


@router.get("/{import_id}/rejected.csv", response_class=StreamingResponse)
def rejected(session: SessionDep, actor: ActorDep, import_id: str) -> StreamingResponse:
    """The rows that were not imported, with the reason per row."""
    chunks = imports.rejected_csv(session, actor=actor, job_id=decode_id(import_id, "import"))
    first = next(chunks)
    return StreamingResponse(
        itertools.chain([first], chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="rejected-rows.csv"'},
    )
