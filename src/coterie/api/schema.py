"""`/api/v1/fields` and `/api/v1/forms`: the workspace's custom attribute schema."""

from __future__ import annotations

from fastapi import APIRouter, Response

from coterie.api.deps import ActorDep, SessionDep, decode_id
from coterie.directory import forms
from coterie.directory.schemas import (
    FieldCreate,
    FieldRead,
    FieldUpdate,
    FormCreate,
    FormRead,
    FormUpdate,
)

router = APIRouter(tags=["fields and forms"])


@router.get("/fields", response_model=list[FieldRead])
def list_fields(session: SessionDep, actor: ActorDep) -> list[FieldRead]:
    return [forms.field_read(f) for f in forms.list_fields(session, actor=actor)]


@router.post("/fields", response_model=FieldRead, status_code=201)
def create_field(session: SessionDep, actor: ActorDep, data: FieldCreate) -> FieldRead:
    field = forms.create_field(session, actor=actor, data=data)
    session.commit()
    return forms.field_read(field)


@router.get("/fields/{field_id}", response_model=FieldRead)
def get_field(session: SessionDep, actor: ActorDep, field_id: str) -> FieldRead:
    return forms.field_read(
        forms.get_field(session, actor=actor, field_id=decode_id(field_id, "field"))
    )


@router.patch("/fields/{field_id}", response_model=FieldRead)
def update_field(
    session: SessionDep, actor: ActorDep, field_id: str, data: FieldUpdate
) -> FieldRead:
    field = forms.update_field(
        session, actor=actor, field_id=decode_id(field_id, "field"), data=data
    )
    session.commit()
    return forms.field_read(field)


@router.delete("/fields/{field_id}", status_code=204)
def delete_field(session: SessionDep, actor: ActorDep, field_id: str) -> Response:
    forms.delete_field(session, actor=actor, field_id=decode_id(field_id, "field"))
    session.commit()
    return Response(status_code=204)


@router.get("/forms", response_model=list[FormRead])
def list_forms(session: SessionDep, actor: ActorDep) -> list[FormRead]:
    return [forms.form_read(session, f) for f in forms.list_forms(session, actor=actor)]


@router.post("/forms", response_model=FormRead, status_code=201)
def create_form(session: SessionDep, actor: ActorDep, data: FormCreate) -> FormRead:
    form = forms.create_form(session, actor=actor, data=data)
    session.commit()
    return forms.form_read(session, form)


@router.get("/forms/{form_id}", response_model=FormRead)
def get_form(session: SessionDep, actor: ActorDep, form_id: str) -> FormRead:
    form = forms.get_form(session, actor=actor, form_id=decode_id(form_id, "form"))
    return forms.form_read(session, form)


@router.patch("/forms/{form_id}", response_model=FormRead)
def update_form(session: SessionDep, actor: ActorDep, form_id: str, data: FormUpdate) -> FormRead:
    form = forms.update_form(session, actor=actor, form_id=decode_id(form_id, "form"), data=data)
    session.commit()
    return forms.form_read(session, form)


@router.delete("/forms/{form_id}", status_code=204)
def delete_form(session: SessionDep, actor: ActorDep, form_id: str) -> Response:
    forms.delete_form(session, actor=actor, form_id=decode_id(form_id, "form"))
    session.commit()
    return Response(status_code=204)
