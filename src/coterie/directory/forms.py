"""Custom fields and the forms that group them (the workspace's attribute schema)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.directory.fields import KEY_PATTERN
from coterie.directory.models import Field, Form, FormField
from coterie.directory.schemas import (
    FieldCreate,
    FieldRead,
    FieldUpdate,
    FormCreate,
    FormRead,
    FormUpdate,
)
from coterie.directory.service import require_write, workspace_fields
from coterie.errors import Conflict, Invalid, NotFound
from coterie.events import service as audit
from coterie.rules import FieldType
from coterie.workspaces import service as workspaces

_WITH_OPTIONS = (FieldType.ENUM, FieldType.MULTI_ENUM)


def field_read(field: Field) -> FieldRead:
    return FieldRead(
        id=ids.encode(field.id),
        key=field.key,
        label=field.label,
        type=field.type,
        description=field.description,
        options=list(field.options),
    )


def _check_options(kind: FieldType, options: list[str]) -> list[str]:
    cleaned = [o.strip() for o in options]
    if kind in _WITH_OPTIONS:
        if not cleaned or any(not o for o in cleaned):
            raise Invalid("An enum field needs a list of non-empty options", field="options")
        if len(set(cleaned)) != len(cleaned):
            raise Invalid("Options must be unique", field="options")
    elif cleaned:
        raise Invalid(f"A {kind.value} field takes no options", field="options")
    return cleaned


def list_fields(session: Session, *, actor: Actor) -> list[Field]:
    return workspace_fields(session, workspace_id=actor.workspace_id)


def get_field(session: Session, *, actor: Actor, field_id: int) -> Field:
    field = session.get(Field, (actor.workspace_id, field_id))
    if field is None:
        raise NotFound(f"No field with id {ids.encode(field_id)}")
    return field


def statistics_name(key: str) -> str:
    """A name within PostgreSQL's 63 characters, unique per key."""
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    return f"users_attr_{key[:40]}_{digest}"


def _ensure_statistics(session: Session, key: str) -> None:
    """Let PostgreSQL's planner estimate filters on this custom field.

    Without statistics on `attributes->>'key'` it guesses that almost no one matches and scans
    the whole table for every page; with them it walks the sort index (docs/performance.md).
    The statistics are table-wide, shared by every workspace with a field of this key.
    """
    if session.get_bind().dialect.name != "postgresql" or not KEY_PATTERN.match(key):
        return
    session.execute(
        text(
            f'CREATE STATISTICS IF NOT EXISTS "{statistics_name(key)}" '
            f"ON ((attributes ->> '{key}')) FROM users"
        )
    )


def create_field(session: Session, *, actor: Actor, data: FieldCreate) -> Field:
    require_write(actor)
    options = _check_options(data.type, data.options)
    exists = session.scalar(
        select(Field).where(Field.workspace_id == actor.workspace_id, Field.key == data.key)
    )
    if exists is not None:
        raise Conflict(f"A field with key {data.key!r} already exists", field="key")
    field = Field(
        workspace_id=actor.workspace_id,
        key=data.key,
        label=data.label,
        type=data.type.value,
        description=data.description,
        options=options,
    )
    session.add(field)
    session.flush()
    _ensure_statistics(session, field.key)
    workspaces.rules_changed(session, workspace_id=actor.workspace_id)
    audit.record(
        session,
        actor=actor,
        action="field.created",
        target_type="field",
        target_id=field.id,
        target_label=field.key,
        after=field_read(field).model_dump(),
    )
    return field


def update_field(session: Session, *, actor: Actor, field_id: int, data: FieldUpdate) -> Field:
    """Label, description and options can change; key and type cannot (values depend on them)."""
    require_write(actor)
    field = get_field(session, actor=actor, field_id=field_id)
    before = field_read(field).model_dump()
    values = data.model_dump(exclude_unset=True)
    if "options" in values:
        values["options"] = _check_options(FieldType(field.type), values["options"] or [])
    for name, value in values.items():
        if value is not None:
            setattr(field, name, value)
    workspaces.rules_changed(session, workspace_id=actor.workspace_id)
    session.flush()
    old, new = audit.changes(before, field_read(field).model_dump())
    audit.record(
        session,
        actor=actor,
        action="field.updated",
        target_type="field",
        target_id=field.id,
        target_label=field.key,
        before=old,
        after=new,
    )
    return field


