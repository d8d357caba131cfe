"""Import jobs: upload a file, configure the mapping and the group, preview, start, report.

The flow's steps (DESIGN.md section 2, issue 4) map to functions: `upload` (connect data),
`configure` and `sample` (define data, metadata), `dry_run` (preview counts, nothing written),
`start` (creates the new custom fields and the new form, and queues the job that `runner.run`
carries out). The runner reads the job's mapping as `start` leaves it: the columns the import's
form leaves out are ignored ones by then (`import_form`).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import ids, uploads
from coterie.actor import Actor
from coterie.directory import forms
from coterie.directory.export import neutralize
from coterie.directory.models import Field
from coterie.directory.schemas import FieldCreate
from coterie.directory.service import require_write, workspace_fields
from coterie.errors import Conflict, Invalid, NotFound
from coterie.events import service as audit
from coterie.groups import service as groups
from coterie.pagination import Page, SortKey, paginate
from coterie.settings import get_settings
from coterie.transfer import import_form, mapping, readers
from coterie.transfer.matching import Matcher
from coterie.transfer.models import ImportJob, ImportRow
from coterie.transfer.normalize import RowNormalizer
from coterie.transfer.schemas import (
    DryRunRead,
    ImportConfigure,
    NewFormRead,
    PreviewCell,
    PreviewRow,
)
from coterie.workspaces import service as workspaces

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]")
EXPANSION_LIMIT = 1024 * 1024 * 1024  # what a spreadsheet may unpack to (zip bombs are refused)
BATCH = 2_000
_COUNTED = {"new": "new", "existing": "existing", "duplicate": "duplicates"}


def imports_root() -> Path:
    return get_settings().data_dir / "imports"


def file_path(job: ImportJob) -> Path:
    return imports_root() / job.storage_key


def get(session: Session, *, actor: Actor, job_id: int) -> ImportJob:
    job = session.get(ImportJob, (actor.workspace_id, job_id))
    if job is None:
        raise NotFound(f"No import with id {ids.encode(job_id)}")
    return job


def list_jobs(
    session: Session, *, actor: Actor, size: int = 25, cursor: str | None = None
) -> Page[ImportJob]:
    stmt = select(ImportJob).where(ImportJob.workspace_id == actor.workspace_id)
    key = SortKey(ImportJob.__table__.c.created_at, nullable=False, name="created_at")
    return paginate(
        session,
        stmt,
        key=key,
        row_id=ImportJob.__table__.c.id,
        descending=True,
        size=size,
        cursor=cursor,
    )


def check_size(session: Session, *, actor: Actor, declared: int | None) -> int:
    """The workspace's upload limit; a declared size over it is refused before reading a byte."""
    limit = workspaces.get(session, workspace_id=actor.workspace_id).upload_limit_bytes
    if declared is not None and declared > limit:
        raise uploads.too_large(limit)
    return limit


def upload(
    session: Session,
    *,
    actor: Actor,
    file_name: str,
    stream: BinaryIO,
    declared_size: int | None = None,
) -> ImportJob:
    """Store the file, recognise its format and headers, and suggest a mapping (a draft job)."""
    require_write(actor)
    limit = check_size(session, actor=actor, declared=declared_size)
    name = _UNSAFE.sub("_", Path(file_name or "upload").name)[:200] or "upload"
    key = f"{ids.encode(actor.workspace_id)}/{secrets.token_hex(16)}"
    target = imports_root() / key
    saved = uploads.save(stream, target, limit=limit)
    try:
        source, headers = readers.detect(target, file_name=name, max_expanded_bytes=EXPANSION_LIMIT)
        fields = workspace_fields(session, workspace_id=actor.workspace_id)
        job = ImportJob(
            workspace_id=actor.workspace_id,
            id=ids.new_id(),
            file_name=name,
            file_format=source.format,
            file_size=saved.size,
            file_sha256=saved.sha256,
            storage_key=key,
            encoding=source.encoding,
            delimiter=source.delimiter,
            sheet=source.sheet,
            sheets=list(source.sheets),
            headers=headers,
            mapping=mapping.suggest(headers, fields),
            new_fields=[],
            group_tags=[],
            counts={},
            group_name=Path(name).stem[:200] or "Import",
            created_by_id=actor.user_id,
            created_by_label=actor.label[:200],
        )
        session.add(job)
        session.flush()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    audit.record(
        session,
        actor=actor,
        action="import.uploaded",
        target_type="import",
        target_id=job.id,
        target_label=name,
        after={"file_name": name, "size": saved.size, "format": source.format},
    )
    return job


