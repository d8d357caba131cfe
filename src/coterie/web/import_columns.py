"""Define data, the import wizard's second step: which column becomes which field of a person.

The step is a form with one row per column of the file (its header, a few of its values and a
select of targets, "New custom field…" revealing that field's key, label and type). Every change
is saved to the draft job at once and answered with a live preview of the first rows as they will
be stored, so the page, a reload and the next steps always agree with what Import would do.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from coterie.directory.models import Field
from coterie.directory.service import workspace_fields
from coterie.errors import CoterieError, FieldError, Invalid
from coterie.rules import FieldType
from coterie.transfer import import_form, mapping, readers
from coterie.transfer import service as imports
from coterie.transfer.models import ImportJob
from coterie.transfer.schemas import ImportConfigure, NewFieldInput, PreviewRow
from coterie.web.deps import Operator

NEW = "__new__"  # the select's "New custom field…"
SAMPLE_ROWS = 8  # rows of the live preview
SAMPLE_VALUES = 3  # values shown next to each column
FIELD_TYPES = {
    "text": "Text",
    "number": "Number",
    "integer": "Whole number",
    "boolean": "Yes / No",
    "date": "Date",
    "datetime": "Date and time",
    "enum": "One of a list",
    "multi_enum": "Several of a list",
    "phone": "Phone",
    "email": "Email",
    "url": "Link (URL)",
}
_NOT_KEY = re.compile(r"[^a-z0-9]+")


def key_of(header: str) -> str:
    """A custom field key made from a column's header ("Plan tier" -> plan_tier)."""
    plain = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    key = _NOT_KEY.sub("_", plain).strip("_")[:64] or "field"
    return key if key[0].isalpha() else f"f_{key}"[:64]


@dataclass
class Column:
    """One row of the step: a column of the file and what it becomes."""

    index: int
    header: str
    choice: str  # "" (not imported), a system target, attributes.<key>, or NEW
    new: dict[str, str]  # key, label, type, description, options of a new field
    samples: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Draft:
    """The step's state: its columns and what is wrong with their mapping."""

    columns: list[Column]
    problems: list[str] = field(default_factory=list)  # at the top, each naming its column
    blocking: bool = False  # the mapping cannot even be previewed (a target twice, a bad key)
    data: ImportConfigure | None = None  # what `configure` takes, unless the input is unusable

    def build(self) -> ImportConfigure:
        targets: dict[str, str | None] = {}
        new_fields = []
        for column in self.columns:
            if column.choice == NEW:
                new = column.new
                options = [o.strip() for o in new["options"].split(",") if o.strip()]
                new_fields.append(
                    NewFieldInput(
                        key=new["key"],
                        label=new["label"],
                        type=FieldType(new["type"]),
                        description=new["description"],
                        options=options if new["type"] in mapping.OPTION_TYPES else [],
                    )
                )
                targets[column.header] = f"{mapping.ATTRIBUTE_PREFIX}{new['key']}"
            else:
                targets[column.header] = column.choice or None
        return ImportConfigure(mapping=targets, new_fields=new_fields)


def _new_defaults(header: str) -> dict[str, str]:
    return {"key": key_of(header), "label": header[:200], "type": "text", "description": ""}


def of_job(job: ImportJob) -> list[Column]:
    """The columns as the job has them mapped (a new field shows as "New custom field…")."""
    created = {f["key"]: f for f in job.new_fields}
    columns = []
    for index, header in enumerate(job.headers):
        target = job.mapping.get(header) or ""
        new = {**_new_defaults(header), "options": ""}
        key = target.removeprefix(mapping.ATTRIBUTE_PREFIX)
        if target.startswith(mapping.ATTRIBUTE_PREFIX) and key in created:
            spec = created[key]
            new.update(
                key=key,
                label=spec["label"],
                type=spec["type"],
                description=spec.get("description", ""),
                options=", ".join(spec.get("options", [])),
            )
            target = NEW
        columns.append(Column(index, header, target, new))
    return columns


def read(job: ImportJob, form: FormData) -> list[Column]:
    """The columns as posted; blank key or label of a new field fall back to the header's."""

    def text(name: str, limit: int) -> str:
        value = form.get(name)
        return value.strip()[:limit] if isinstance(value, str) else ""

    columns = []
    for index, header in enumerate(job.headers):
        defaults = _new_defaults(header)
        kind = text(f"new_type.{index}", 16)
        new = {
            "key": text(f"new_key.{index}", 64) or defaults["key"],
            "label": text(f"new_label.{index}", 200) or defaults["label"],
            "type": kind if kind in FIELD_TYPES else "text",
            "description": text(f"new_description.{index}", 2000),
            "options": text(f"new_options.{index}", 4000),
        }
        columns.append(Column(index, header, text(f"map.{index}", 200), new))
    return columns


