"""Metadata, the import wizard's third step: the new group, and the form that holds the columns.

The form is "No form" (every mapped column is kept), an existing form (a custom column outside it
is not stored), or "New form…" (made when the import starts, holding every custom column). The
panel beside the form lists which columns will be stored and which will not, and follows the
form select as it changes (`fate`), before anything is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from coterie import ids
from coterie.directory import forms
from coterie.directory.models import Form
from coterie.directory.service import workspace_fields
from coterie.errors import Conflict, Invalid, NotFound
from coterie.transfer import import_form, mapping
from coterie.transfer import service as imports
from coterie.transfer.models import ImportJob
from coterie.transfer.schemas import ImportConfigure
from coterie.web import import_columns
from coterie.web.deps import Operator

NEW_FORM = "__new__"  # the form select's "New form…"
FIELDS = (
    "group_name",
    "group_description",
    "group_tags",
    "form",
    "new_form_name",
    "new_form_description",
)


@dataclass(frozen=True)
class Fate:
    """What becomes of each column with the form chosen: kept (column, target) or not stored."""

    kept: list[tuple[str, str]]
    ignored: list[str]
    outside: list[str]  # mapped to a custom field the chosen form does not hold
    form_name: str | None  # the chosen existing form's name
    new_form: bool
    labels: dict[str, str]
    new_targets: set[str]

    @property
    def dropped(self) -> list[str]:
        return [*self.ignored, *self.outside]


def fate(session: Session, op: Operator, job: ImportJob, choice: str) -> Fate:
    """The columns kept and dropped if `choice` (a form id, NEW_FORM or "") were the form."""
    form: Form | None = None
    if choice and choice != NEW_FORM:
        try:
            form = forms.get_form(session, actor=op.actor, form_id=ids.decode(choice, what="form"))
        except (Invalid, NotFound):
            form = None
    keys = None if form is None else {f.key for f in forms.form_fields(session, form=form)}
    columns = import_form.columns(job)
    outside = mapping.outside_form(columns, keys)
    fields = workspace_fields(session, workspace_id=op.actor.workspace_id)
    return Fate(
        kept=[(h, t) for h, t in columns.items() if t and h not in outside],
        ignored=[h for h, t in columns.items() if not t],
        outside=outside,
        form_name=None if form is None else form.name,
        new_form=choice == NEW_FORM,
        labels=import_columns.target_labels(fields, import_columns.of_job(job)),
        new_targets={f"{mapping.ATTRIBUTE_PREFIX}{f['key']}" for f in job.new_fields},
    )


def job_values(job: ImportJob) -> dict[str, str]:
    waiting = import_form.waiting(job)
    choice = NEW_FORM if waiting else ids.encode(job.form_id) if job.form_id else ""
    return {
        "group_name": job.group_name or "",
        "group_description": job.group_description,
        "group_tags": ", ".join(job.group_tags),
        "form": choice,
        "new_form_name": waiting.name if waiting else (job.group_name or ""),
        "new_form_description": waiting.description if waiting else "",
    }


def context(
    session: Session, op: Operator, job: ImportJob, values: dict[str, str]
) -> dict[str, Any]:
    return {
        "values": values,
        "forms": forms.list_forms(session, actor=op.actor),
        "new_form_choice": NEW_FORM,
        "fate": fate(session, op, job, values["form"]),
    }


_PROBLEM_OF = {"new_form.name": "new_form_name", "new_form": "form", "form_id": "form"}


def _problem_key(field: str) -> str:
    return _PROBLEM_OF.get(field, field.split(".")[0])


def save(session: Session, op: Operator, job: ImportJob, values: dict[str, str]) -> dict[str, str]:
    """Keep the posted metadata on the draft job; the problems by input name (nothing is kept
    when there are any)."""
    choice = values["form"]
    if choice == NEW_FORM and not values["new_form_name"]:
        session.rollback()
        return {"new_form_name": "Name the new form."}
    problems: dict[str, str] = {}
    try:
        data = ImportConfigure.model_validate(
            {
                "group_name": values["group_name"] or None,
                "group_description": values["group_description"],
                "group_tags": [t for t in values["group_tags"].split(",") if t.strip()],
                "form_id": None if choice in ("", NEW_FORM) else choice,
                "new_form": {
                    "name": values["new_form_name"],
                    "description": values["new_form_description"],
                }
                if choice == NEW_FORM
                else None,
            }
        )
        imports.configure(session, actor=op.actor, job_id=job.id, data=data)
    except ValidationError as exc:
        for error in exc.errors():
            location = ".".join(str(part) for part in error["loc"])
            problems.setdefault(_problem_key(location), str(error["msg"]))
    except Invalid as exc:
        for found in exc.errors or []:
            problems.setdefault(_problem_key(found.field), found.message)
        problems = problems or {"form": exc.detail}
    except (Conflict, NotFound) as exc:
        field = str(exc.extra.get("field", "form_id"))
        problems[_problem_key(field)] = exc.detail
    if problems:
        session.rollback()
    else:
        session.commit()
    return problems


def start_problems(exc: Invalid | Conflict) -> dict[str, str]:
    """Start's refusal, by the step-3 input it concerns (the group's name unless it names one)."""
    if isinstance(exc, Invalid) and exc.errors:
        first = exc.errors[0]
        return {_problem_key(first.field): first.message}
    field = str(exc.extra.get("field", "group_name"))
    return {_problem_key(field): exc.detail}