def source_of(job: ImportJob) -> readers.Source:
    return readers.Source(
        format=job.file_format,  # type: ignore[arg-type]
        encoding=job.encoding,
        delimiter=job.delimiter,
        sheets=tuple(job.sheets),
        sheet=job.sheet,
    )


def new_fields(job: ImportJob) -> list[mapping.NewField]:
    return [
        mapping.NewField(
            key=f["key"],
            label=f["label"],
            type=f["type"],
            description=f.get("description", ""),
            options=tuple(f.get("options", ())),
        )
        for f in job.new_fields
    ]


def dropped_columns(session: Session, job: ImportJob) -> tuple[list[str], list[str]]:
    """The columns whose data will not be stored, and those of them outside the job's form.
    Once started, the job's mapping has them all as ignored columns (the form may change)."""
    keys = import_form.keys(session, job) if job.status == "draft" else None
    columns = import_form.columns(job)
    return mapping.dropped(columns, keys), mapping.outside_form(columns, keys)


def new_form(job: ImportJob) -> NewFormRead | None:
    """The form the import will create when it starts."""
    return import_form.read(job)


def _require_draft(job: ImportJob) -> None:
    if job.status != "draft":
        raise Conflict(f"This import is {job.status}; only a draft can change", field="status")


def configure(session: Session, *, actor: Actor, job_id: int, data: ImportConfigure) -> ImportJob:
    """Change the sheet, the mapping, new fields, the merge policy or the group's details."""
    require_write(actor)
    job = get(session, actor=actor, job_id=job_id)
    _require_draft(job)
    given = data.model_fields_set
    fields = workspace_fields(session, workspace_id=actor.workspace_id)
    if "sheet" in given and data.sheet and data.sheet != job.sheet:
        source, job.headers = readers.detect(
            file_path(job),
            file_name=job.file_name,
            sheet=data.sheet,
            max_expanded_bytes=EXPANSION_LIMIT,
        )
        job.sheet = source.sheet
        job.mapping = mapping.suggest(job.headers, fields)
    if data.new_fields is not None:
        job.new_fields = [f.model_dump(mode="json") for f in data.new_fields]
    if data.mapping is not None:
        job.mapping = {header: data.mapping.get(header) for header in job.headers}
        unknown = [h for h in data.mapping if h not in job.headers]
        if unknown:
            raise Invalid(f"The file has no column {unknown[0]!r}", field=f"mapping.{unknown[0]}")
    if data.merge_policy is not None:
        job.merge_policy = data.merge_policy
    if data.group_name is not None:
        job.group_name = data.group_name
    if data.group_description is not None:
        job.group_description = data.group_description
    if data.group_tags is not None:
        job.group_tags = list(dict.fromkeys(t.strip() for t in data.group_tags if t.strip()))
    if given & {"form_id", "new_form"}:
        import_form.choose(
            session, actor=actor, job=job, form_id=data.form_id, new_form=data.new_form
        )
    session.flush()
    return job


def check_mapping(session: Session, *, job: ImportJob) -> list[Field]:
    fields = workspace_fields(session, workspace_id=job.workspace_id)
    mapping.check(job.mapping, job.headers, fields, new_fields(job))
    return fields


def _normalizer(session: Session, job: ImportJob, fields: list[Field]) -> RowNormalizer:
    region = workspaces.get(session, workspace_id=job.workspace_id).default_region
    kept = import_form.kept_mapping(session, job)
    return RowNormalizer(kept, job.headers, fields, new_fields(job), region=region)


def sample(session: Session, *, actor: Actor, job_id: int, rows: int = 10) -> list[PreviewRow]:
    """The first rows as they would be stored, each cell normalized or with its error."""
    job = get(session, actor=actor, job_id=job_id)
    fields = workspace_fields(session, workspace_id=actor.workspace_id)
    normalize = _normalizer(session, job, fields)
    kept = import_form.kept_mapping(session, job)
    shown: list[PreviewRow] = []
    for row in readers.rows(file_path(job), source_of(job)):
        if len(shown) >= rows:
            break
        result = normalize(row.cells)
        problems: dict[str, str] = {}
        for header, message in result.errors:
            problems.setdefault(header, message)
        cells = []
        for header, raw in zip(job.headers, row.cells, strict=True):
            target = kept.get(header)
            value = _stored(result.values, target) if target else raw
            cells.append(PreviewCell(header=header, target=target, value=_jsonable(value),
                                     error=problems.get(header)))  # fmt: skip
        errors = [f"{h}: {m}" for h, m in result.errors if h not in job.headers]
        if row.problem:
            errors.insert(0, row.problem)
        shown.append(PreviewRow(number=row.number, cells=cells, errors=errors))
    return shown