def delete_field(session: Session, *, actor: Actor, field_id: int) -> None:
    """Removes the field from forms; stored values stay in attributes but are no longer shown."""
    require_write(actor)
    field = get_field(session, actor=actor, field_id=field_id)
    audit.record(
        session,
        actor=actor,
        action="field.deleted",
        target_type="field",
        target_id=field.id,
        target_label=field.key,
        before=field_read(field).model_dump(),
    )
    session.delete(field)
    workspaces.rules_changed(session, workspace_id=actor.workspace_id)
    session.flush()


def form_fields(session: Session, *, form: Form) -> list[Field]:
    stmt = (
        select(Field)
        .join(
            FormField,
            (FormField.workspace_id == Field.workspace_id) & (FormField.field_id == Field.id),
        )
        .where(FormField.workspace_id == form.workspace_id, FormField.form_id == form.id)
        .order_by(FormField.position)
    )
    return list(session.scalars(stmt))


def form_read(session: Session, form: Form) -> FormRead:
    return FormRead(
        id=ids.encode(form.id),
        name=form.name,
        description=form.description,
        fields=[field_read(f) for f in form_fields(session, form=form)],
    )


def list_forms(session: Session, *, actor: Actor) -> Sequence[Form]:
    return session.scalars(
        select(Form).where(Form.workspace_id == actor.workspace_id).order_by(Form.name)
    ).all()


def get_form(session: Session, *, actor: Actor, form_id: int) -> Form:
    form = session.get(Form, (actor.workspace_id, form_id))
    if form is None:
        raise NotFound(f"No form with id {ids.encode(form_id)}")
    return form


def _fields_by_key(session: Session, *, actor: Actor, keys: list[str]) -> dict[str, Field]:
    """The fields named by `keys`, checked before anything is written."""
    by_key = {f.key: f for f in workspace_fields(session, workspace_id=actor.workspace_id)}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        raise Invalid(f"No custom field named {', '.join(map(repr, unknown))}", field="fields")
    if len(set(keys)) != len(keys):
        raise Invalid("A field can appear only once in a form", field="fields")
    return by_key


def _set_fields(
    session: Session, *, actor: Actor, form: Form, keys: list[str], by_key: dict[str, Field]
) -> None:
    for link in session.scalars(
        select(FormField).where(
            FormField.workspace_id == actor.workspace_id, FormField.form_id == form.id
        )
    ):
        session.delete(link)
    session.flush()
    for position, key in enumerate(keys):
        session.add(
            FormField(
                workspace_id=actor.workspace_id,
                form_id=form.id,
                field_id=by_key[key].id,
                position=position,
            )
        )


def _unique_name(session: Session, *, actor: Actor, name: str, exclude: int | None) -> None:
    stmt = select(Form.id).where(Form.workspace_id == actor.workspace_id, Form.name == name)
    found = session.scalar(stmt)
    if found is not None and found != exclude:
        raise Conflict(f"A form named {name!r} already exists", field="name")


def create_form(session: Session, *, actor: Actor, data: FormCreate) -> Form:
    require_write(actor)
    _unique_name(session, actor=actor, name=data.name, exclude=None)
    by_key = _fields_by_key(session, actor=actor, keys=data.fields)
    form = Form(workspace_id=actor.workspace_id, name=data.name, description=data.description)
    session.add(form)
    session.flush()
    _set_fields(session, actor=actor, form=form, keys=data.fields, by_key=by_key)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="form.created",
        target_type="form",
        target_id=form.id,
        target_label=form.name,
        after=form_read(session, form).model_dump(),
    )
    return form


def update_form(session: Session, *, actor: Actor, form_id: int, data: FormUpdate) -> Form:
    require_write(actor)
    form = get_form(session, actor=actor, form_id=form_id)
    before = form_read(session, form).model_dump()
    by_key = _fields_by_key(session, actor=actor, keys=data.fields or [])
    if data.name is not None:
        _unique_name(session, actor=actor, name=data.name, exclude=form.id)
        form.name = data.name
    if data.description is not None:
        form.description = data.description
    if data.fields is not None:
        _set_fields(session, actor=actor, form=form, keys=data.fields, by_key=by_key)
    session.flush()
    old, new = audit.changes(before, form_read(session, form).model_dump())
    audit.record(
        session,
        actor=actor,
        action="form.updated",
        target_type="form",
        target_id=form.id,
        target_label=form.name,
        before=old,
        after=new,
    )
    return form


def delete_form(session: Session, *, actor: Actor, form_id: int) -> None:
    require_write(actor)
    form = get_form(session, actor=actor, form_id=form_id)
    audit.record(
        session,
        actor=actor,
        action="form.deleted",
        target_type="form",
        target_id=form.id,
        target_label=form.name,
        before=form_read(session, form).model_dump(),
    )
    session.delete(form)
    session.flush()
