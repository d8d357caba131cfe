"""The form of an import: attached (an existing form) or new (made when the import starts).

The form decides which custom columns are kept: with a form, a column mapped to a custom field
the form does not hold is not stored (and is named as such before the import starts); a new form
holds every custom column the mapping fills. Without a form every mapped column is kept.

A new form waits on the draft job (`import_jobs.new_form`) until `start`, which makes it in the
same transaction as the new fields and the queued job, so an import that never starts leaves no
form behind.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.directory import forms
from coterie.directory.models import Form
from coterie.directory.schemas import FormCreate
from coterie.errors import Conflict, Invalid
from coterie.transfer import mapping
from coterie.transfer.models import ImportJob
from coterie.transfer.schemas import NewFormInput, NewFormRead

NO_FIELDS = "The new form would hold no fields: map a column to a custom field, or choose no form"


def columns(job: ImportJob) -> mapping.Mapping:
    """The job's mapping in the file's column order (PostgreSQL's JSONB keeps no key order)."""
    return {header: job.mapping.get(header) for header in job.headers}


def waiting(job: ImportJob) -> NewFormInput | None:
    """The form the import will create when it starts, if any."""
    return None if job.new_form is None else NewFormInput.model_validate(job.new_form)


def store(job: ImportJob, *, form: NewFormInput | None) -> None:
    """Keep the form waiting to be made (or none)."""
    job.new_form = None if form is None else form.model_dump(mode="json")


def _name_taken(session: Session, *, actor: Actor, name: str) -> bool:
    return any(f.name == name for f in forms.list_forms(session, actor=actor))


def choose(
    session: Session,
    *,
    actor: Actor,
    job: ImportJob,
    form_id: str | None,
    new_form: NewFormInput | None,
) -> None:
    """Attach an existing form, or ask for a new one (checked now, made at start), or neither."""
    if form_id and new_form is not None:
        raise Invalid("Attach an existing form or create a new one, not both", field="form_id")
    job.form_id = None
    if form_id:
        job.form_id = forms.get_form(
            session, actor=actor, form_id=ids.decode(form_id, what="form")
        ).id
    if new_form is not None:
        if _name_taken(session, actor=actor, name=new_form.name):
            raise Conflict(f"A form named {new_form.name!r} already exists", field="new_form.name")
        if not mapping.custom_keys(columns(job)):
            raise Invalid(NO_FIELDS, field="new_form")
    store(job, form=new_form)


def keys(session: Session, job: ImportJob) -> set[str] | None:
    """The custom field keys the import's form holds; None when every custom column is kept
    (no form, or a new form, which holds them all)."""
    if job.form_id is None:
        return None
    form = session.get(Form, (job.workspace_id, job.form_id))
    if form is None:  # deleted since it was attached: `start` refuses that
        return set()
    return {f.key for f in forms.form_fields(session, form=form)}


def kept_mapping(session: Session, job: ImportJob) -> mapping.Mapping:
    """The mapping the import carries out, without the columns its form leaves out."""
    return mapping.kept(columns(job), keys(session, job))


def read(job: ImportJob) -> NewFormRead | None:
    form = waiting(job)
    if form is None:
        return None
    return NewFormRead(
        name=form.name, description=form.description, fields=mapping.custom_keys(columns(job))
    )


def check_attached(session: Session, *, actor: Actor, job: ImportJob) -> None:
    if job.form_id is not None and session.get(Form, (actor.workspace_id, job.form_id)) is None:
        raise Invalid(
            "The form attached to this import no longer exists: choose another", field="form_id"
        )


def make(session: Session, *, actor: Actor, job: ImportJob) -> None:
    """At start (after the new fields exist): make the waiting form and attach it."""
    form = waiting(job)
    if form is None:
        return
    fields = mapping.custom_keys(columns(job))
    if not fields:
        raise Invalid(NO_FIELDS, field="new_form")
    if _name_taken(session, actor=actor, name=form.name):
        raise Conflict(f"A form named {form.name!r} already exists", field="new_form.name")
    data = FormCreate(name=form.name, description=form.description, fields=fields)
    job.form_id = forms.create_form(session, actor=actor, data=data).id
    store(job, form=None)
