"""A person's profile: details, contacts, custom fields, and the timeline with notes and files."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile

from coterie import ids
from coterie.directory import service as users
from coterie.directory import timeline
from coterie.directory.models import TimelineEntry, User
from coterie.directory.schemas import TimelineCreate
from coterie.errors import CoterieError, Invalid
from coterie.web.deps import (
    FormDep,
    Operator,
    OperatorDep,
    SessionDep,
    WebRoute,
    check_csrf,
    flash,
    is_htmx,
    redirect,
    render,
)
from coterie.web.userform import CONTACT_KINDS

router = APIRouter(prefix="/users", route_class=WebRoute, dependencies=[Depends(check_csrf)])

KINDS: dict[str, tuple[str, str, str]] = {
    # kind: (label, icon, colour)
    "note": ("Note", "note", "yellow"),
    "ticket": ("Ticket", "ticket", "orange"),
    "conversation": ("Conversation", "message-circle", "green"),
    "media": ("File", "paperclip", "azure"),
}


def _user(session: Any, op: Operator, user_id: str) -> User:
    return users.get(session, actor=op.actor, user_id=ids.decode(user_id, what="person"))


def _entry_context(op: Operator, user: User, entry: TimelineEntry) -> dict[str, Any]:
    return {"entry": entry, "user": user, "kinds": KINDS, "tz": op.workspace.time_zone}


@router.get("/{user_id}")
def show(request: Request, session: SessionDep, op: OperatorDep, user_id: str) -> Response:
    user = _user(session, op, user_id)
    entries = timeline.list_entries(session, actor=op.actor, user_id=user.id)
    custom = users.workspace_fields(session, workspace_id=op.actor.workspace_id)
    return render(
        request,
        "profile/show.html",
        {
            "user": user,
            "entries": entries,
            "custom_fields": custom,
            "kinds": KINDS,
            "contact_kinds": CONTACT_KINDS,
            "operator": op,
            "tz": op.workspace.time_zone,
            "note": "",
            "note_error": None,
            "file_error": None,
        },
    )


def _form_error(
    request: Request, op: Operator, user: User, exc: CoterieError, template: str, **extra: Any
) -> Response:
    """A rejected note or file: the form again with the message, or the whole page without htmx."""
    message = exc.errors[0].message if isinstance(exc, Invalid) and exc.errors else exc.detail
    if not is_htmx(request):
        flash(request, message, "danger")
        return redirect(f"/users/{ids.encode(user.id)}", request)
    context = {
        "user": user,
        "operator": op,
        "note": "",
        "note_error": None,
        "file_error": None,
        **extra,
    }
    is_note = template.endswith("note_form.html")
    context["note_error" if is_note else "file_error"] = message
    headers = {"HX-Retarget": "#note-form" if is_note else "#file-form", "HX-Reswap": "outerHTML"}
    return render(request, template, context, status=exc.status, headers=headers)


@router.post("/{user_id}/notes")
def add_note(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str, form: FormDep
) -> Response:
    user = _user(session, op, user_id)
    body = form.get("body")
    text = body.strip() if isinstance(body, str) else ""
    try:
        entry = timeline.create(
            session,
            actor=op.actor,
            user_id=user.id,
            data=TimelineCreate(kind="note", body=text[:100_000]),
        )
        session.commit()
    except CoterieError as exc:
        session.rollback()
        return _form_error(request, op, user, exc, "profile/_note_form.html", note=text)
    if not is_htmx(request):
        flash(request, "Note added.")
        return redirect(f"/users/{ids.encode(user.id)}", request)
    return render(
        request,
        "profile/_added.html",
        {
            **_entry_context(op, user, entry),
            "operator": op,
            "form_template": "note",
            "note": "",
            "note_error": None,
            "file_error": None,
        },
    )


@router.post("/{user_id}/files")
def upload(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str, form: FormDep
) -> Response:
    user = _user(session, op, user_id)
    upload = form.get("file")
    caption = form.get("caption")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Invalid("Choose a file to upload", field="file")
        entry = timeline.attach(
            session,
            actor=op.actor,
            user_id=user.id,
            file_name=upload.filename,
            content_type=upload.content_type or "",
            stream=upload.file,
            caption=caption.strip()[:2000] if isinstance(caption, str) else "",
        )
        session.commit()
    except CoterieError as exc:
        session.rollback()
        return _form_error(request, op, user, exc, "profile/_file_form.html")
    if not is_htmx(request):
        flash(request, f"Uploaded {entry.file_name}.")
        return redirect(f"/users/{ids.encode(user.id)}", request)
    return render(
        request,
        "profile/_added.html",
        {
            **_entry_context(op, user, entry),
            "operator": op,
            "form_template": "file",
            "note": "",
            "note_error": None,
            "file_error": None,
        },
    )


@router.get("/{user_id}/files/{entry_id}")
def download(session: SessionDep, op: OperatorDep, user_id: str, entry_id: str) -> Response:
    user = _user(session, op, user_id)
    entry = timeline.get(
        session,
        actor=op.actor,
        user_id=user.id,
        entry_id=ids.decode(entry_id, what="timeline entry"),
    )
    return FileResponse(
        timeline.media_path(entry),
        media_type=entry.content_type or "application/octet-stream",
        # Always a download (FileResponse sets `attachment`); the app adds `nosniff` everywhere.
        filename=entry.file_name or "file",
    )