def _stored(values: dict[str, object], target: str) -> object:
    if target.startswith("attributes."):
        attributes = values.get("attributes")
        if not isinstance(attributes, dict):
            return None
        return attributes.get(target.removeprefix("attributes."))
    return values.get(target)


def _jsonable(value: object) -> object:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def dry_run(session: Session, *, actor: Actor, job_id: int) -> DryRunRead:
    """Counts over the whole file before anything is written (the flow's preview step)."""
    job = get(session, actor=actor, job_id=job_id)
    fields = check_mapping(session, job=job)
    normalize = _normalizer(session, job, fields)
    matcher = Matcher(session, workspace_id=actor.workspace_id, remember_hashes=True)
    counts = {"rows": 0, "valid": 0, "invalid": 0, "new": 0, "existing": 0, "duplicates": 0}
    reasons: dict[str, int] = {}
    batch: list[readers.Row] = []

    def flush() -> None:
        matches = matcher.match([normalize(row.cells) for row in batch])
        for row, match in zip(batch, matches, strict=True):
            counts["rows"] += 1
            reason = row.problem or (match.reason if match.kind == "rejected" else None)
            if reason is not None:
                counts["invalid"] += 1
                key = reason.split(":")[0] if match.kind == "rejected" else "ragged row"
                reasons[key] = reasons.get(key, 0) + 1
                continue
            counts["valid"] += 1
            counts[_COUNTED[match.kind]] += 1
        batch.clear()

    for row in readers.rows(file_path(job), source_of(job)):
        batch.append(row)
        if len(batch) == BATCH:
            flush()
    flush()
    ordered = dict(sorted(reasons.items(), key=lambda item: -item[1]))
    dropped, outside = dropped_columns(session, job)
    return DryRunRead(**counts, reasons=ordered, dropped_columns=dropped, outside_form=outside)


def start(session: Session, *, actor: Actor, job_id: int) -> ImportJob:
    """Check everything; create the new custom fields the import keeps and the new form; drop
    the columns the form leaves out from the mapping; queue the job (status `queued`)."""
    require_write(actor)
    job = get(session, actor=actor, job_id=job_id)
    _require_draft(job)
    check_mapping(session, job=job)
    if not job.group_name:
        raise Invalid("The import makes a group: give it a name", field="group_name")
    if groups.find_by_name(session, workspace_id=actor.workspace_id, name=job.group_name):
        raise Conflict(f"A group named {job.group_name!r} already exists", field="group_name")
    import_form.check_attached(session, actor=actor, job=job)
    dropped, _ = dropped_columns(session, job)
    job.mapping = import_form.kept_mapping(session, job)
    stored = set(mapping.custom_keys(job.mapping))
    job.new_fields = [f for f in job.new_fields if f["key"] in stored]
    for field in new_fields(job):
        data = FieldCreate(key=field.key, label=field.label, type=field.type,
                           description=field.description, options=list(field.options))  # fmt: skip
        forms.create_field(session, actor=actor, data=data)
    import_form.make(session, actor=actor, job=job)
    job.status = "queued"
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="import.started",
        target_type="import",
        target_id=job.id,
        target_label=job.file_name,
        after={
            "mapping": job.mapping,
            "not_stored": dropped,
            "merge_policy": job.merge_policy,
            "group": job.group_name,
            "form_id": ids.encode(job.form_id) if job.form_id else None,
        },
    )
    return job


def rejected_csv(session: Session, *, actor: Actor, job_id: int) -> Iterator[str]:
    """The rows that were not imported, as in the file, with the reason per row."""
    job = get(session, actor=actor, job_id=job_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "reason", *job.headers])
    yield buffer.getvalue()
    stmt = (
        select(ImportRow)
        .where(
            ImportRow.workspace_id == job.workspace_id,
            ImportRow.job_id == job.id,
            ImportRow.outcome == "rejected",
        )
        .order_by(ImportRow.row_number)
        .execution_options(yield_per=BATCH)
    )
    for rows in session.scalars(stmt).partitions():
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            cells = ["" if v is None else neutralize(str(v)) for v in row.values or []]
            writer.writerow([row.row_number, neutralize(row.reason or ""), *cells])
        yield buffer.getvalue()