def check(session: Session, job: ImportJob, columns: list[Column]) -> Draft:
    """Every problem of the mapping, each one on its column too."""
    draft = Draft(columns)
    fields = workspace_fields(session, workspace_id=job.workspace_id)
    try:
        data = draft.data = draft.build()
    except ValidationError as exc:
        draft.blocking = True
        draft.problems = [str(e["msg"]) for e in exc.errors()]
        return draft
    news = [c for c in columns if c.choice == NEW]
    targets = data.mapping or {}
    new_fields = [
        mapping.NewField(f.key, f.label, f.type.value, f.description, tuple(f.options))
        for f in data.new_fields or []
    ]
    found = mapping.problems(targets, job.headers, fields, new_fields)
    draft.blocking = bool(found)
    try:
        mapping.check(targets, job.headers, fields, new_fields)
    except Invalid as exc:
        found = exc.errors
    by_header = {c.header: c for c in columns}
    for problem in found:
        column = _column_of(problem, by_header, news)
        if column is None:
            draft.problems.append(problem.message)
            continue
        column.error = column.error or problem.message
        draft.problems.append(f"{column.header}: {problem.message}")
    return draft


def _column_of(
    problem: FieldError, by_header: dict[str, Column], news: list[Column]
) -> Column | None:
    if problem.field.startswith("mapping."):
        return by_header.get(problem.field.removeprefix("mapping."))
    if problem.field.startswith("new_fields."):
        index = problem.field.split(".")[1]
        return news[int(index)] if index.isdigit() and int(index) < len(news) else None
    return None


def save(session: Session, op: Operator, job: ImportJob, draft: Draft) -> None:
    """Keep the posted mapping on the draft job, whatever its problems (they are shown)."""
    if draft.data is not None:
        imports.configure(session, actor=op.actor, job_id=job.id, data=draft.data)


def attach_samples(job: ImportJob, columns: list[Column]) -> None:
    """A few values of each column, as they are in the file, to recognise what it holds."""
    rows = readers.rows(imports.file_path(job), imports.source_of(job))
    for row in list(islice(rows, 20)):  # the reader closes the file as `rows` is dropped
        for column, cell in zip(columns, row.cells, strict=True):
            if cell not in (None, "") and len(column.samples) < SAMPLE_VALUES:
                text = cell.isoformat() if hasattr(cell, "isoformat") else str(cell)
                column.samples.append(text)


def target_labels(fields: list[Field], columns: list[Column]) -> dict[str, str]:
    """The name each target goes by in the select and the preview's headers."""
    labels = dict(mapping.SYSTEM_TARGETS)
    labels.update({f"{mapping.ATTRIBUTE_PREFIX}{f.key}": f.label for f in fields})
    for column in columns:
        if column.choice == NEW:
            labels[f"{mapping.ATTRIBUTE_PREFIX}{column.new['key']}"] = column.new["label"]
    return labels


@dataclass(frozen=True)
class Preview:
    """The first rows as they will be stored; `problem` says why there are none to show."""

    headers: list[tuple[str, str]]  # (column, target label) of the columns imported
    rows: list[PreviewRow]
    problem: str | None = None
    # Whether each row says if it would be imported: not while the mapping lacks a name or a
    # contact column, when every row would say so (the problems at the top already do).
    verdicts: bool = True

    def cell(self, row: PreviewRow, header: str) -> Any:
        return next((c for c in row.cells if c.header == header), None)


def preview(
    session: Session, op: Operator, job: ImportJob, draft: Draft, labels: dict[str, str]
) -> Preview:
    kept = import_form.kept_mapping(session, job)  # without the columns outside the form
    shown = [
        (c.header, labels.get(kept.get(c.header) or "", c.header))
        for c in draft.columns
        if kept.get(c.header)
    ]
    if draft.blocking:
        return Preview(shown, [], "Fix the problems above to see how the rows will be stored.")
    if not shown:
        return Preview(shown, [], "Choose what at least one column becomes to see the preview.")
    try:
        rows = imports.sample(session, actor=op.actor, job_id=job.id, rows=SAMPLE_ROWS)
    except CoterieError as exc:
        return Preview(shown, [], exc.detail)
    return Preview(shown, rows, verdicts=not draft.problems)
