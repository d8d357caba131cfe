"""`/api/v1/users/{id}/timeline`: notes, tickets, conversations and media on a profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile
from fastapi.responses import FileResponse

from coterie.api.deps import ActorDep, SessionDep, decode_id
from coterie.directory import timeline
from coterie.directory.schemas import TimelineCreate, TimelineRead, TimelineUpdate

router = APIRouter(prefix="/users/{user_id}/timeline", tags=["timeline"])


@router.get("", response_model=list[TimelineRead])
def list_entries(session: SessionDep, actor: ActorDep, user_id: str) -> list[TimelineRead]:
    entries = timeline.list_entries(session, actor=actor, user_id=decode_id(user_id, "person"))
    return [TimelineRead.of(e) for e in entries]


@router.post("", response_model=TimelineRead, status_code=201)
def create_entry(
    session: SessionDep, actor: ActorDep, user_id: str, data: TimelineCreate
) -> TimelineRead:
    entry = timeline.create(session, actor=actor, user_id=decode_id(user_id, "person"), data=data)
    session.commit()
    return TimelineRead.of(entry)


@router.post("/media", response_model=TimelineRead, status_code=201)
def upload_media(
    session: SessionDep,
    actor: ActorDep,
    user_id: str,
    file: Annotated[UploadFile, File(description="the file to attach")],
    caption: Annotated[str, Form(max_length=2000)] = "",
) -> TimelineRead:
    entry = timeline.attach(
        session,
        actor=actor,
        user_id=decode_id(user_id, "person"),
        file_name=file.filename or "file",
        content_type=file.content_type or "",
        stream=file.file,
        caption=caption,
    )
    session.commit()
    return TimelineRead.of(entry)


@router.get("/{entry_id}", response_model=TimelineRead)
def get_entry(session: SessionDep, actor: ActorDep, user_id: str, entry_id: str) -> TimelineRead:
    entry = timeline.get(
        session,
        actor=actor,
        user_id=decode_id(user_id, "person"),
        entry_id=decode_id(entry_id, "timeline entry"),
    )
    return TimelineRead.of(entry)


@router.get("/{entry_id}/file", response_class=FileResponse)
def download_media(
    session: SessionDep, actor: ActorDep, user_id: str, entry_id: str
) -> FileResponse:
    entry = timeline.get(
        session,
        actor=actor,
        user_id=decode_id(user_id, "person"),
        entry_id=decode_id(entry_id, "timeline entry"),
    )
    return FileResponse(
        timeline.media_path(entry), media_type=entry.content_type, filename=entry.file_name
    )


@router.patch("/{entry_id}", response_model=TimelineRead)
def update_entry(
    session: SessionDep, actor: ActorDep, user_id: str, entry_id: str, data: TimelineUpdate
) -> TimelineRead:
    entry = timeline.update(
        session,
        actor=actor,
        user_id=decode_id(user_id, "person"),
        entry_id=decode_id(entry_id, "timeline entry"),
        data=data,
    )
    session.commit()
    return TimelineRead.of(entry)


@router.delete("/{entry_id}", status_code=204)
def delete_entry(session: SessionDep, actor: ActorDep, user_id: str, entry_id: str) -> Response:
    timeline.delete(
        session,
        actor=actor,
        user_id=decode_id(user_id, "person"),
        entry_id=decode_id(entry_id, "timeline entry"),
    )
    session.commit()
    return Response(status_code=204)
