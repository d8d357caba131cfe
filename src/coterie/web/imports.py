"""Import people: the four-step wizard, the progress page and the report.

Steps: connect data (upload, pick the sheet), define data (`import_columns`), metadata (the new
group) and preview (counts, merge policy). Unlike Create User Group, the draft lives in the
database from the upload on (an `ImportJob` in status draft), so each step is a URL of its own
and every step saves what it shows; "Import" queues the job and its page follows the progress
until the report.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from coterie import ids, jobs
from coterie.directory.models import Form
from coterie.directory.service import workspace_fields
from coterie.errors import Conflict, Invalid, TooLarge
from coterie.groups import service as groups
from coterie.transfer import mapping
from coterie.transfer import service as imports
from coterie.transfer.models import MERGE_POLICIES, ImportJob
from coterie.transfer.schemas import ImportConfigure
from coterie.web import import_columns, import_details
from coterie.web.deps import (
    FormDep,
    Operator,
    OperatorDep,
    SessionDep,
    WebRoute,
    check_csrf,
    redirect,
    render,
)
from coterie.web.templating import file_size

# No CSRF dependency on the router: the upload checks the declared size before the form (and so
# the body) is read, then the CSRF token; every other POST names the check itself.
router = APIRouter(prefix="/imports", route_class=WebRoute)
CSRF = [Depends(check_csrf)]

STEPS = ("file", "columns", "details", "review")
STEP_TITLES = ("Connect data", "Define data", "Metadata", "Preview")
# The multipart framing and the form's other fields, beyond the file itself: a file just under
# the limit is not refused for them (the stored file is measured exactly as it is saved).
FORM_ALLOWANCE = 64 * 1024
MB = 1024 * 1024
NAME_NEEDED = "Every import makes a group: give it a name."


def load_job(session: Session, op: Operator, import_id: str) -> ImportJob:
    """The import a URL names, in the operator's workspace (NotFound otherwise)."""
    return imports.get(session, actor=op.actor, job_id=ids.decode(import_id, what="import"))


def job_url(job: ImportJob, step: str | None = None) -> str:
    return f"/imports/{ids.encode(job.id)}" + (f"/{step}" if step else "")


def _target(form: Any, here: str) -> str:
    """Where a step's buttons lead: back, an earlier step by name, or on."""
    go = str(form.get("go", "next"))
    index = STEPS.index(here)
    if go == "back":
        return STEPS[max(index - 1, 0)]
    if go in STEPS and STEPS.index(go) < index:
        return go
    return STEPS[min(index + 1, len(STEPS) - 1)]


def _forward(here: str, target: str) -> bool:
    return STEPS.index(target) > STEPS.index(here)


