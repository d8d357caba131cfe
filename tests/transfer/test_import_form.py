"""The form of an import (step 3): attach one or create one; columns outside it are not stored."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from coterie import actor as actors
from coterie import ids, settings
from coterie.actor import Actor
from coterie.directory import forms
from coterie.directory.models import Field, Form, User
from coterie.directory.schemas import FieldCreate, FormCreate
from coterie.errors import Conflict, Invalid, NotFound
from coterie.groups.models import GroupForm
from coterie.transfer import service as imports
from coterie.transfer.models import ImportJob
from coterie.transfer.schemas import ImportConfigure, NewFieldInput, NewFormInput
from coterie.workspaces import service as workspaces
from tests.transfer.test_import_flow import data_dir, make_session, run, upload

__all__ = ["data_dir", "make_session"]  # fixtures used here

CSV = (
    "Name,Email,Score,Plan tier,Notes\n"
    "Ann Lee,ann@example.com,7,gold,met at the booth\n"
    "Bob Roe,bob@example.com,not a number,silver,\n"
)
MAPPING = {
    "Name": "full_name",
    "Email": "email",
    "Score": "attributes.score",
    "Plan tier": "attributes.plan_tier",
    "Notes": None,
}
PLAN_TIER = NewFieldInput.model_validate(
    {"key": "plan_tier", "label": "Plan tier", "type": "text", "description": "From the fair"}
)


def _fields(session: Session, actor: Actor) -> None:
    for key, kind in (("score", "integer"), ("renewal", "date")):
        forms.create_field(
            session, actor=actor, data=FieldCreate(key=key, label=key.title(), type=kind)
        )


def _mapped(session: Session, actor: Actor, **more: object) -> ImportJob:
    _fields(session, actor)
    job = upload(session, actor, CSV)
    data = ImportConfigure.model_validate(
        {"mapping": MAPPING, "new_fields": [PLAN_TIER], "group_name": "Fair", **more}
    )
    return imports.configure(session, actor=actor, job_id=job.id, data=data)


def _attach(session: Session, actor: Actor, job: ImportJob, form: Form) -> None:
    data = ImportConfigure(form_id=ids.encode(form.id))
    imports.configure(session, actor=actor, job_id=job.id, data=data)


def _ann(session: Session, actor: Actor) -> User:
    mine = (User.workspace_id == actor.workspace_id) & (User.email == "ann@example.com")
    return session.scalars(select(User).where(mine)).one()


def _forms(session: Session, actor: Actor) -> dict[str, list[str]]:
    found = forms.list_forms(session, actor=actor)
    return {f.name: [x.key for x in forms.form_fields(session, form=f)] for f in found}


def test_columns_outside_an_attached_form_are_named_and_not_stored(
    session: Session, admin: Actor, data_dir: settings.Settings, make_session: sessionmaker[Session]
) -> None:
    job = _mapped(session, admin)
    renewals = forms.create_form(
        session, actor=admin, data=FormCreate(name="Renewals", fields=["renewal", "score"])
    )
    before = imports.dry_run(session, actor=admin, job_id=job.id)
    assert (before.dropped_columns, before.outside_form) == (["Notes"], [])
    assert before.invalid == 1  # Bob's score is not a number

    _attach(session, admin, job, renewals)
    assert imports.dropped_columns(session, job) == (["Plan tier", "Notes"], ["Plan tier"])
    counts = imports.dry_run(session, actor=admin, job_id=job.id)
    assert (counts.dropped_columns, counts.outside_form) == (["Plan tier", "Notes"], ["Plan tier"])
    sample = imports.sample(session, actor=admin, job_id=job.id, rows=1)[0]
    assert {c.header: c.target for c in sample.cells}["Plan tier"] is None

    imports.start(session, actor=admin, job_id=job.id)
    assert job.mapping["Plan tier"] is None  # what the runner is given
    session.commit()
    done = run(make_session, job)
    assert done.counts == {"created": 1, "rejected": 1}
    ann = _ann(session, admin)
    assert ann.attributes == {"score": 7}  # the plan tier was not stored
    # The new field of a column that is not stored is not made either.
    made = (Field.workspace_id == admin.workspace_id) & (Field.key == "plan_tier")
    assert session.scalar(select(Field).where(made)) is None
    assert session.scalar(select(GroupForm.form_id).where(GroupForm.group_id == done.group_id)) == (
        renewals.id
    )


def test_a_value_error_in_a_column_not_stored_rejects_no_row(
    session: Session, admin: Actor, data_dir: settings.Settings
) -> None:
    job = _mapped(session, admin)
    form = forms.create_form(session, actor=admin, data=FormCreate(name="Plans", fields=[]))
    _attach(session, admin, job, form)
    counts = imports.dry_run(session, actor=admin, job_id=job.id)
    assert (counts.valid, counts.invalid) == (2, 0)  # Score is outside the form: not read
    assert counts.outside_form == ["Score", "Plan tier"]


def test_a_new_form_is_made_when_the_import_starts_holding_every_custom_column(
    session: Session, admin: Actor, data_dir: settings.Settings, make_session: sessionmaker[Session]
) -> None:
    job = _mapped(session, admin, new_form={"name": "Fair leads", "description": "At the stand"})
    assert "Fair leads" not in _forms(session, admin)  # nothing made before Import
    waiting = imports.new_form(job)
    assert waiting is not None
    assert (waiting.name, waiting.fields) == ("Fair leads", ["score", "plan_tier"])
    assert imports.dropped_columns(session, job) == (["Notes"], [])

    imports.start(session, actor=admin, job_id=job.id)
    session.commit()
    done = run(make_session, job)
    assert _forms(session, admin)["Fair leads"] == ["score", "plan_tier"]
    assert imports.new_form(job) is None
    assert [f["key"] for f in job.new_fields] == ["plan_tier"]
    made = session.scalars(
        select(Form).where(Form.workspace_id == admin.workspace_id, Form.name == "Fair leads")
    ).one()
    assert (job.form_id, made.description) == (made.id, "At the stand")
    ann = _ann(session, admin)
    assert ann.attributes == {"score": 7, "plan_tier": "gold"}
    assert session.scalar(select(GroupForm.form_id).where(GroupForm.group_id == done.group_id)) == (
        made.id
    )


def test_a_refused_start_makes_no_form_and_no_field(
    session: Session, admin: Actor, data_dir: settings.Settings
) -> None:
    job = _mapped(session, admin, new_form={"name": "Fair leads"})
    forms.create_form(session, actor=admin, data=FormCreate(name="Fair leads"))  # since taken
    with pytest.raises(Conflict) as caught, session.begin_nested():  # the adapter's rollback
        imports.start(session, actor=admin, job_id=job.id)
    assert caught.value.extra["field"] == "new_form.name"
    made = (Field.workspace_id == admin.workspace_id) & (Field.key == "plan_tier")
    assert session.scalar(select(func.count()).where(made)) == 0
    assert _forms(session, admin) == {"Fair leads": []}
    assert job.status == "draft"


def test_a_new_form_is_checked_as_it_is_asked_for(
    session: Session, admin: Actor, data_dir: settings.Settings
) -> None:
    job = _mapped(session, admin)
    forms.create_form(session, actor=admin, data=FormCreate(name="Taken"))

    def configure(**data: object) -> None:
        imports.configure(
            session, actor=admin, job_id=job.id, data=ImportConfigure.model_validate(data)
        )

    with pytest.raises(Conflict) as taken:
        configure(new_form={"name": "Taken"})
    assert taken.value.extra["field"] == "new_form.name"
    with pytest.raises(Invalid) as both:
        configure(form_id="x", new_form={"name": "Mine"})
    assert both.value.errors[0].field == "form_id"
    configure(mapping={**MAPPING, "Score": None, "Plan tier": None})
    with pytest.raises(Invalid) as empty:
        configure(new_form={"name": "Mine"})
    assert empty.value.errors[0].field == "new_form"
    assert "no fields" in empty.value.detail


def test_attaching_a_form_clears_the_new_one_and_back(
    session: Session, admin: Actor, data_dir: settings.Settings
) -> None:
    job = _mapped(session, admin, new_form={"name": "Fair leads"})
    form = forms.create_form(session, actor=admin, data=FormCreate(name="Scores", fields=["score"]))
    _attach(session, admin, job, form)
    assert (imports.new_form(job), job.form_id) == (None, form.id)
    assert [f["key"] for f in job.new_fields] == ["plan_tier"]  # the new field stays
    data = ImportConfigure(new_form=NewFormInput(name="Fair leads"))
    imports.configure(session, actor=admin, job_id=job.id, data=data)
    assert job.form_id is None
    waiting = imports.new_form(job)
    assert waiting is not None
    assert waiting.name == "Fair leads"
    imports.configure(session, actor=admin, job_id=job.id, data=ImportConfigure(new_form=None))
    assert (imports.new_form(job), job.form_id) == (None, None)


def test_a_form_deleted_after_it_was_attached_stops_the_start(
    session: Session, admin: Actor, data_dir: settings.Settings
) -> None:
    job = _mapped(session, admin)
    form = forms.create_form(session, actor=admin, data=FormCreate(name="Gone", fields=["score"]))
    _attach(session, admin, job, form)
    forms.delete_form(session, actor=admin, form_id=form.id)
    with pytest.raises(Invalid) as caught:
        imports.start(session, actor=admin, job_id=job.id)
    assert caught.value.errors[0].field == "form_id"


def test_a_form_of_another_workspace_cannot_be_attached(
    session: Session, admin: Actor, data_dir: settings.Settings
) -> None:
    other = workspaces.create(session, slug=f"elsewhere-{secrets.token_hex(3)}", name="Elsewhere")
    theirs = forms.create_form(
        session, actor=actors.system(other.id), data=FormCreate(name="Theirs")
    )
    job = _mapped(session, admin)
    with pytest.raises(NotFound):
        _attach(session, admin, job, theirs)
    assert job.form_id is None
