"""The webhook outbox: events written in the same transaction as the change they describe.

`coterie.events.service.record` writes the outbox rows of every audit entry that is a webhook
event (a person, group or membership change, an import finished: `event_rows`) with the entry, so
a committed change always has its event and a rolled-back one never does. Other domains with
events of their own (campaigns) call `emit`. The worker (`coterie.events.delivery`) fans rows out
to endpoints.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args

from sqlalchemy import event
from sqlalchemy.orm import Session

from coterie import ids
from coterie.db import utcnow
from coterie.events.models import OutboxEvent

EventType = Literal[
    "person.created",
    "person.updated",
    "person.deactivated",
    "person.deleted",
    "group.created",
    "group.updated",
    "group.deleted",
    "membership.added",
    "membership.removed",
    "import.finished",
    "campaign.launched",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

# Audit actions that are webhook events, and the event type each one is.
_FROM_AUDIT = {
    "user.created": "person.created",
    "user.updated": "person.updated",
    "user.deactivated": "person.deactivated",
    "user.deleted": "person.deleted",
    "group.created": "group.created",
    "group.updated": "group.updated",
    "group.deleted": "group.deleted",
    "group.members_added": "membership.added",
    "group.members_removed": "membership.removed",
    "import.completed": "import.finished",
}

_PENDING = "coterie.outbox.pending"
_lock = threading.Lock()
_last_seq = 0
_notify: Callable[[], None] | None = None


def next_seq() -> int:
    """Creation order: wall-clock nanoseconds, strictly increasing within this process."""
    global _last_seq
    with _lock:
        _last_seq = max(time.time_ns(), _last_seq + 1)
        return _last_seq


def set_notifier(notify: Callable[[], None] | None) -> None:
    """What to call after a commit that wrote events (the job queue wakes a delivery run)."""
    global _notify
    _notify = notify


def event_row(*, workspace_id: int, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The columns of an outbox row, complete (id, order and time set)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    return {
        "workspace_id": workspace_id,
        "id": ids.new_id(),
        "seq": next_seq(),
        "type": event_type,
        "data": data,
        "created_at": utcnow(),
        "dispatched_at": None,
    }


def build(*, workspace_id: int, event_type: str, data: dict[str, Any]) -> OutboxEvent:
    """An outbox row (`event_row`) as an object, not yet in any session."""
    return OutboxEvent(**event_row(workspace_id=workspace_id, event_type=event_type, data=data))


def emit(
    session: Session, *, workspace_id: int, event_type: str, data: dict[str, Any]
) -> OutboxEvent:
    """Write an event to the outbox in the caller's transaction (`campaign.launched`, say).

    `data` must be JSON-ready; it is the `data` member of the delivered body."""
    row = build(workspace_id=workspace_id, event_type=event_type, data=data)
    session.add(row)
    written(session)
    return row


def written(session: Session) -> None:
    """Say that this transaction wrote outbox rows, for a caller that inserts them itself
    (`event_rows`): its commit wakes a delivery run."""
    session.info[_PENDING] = True


def event_rows(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The outbox rows (columns) of an audit entry's columns: none, or its event; an import's
    batch entry gives one `person.created` and one `person.updated` event listing the batch's
    people, so events cost an import little."""
    workspace_id = entry["workspace_id"]
    if entry["action"] == "users.imported":
        after = entry["after"] or {}
        base: dict[str, Any] = {"actor": entry["actor_label"], "origin": entry["origin"]}
        base["import"] = {"id": ids.encode(entry["target_id"]) if entry["target_id"] else None}
        found = []
        for key, event_type in (("created", "person.created"), ("updated", "person.updated")):
            if after.get(key):
                data = {**base, "user_ids": after[key], "reason": "import"}
                found.append(event_row(workspace_id=workspace_id, event_type=event_type, data=data))
        return found
    mapped = _FROM_AUDIT.get(entry["action"])
    if mapped is None:
        return []
    return [event_row(workspace_id=workspace_id, event_type=mapped, data=_data(mapped, entry))]


def _data(event_type: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    after, before = entry["after"] or {}, entry["before"] or {}
    target = ids.encode(entry["target_id"]) if entry["target_id"] else None
    data: dict[str, Any] = {"actor": entry["actor_label"], "origin": entry["origin"]}
    label = entry["target_label"]
    if event_type.startswith("person."):
        data["user_ids"] = [target]
        data["user"] = {"id": target, "name": label}
        if event_type in ("person.updated", "person.deactivated"):
            data["changes"] = {"before": before, "after": after}
        elif event_type == "person.created":
            data["user"] |= after
    elif event_type.startswith("group."):
        data["group"] = {"id": target, "name": label}
        if event_type == "group.updated":
            data["changes"] = {"before": before, "after": after}
        elif event_type == "group.created":
            data["group"] |= after
    elif event_type.startswith("membership."):
        data["group"] = {"id": target, "name": label}
        data["reason"] = after.get("reason")
        data["user_ids"] = after.get("user_ids", [])
    else:
        data["import"] = {"id": target, "file_name": label, **after}
    return data


def wake() -> None:
    """Say that events were committed (by a caller writing without a session): a delivery run
    is queued, if this process queues them (`set_notifier`)."""
    if _notify is not None:
        # A failed wake-up loses nothing: the minutely run sends what it would have.
        with contextlib.suppress(Exception):
            _notify()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        wake()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