def _page(
    request: Request,
    op: Operator,
    step: str,
    job: ImportJob | None,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> Response:
    return render(
        request,
        "imports/wizard.html",
        {
            "section": "users",
            "step": step,
            "index": STEPS.index(step),
            "steps": list(zip(STEPS, STEP_TITLES, strict=True)),
            "job": job,
            "jid": ids.encode(job.id) if job else "",
            "can_write": op.actor.can_write,
            **context,
        },
        status=status,
    )


# ---------------------------------------------------------------- step 1: connect data


def _connect(
    request: Request,
    session: Session,
    op: Operator,
    job: ImportJob | None,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    limit = imports.check_size(session, actor=op.actor, declared=None)
    context = {
        "limit": limit,
        "limit_text": f"{limit // MB} MB" if limit % MB == 0 else file_size(limit),
        "recent": [] if job else imports.list_jobs(session, actor=op.actor, size=5).items,
        "error": error,
        "tz": op.workspace.time_zone,
    }
    return _page(request, op, "file", job, context, status=status)


@router.get("/new")
def new(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    return _connect(request, session, op, None)


@router.post("/new")
async def upload(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    """Refuse a body declared over the limit before reading it; then store the file."""
    declared = request.headers.get("content-length", "")
    size = max(int(declared) - FORM_ALLOWANCE, 0) if declared.isdigit() else None
    try:
        imports.check_size(session, actor=op.actor, declared=size)
    except TooLarge as exc:
        return _connect(request, session, op, None, error=exc.detail, status=exc.status)
    async with asynccontextmanager(check_csrf)(request):
        file = (await request.form()).get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            return _connect(
                request, session, op, None, error="Choose a file to import.", status=400
            )
        try:
            job = await run_in_threadpool(
                imports.upload,
                session,
                actor=op.actor,
                file_name=file.filename,
                stream=file.file,
                declared_size=file.size,
            )
        except (Invalid, TooLarge) as exc:
            session.rollback()
            return _connect(request, session, op, None, error=exc.detail, status=exc.status)
    session.commit()
    return redirect(job_url(job, "file" if len(job.sheets) > 1 else "columns"))


@router.get("/{import_id}/file")
def file_step(request: Request, session: SessionDep, op: OperatorDep, import_id: str) -> Response:
    job = load_job(session, op, import_id)
    if job.status != "draft":
        return redirect(job_url(job))
    return _connect(request, session, op, job)


@router.post("/{import_id}/file", dependencies=CSRF)
def pick_sheet(
    request: Request, session: SessionDep, op: OperatorDep, form: FormDep, import_id: str
) -> Response:
    job = load_job(session, op, import_id)
    sheet = form.get("sheet")
    if isinstance(sheet, str) and sheet and sheet != job.sheet:
        try:
            imports.configure(
                session, actor=op.actor, job_id=job.id, data=ImportConfigure(sheet=sheet)
            )
        except Invalid as exc:
            session.rollback()
            return _connect(request, session, op, job, error=exc.detail, status=400)
        session.commit()
    return redirect(job_url(job, _target(form, "file")))


# ---------------------------------------------------------------- step 2: define data


def _columns_context(
    session: Session, op: Operator, job: ImportJob, draft: import_columns.Draft
) -> dict[str, Any]:
    fields = workspace_fields(session, workspace_id=op.actor.workspace_id)
    labels = import_columns.target_labels(fields, draft.columns)
    _, outside = imports.dropped_columns(session, job)
    form = session.get(Form, (job.workspace_id, job.form_id)) if job.form_id else None
    return {
        "outside_form": outside,
        "form_name": form.name if form else "",
        "draft": draft,
        "preview": import_columns.preview(session, op, job, draft, labels),
        "system_targets": mapping.SYSTEM_TARGETS,
        "custom_fields": fields,
        "field_types": import_columns.FIELD_TYPES,
        "option_types": mapping.OPTION_TYPES,
        "new_choice": import_columns.NEW,
    }


def _columns_page(
    request: Request,
    session: Session,
    op: Operator,
    job: ImportJob,
    draft: import_columns.Draft,
    *,
    status: int = 200,
) -> Response:
    context = _columns_context(session, op, job, draft)
    import_columns.attach_samples(job, draft.columns)
    context["failed"] = status != 200
    return _page(request, op, "columns", job, context, status=status)


def _posted_columns(
    session: Session, op: Operator, job: ImportJob, form: Any
) -> import_columns.Draft:
    draft = import_columns.check(session, job, import_columns.read(job, form))
    import_columns.save(session, op, job, draft)
    session.commit()
    return draft


@router.get("/{import_id}/columns")
def columns(request: Request, session: SessionDep, op: OperatorDep, import_id: str) -> Response:
    job = load_job(session, op, import_id)
    if job.status != "draft":
        return redirect(job_url(job))
    draft = import_columns.check(session, job, import_columns.of_job(job))
    return _columns_page(request, session, op, job, draft)


@router.post("/{import_id}/columns", dependencies=CSRF)
def save_columns(
    request: Request, session: SessionDep, op: OperatorDep, form: FormDep, import_id: str
) -> Response:
    job = load_job(session, op, import_id)
    draft = _posted_columns(session, op, job, form)
    target = _target(form, "columns")
    if _forward("columns", target) and draft.problems:
        return _columns_page(request, session, op, job, draft, status=400)
    return redirect(job_url(job, target))


@router.post("/{import_id}/columns/preview", dependencies=CSRF)
def live_preview(
    request: Request, session: SessionDep, op: OperatorDep, form: FormDep, import_id: str
) -> Response:
    """Save the mapping as it is now and show the first rows as they would be stored."""
    job = load_job(session, op, import_id)
    draft = _posted_columns(session, op, job, form)
    context = {**_columns_context(session, op, job, draft), "oob": True}
    return render(request, "imports/_preview.html", context)


# ---------------------------------------------------------------- step 3: metadata


def _details_page(
    request: Request,
    session: Session,
    op: Operator,
    job: ImportJob,
    values: dict[str, str],
    problems: dict[str, str],
    *,
    status: int = 200,
) -> Response:
    context = {**import_details.context(session, op, job, values), "problems": problems}
    return _page(request, op, "details", job, context, status=status)


def _name_problem(session: Session, job: ImportJob) -> str | None:
    if not job.group_name:
        return NAME_NEEDED
    if groups.find_by_name(session, workspace_id=job.workspace_id, name=job.group_name):
        return f"A group named {job.group_name!r} already exists; choose another name."
    return None


@router.get("/{import_id}/details")
def details(request: Request, session: SessionDep, op: OperatorDep, import_id: str) -> Response:
    job = load_job(session, op, import_id)
    if job.status != "draft":
        return redirect(job_url(job))
    return _details_page(request, session, op, job, import_details.job_values(job), {})


def _posted_details(form: Any) -> dict[str, str]:
    return {name: str(form.get(name, "")).strip() for name in import_details.FIELDS}


@router.post("/{import_id}/details", dependencies=CSRF)
def save_details(
    request: Request, session: SessionDep, op: OperatorDep, form: FormDep, import_id: str
) -> Response:
    job = load_job(session, op, import_id)
    values = _posted_details(form)
    target = _target(form, "details")
    problems = import_details.save(session, op, job, values)
    if not _forward("details", target):
        return redirect(job_url(job, target))
    if not values["group_name"]:
        problems["group_name"] = NAME_NEEDED
    elif "group_name" not in problems and (taken := _name_problem(session, job)):
        problems["group_name"] = taken
    if problems:
        return _details_page(request, session, op, job, values, problems, status=400)
    return redirect(job_url(job, target))


@router.post("/{import_id}/details/columns", dependencies=CSRF)
def column_fate(
    request: Request, session: SessionDep, op: OperatorDep, form: FormDep, import_id: str
) -> Response:
    """The kept and not-stored columns for the form chosen in the select (nothing is saved)."""
    job = load_job(session, op, import_id)
    context = import_details.context(session, op, job, _posted_details(form))
    return render(request, "imports/_column_fate.html", context)


# ---------------------------------------------------------------- step 4: preview and start


@router.get("/{import_id}/review")
def review(request: Request, session: SessionDep, op: OperatorDep, import_id: str) -> Response:
    job = load_job(session, op, import_id)
    if job.status != "draft":
        return redirect(job_url(job))
    try:
        counts = imports.dry_run(session, actor=op.actor, job_id=job.id)
    except Invalid:
        session.rollback()
        return redirect(job_url(job, "columns"))
    session.rollback()  # the dry run writes nothing; this keeps it so
    form = session.get(Form, (job.workspace_id, job.form_id)) if job.form_id else None
    context = {
        "counts": counts,
        "form_name": form.name if form else "",
        "new_form": imports.new_form(job),
        "name_problem": _name_problem(session, job),
        "merge_policies": MERGE_POLICIES,
    }
    return _page(request, op, "review", job, context)


@router.post("/{import_id}/review", dependencies=CSRF)
def start(
    request: Request, session: SessionDep, op: OperatorDep, form: FormDep, import_id: str
) -> Response:
    """Keep the merge policy; on "Import", check everything, queue the job and follow it."""
    job = load_job(session, op, import_id)
    if job.status != "draft":  # started already (a second click, or Back after Import)
        return redirect(job_url(job))
    policy = form.get("merge_policy")
    if policy in MERGE_POLICIES and policy != job.merge_policy:
        data = ImportConfigure.model_validate({"merge_policy": policy})
        imports.configure(session, actor=op.actor, job_id=job.id, data=data)
        session.commit()
    if form.get("go") != "start":
        return redirect(job_url(job, _target(form, "review")))
    try:
        imports.start(session, actor=op.actor, job_id=job.id)
        session.commit()
    except (Invalid, Conflict) as exc:
        session.rollback()
        fields = [e.field for e in exc.errors] if isinstance(exc, Invalid) else []
        if any(f.startswith(("mapping", "new_fields")) for f in fields):
            draft = import_columns.check(session, job, import_columns.of_job(job))
            return _columns_page(request, session, op, job, draft, status=400)
        problems = import_details.start_problems(exc)  # the group's name, or the form
        values = import_details.job_values(job)
        return _details_page(request, session, op, job, values, problems, status=400)
    jobs.enqueue_import(job.workspace_id, job.id)
    return redirect(job_url(job))
