"""A person's profile timeline: notes, tickets, conversation entries and media files.

Media bytes live in a local directory (settings.media_dir) under a random key; the row keeps the
name, type and size. Adding an entry moves the person's last activity forward.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import ids, uploads
from coterie.actor import Actor
from coterie.directory import service as users
from coterie.directory.models import TimelineEntry
from coterie.directory.schemas import TimelineCreate, TimelineUpdate
from coterie.errors import Invalid, NotFound
from coterie.events import service as audit
from coterie.inputs import NUL_REFUSED
from coterie.settings import get_settings
from coterie.workspaces import service as workspaces

_CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]")


def media_root() -> Path:
    return get_settings().media_dir


def list_entries(
    session: Session, *, actor: Actor, user_id: int, limit: int = 200
) -> Sequence[TimelineEntry]:
    users.get(session, actor=actor, user_id=user_id)
    stmt = (
        select(TimelineEntry)
        .where(TimelineEntry.workspace_id == actor.workspace_id, TimelineEntry.user_id == user_id)
        .order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
        .limit(limit)
    )
    return session.scalars(stmt).all()


def get(session: Session, *, actor: Actor, user_id: int, entry_id: int) -> TimelineEntry:
    users.get(session, actor=actor, user_id=user_id)
    entry = session.get(TimelineEntry, (actor.workspace_id, entry_id))
    if entry is None or entry.user_id != user_id:
        raise NotFound(f"No timeline entry with id {ids.encode(entry_id)}")
    return entry


def _audit(session: Session, actor: Actor, action: str, entry: TimelineEntry) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        target_type="timeline_entry",
        target_id=entry.id,
        target_label=f"{entry.kind} on {ids.encode(entry.user_id)}",
        after={
            "kind": entry.kind,
            "title": entry.title,
            "body": entry.body[:500],
            "file": entry.file_name,
        },
    )


def _check(kind: str, *, title: str, body: str, status: str | None) -> None:
    """What an entry of each kind must have, on create and on every update alike."""
    if kind == "note" and not body:
        raise Invalid("A note needs some text", field="body")
    if kind == "ticket" and not title:
        raise Invalid("A ticket needs a title", field="title")
    if kind == "ticket" and status is None:
        raise Invalid("A ticket is open, pending or closed", field="status")


def create(session: Session, *, actor: Actor, user_id: int, data: TimelineCreate) -> TimelineEntry:
    users.require_write(actor)
    user = users.get(session, actor=actor, user_id=user_id)
    _check(data.kind, title=data.title, body=data.body, status=data.status or "open")
    entry = TimelineEntry(
        workspace_id=actor.workspace_id,
        user_id=user_id,
        kind=data.kind,
        title=data.title,
        body=data.body,
        status=data.status or ("open" if data.kind == "ticket" else None),
        channel=data.channel,
        author_id=actor.user_id,
        author_label=actor.label,
        group_id=ids.decode(data.group_id, what="group") if data.group_id else None,
    )
    if data.occurred_at is not None:
        entry.occurred_at = data.occurred_at
    session.add(entry)
    session.flush()
    users.record_activity(session, user=user, at=entry.occurred_at)
    _audit(session, actor, "timeline.created", entry)
    return entry


def attach(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    file_name: str,
    content_type: str,
    stream: BinaryIO,
    caption: str = "",
) -> TimelineEntry:
    """Store an uploaded file and add it to the timeline; the file goes again if anything fails."""
    users.require_write(actor)
    if "\x00" in caption:
        raise Invalid(NUL_REFUSED, field="caption")
    user = users.get(session, actor=actor, user_id=user_id)
    limit = workspaces.get(session, workspace_id=actor.workspace_id).upload_limit_bytes
    name = _UNSAFE.sub("_", Path(file_name or "file").name)[:200] or "file"
    key = f"{ids.encode(actor.workspace_id)}/{secrets.token_hex(16)}"
    target = media_root() / key
    saved = uploads.save(stream, target, limit=limit)
    try:
        entry = TimelineEntry(
            workspace_id=actor.workspace_id,
            user_id=user_id,
            kind="media",
            title=name,
            body=caption,
            author_id=actor.user_id,
            author_label=actor.label,
            file_name=name,
            content_type=content_type or "application/octet-stream",
            file_size=saved.size,
            storage_key=key,
        )
        session.add(entry)
        session.flush()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    users.record_activity(session, user=user, at=entry.occurred_at)
    _audit(session, actor, "timeline.media_added", entry)
    return entry


def media_path(entry: TimelineEntry) -> Path:
    if entry.storage_key is None:
        raise NotFound("This timeline entry has no file")
    path = media_root() / entry.storage_key
    if not path.is_file():
        raise NotFound("The file of this entry is missing")
    return path


def update(
    session: Session, *, actor: Actor, user_id: int, entry_id: int, data: TimelineUpdate
) -> TimelineEntry:
    users.require_write(actor)
    entry = get(session, actor=actor, user_id=user_id, entry_id=entry_id)
    changes = data.model_dump(exclude_unset=True)
    # `null` clears a text to empty, as an entry made without it has.
    texts = {name: changes.get(name, getattr(entry, name)) or "" for name in ("title", "body")}
    status = changes.get("status", entry.status)
    _check(entry.kind, title=texts["title"], body=texts["body"], status=status)
    for name, value in {**changes, **texts}.items():
        setattr(entry, name, value)
    session.flush()
    _audit(session, actor, "timeline.updated", entry)
    return entry


def delete(session: Session, *, actor: Actor, user_id: int, entry_id: int) -> None:
    users.require_write(actor)
    entry = get(session, actor=actor, user_id=user_id, entry_id=entry_id)
    _audit(session, actor, "timeline.deleted", entry)
    session.delete(entry)
    session.flush()
