"""People in the directory: create, read, update, delete, with identifiers unique per workspace."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, literal_column, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coterie import db, ids
from coterie.actor import Actor, Role
from coterie.db import utcnow
from coterie.directory import contacts, fields, passwords
from coterie.directory.models import IDENTIFIERS, Field, User
from coterie.directory.schemas import UserCreate, UserFields, UserRead, UserUpdate
from coterie.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from coterie.events import service as audit
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace

_AUDITED = [
    n for n in UserRead.model_fields if n not in ("id", "has_password", "created_at", "updated_at")
]


@dataclass(frozen=True)
class Known:
    """What a caller knows of a person's workspace already: its phone region and custom fields."""

    region: str
    fields: Sequence[Field]


def require_write(actor: Actor) -> None:
    if not actor.can_write:
        raise Forbidden(f"The {actor.role.value} role cannot change data")


def snapshot(user: User) -> dict[str, Any]:
    """The audited fields of a person, as they are now: those loaded or set are read from the
    object's own values (each change takes two), the others through the attribute, which loads
    them."""
    held = user.__dict__
    return {name: held[name] if name in held else getattr(user, name) for name in _AUDITED}


def label(user: User) -> str:
    return f"{user.full_name} ({ids.encode(user.id)})"


def get(session: Session, *, actor: Actor, user_id: int) -> User:
    user = session.get(User, (actor.workspace_id, user_id))
    if user is None or (actor.role is Role.IDENTIFIED_ONLY and not actor.sees_own(user_id)):
        raise NotFound(f"No person with id {ids.encode(user_id)}")
    return user


def find_by_identifier(
    session: Session, *, workspace_id: int, kind: str, value: str
) -> User | None:
    column = getattr(User, kind)
    return session.scalar(select(User).where(User.workspace_id == workspace_id, column == value))


def workspace_fields(session: Session, *, workspace_id: int) -> list[Field]:
    return list(
        session.scalars(select(Field).where(Field.workspace_id == workspace_id).order_by(Field.key))
    )


# What needs the workspace's phone region to be stored: phone numbers, and custom fields (a
# phone-type one). Other writes do not read the workspace.
_REGIONAL = ("phone", "whatsapp", "ring_phone", "attributes")


_CLEARED: dict[str, Callable[[], Any]] = {
    "nicknames": list,
    "role": lambda: "none",
    "scoring_enabled": lambda: False,
    "roaming": lambda: False,
}


def _normalized(given: dict[str, Any], *, region: str) -> dict[str, Any]:
    """The given fields in stored form; every problem reported at once, each naming its field."""
    problems: list[FieldError] = []
    for kind in (*IDENTIFIERS, "ring_phone"):
        raw = given.get(kind)
        if raw is None:
            continue
        if raw == "":
            given[kind] = None
            continue
        try:
            given[kind] = contacts.normalize(
                "phone" if kind == "ring_phone" else kind, raw, region=region
            )
        except ValueError as exc:
            problems.append(FieldError(kind, str(exc)))
    for name in ("first_name", "last_name", "full_name", "agent_id"):
        if given.get(name) == "":
            given[name] = None
    # `null` clears a field; those that cannot be empty go back to what a new person has.
    for name, cleared in _CLEARED.items():
        if name in given and given[name] is None:
            given[name] = cleared()
    if "status" in given and given["status"] is None:
        problems.append(FieldError("status", "cannot be cleared: it is active or deactivated"))
    if problems:
        raise Invalid("Some contact details are not valid", errors=problems)
    return given


def _check_unique(
    session: Session, *, workspace_id: int, values: dict[str, Any], exclude: int | None
) -> None:
    """409 naming the person who already has one of these identifiers."""
    checks = [getattr(User, k) == values[k] for k in (*IDENTIFIERS, "agent_id") if values.get(k)]
    if not checks:
        return
    stmt = select(User).where(User.workspace_id == workspace_id, or_(*checks))
    if exclude is not None:
        stmt = stmt.where(User.id != exclude)
    existing = session.scalars(stmt.limit(1)).first()
    if existing is None:
        return
    kind = next(
        k for k in (*IDENTIFIERS, "agent_id") if values.get(k) and getattr(existing, k) == values[k]
    )
    raise Conflict(
        f"{kind} {values[kind]} already belongs to {existing.full_name}",
        field=kind,
        existing_id=ids.encode(existing.id),
        existing_name=existing.full_name,
    )


_CURRENT = ("attributes", "full_name", "first_name", "last_name", "source", *IDENTIFIERS)


def _apply(session: Session, *, actor: Actor, user: User, data: UserFields) -> None:
    """Check the fields a change gives and set them on the person (`_changes`)."""
    current = {name: getattr(user, name) for name in _CURRENT}
    for name, value in _changes(session, actor, data, current, user.id, None).items():
        setattr(user, name, value)


def _changes(
    session: Session,
    actor: Actor,
    data: UserFields,
    current: Mapping[str, Any],
    user_id: int | None,
    known: Known | None,
) -> dict[str, Any]:
    """The fields to set on the person of id `user_id` (None: one being created) whose fields
    `_CURRENT` are `current`, checked and in stored form; a person being created has their
    identifiers checked by their insert (`_insert`), one being changed here. What is `known` of
    the workspace is not read again."""
    creating = user_id is None
    given = data.model_dump(exclude_unset=True)
    region = ""
    if any(given.get(name) for name in _REGIONAL):
        region = (
            known.region
            if known is not None
            else workspaces.get(session, workspace_id=actor.workspace_id).default_region
        )
    values = _normalized(given, region=region)
    own_password = values.keys() == {"password"} and actor.user_id == user_id and not creating
    if ("role" in values or "password" in values) and not actor.is_admin and not own_password:
        raise Forbidden("Only admins can change roles and passwords of others")
    attributes = values.pop("attributes", None)
    password = values.pop("password", None)
    if attributes:
        stored = fields.coerce_attributes(
            known.fields
            if known is not None
            else workspace_fields(session, workspace_id=actor.workspace_id),
            attributes,
            region=region,
        )
        merged = {**current["attributes"], **stored}
        values["attributes"] = {k: v for k, v in merged.items() if v is not None}
    if password is not None:
        values["password_hash"] = passwords.hash_password(password)
    if not creating:
        _check_unique(session, workspace_id=actor.workspace_id, values=values, exclude=user_id)
    after = {**current, **values}
    if not after["full_name"]:
        values["full_name"] = after["full_name"] = " ".join(
            p for p in (after["first_name"], after["last_name"]) if p
        )
    if not after["full_name"]:
        raise Invalid("A person needs a full name or a first name", field="full_name")
    # SCIM identifies its people by userName (kept by coterie.access.provisioning).
    if after["source"] != "scim" and not any(after[k] for k in IDENTIFIERS):
        raise Invalid(
            "A person needs at least one contact: phone, email, WhatsApp, Instagram or external id",
            field="phone",
        )
    return values


def _flush(session: Session, *, workspace_id: int, user: User) -> None:
    """Flush, turning a race on a unique identifier into the same 409 as the pre-check."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        values = {k: getattr(user, k) for k in (*IDENTIFIERS, "agent_id")}
        _check_unique(session, workspace_id=workspace_id, values=values, exclude=user.id)
        raise Conflict("Another person already has one of these identifiers") from exc


# Read by a new person's insert: their workspace's rules version, by which their dynamic groups
# are evaluated (`coterie.groups.people.create`), so that needs no query of its own.
_RULES_VERSION = (
    select(Workspace.rules_version)
    .where(Workspace.id == literal_column(f"{User.__tablename__}.workspace_id"))
    .scalar_subquery()
)


def _insert(session: Session, *, user: User) -> int:
    """Write a new person in one statement that also checks their identifiers (this is every
    adapter's create) and reads their workspace's rules version; 409 naming the holder of a
    taken identifier."""
    found = db.insert_returning(session, user, _RULES_VERSION)
    if found is None:
        values = {key: getattr(user, key) for key in (*IDENTIFIERS, "agent_id")}
        _check_unique(session, workspace_id=user.workspace_id, values=values, exclude=None)
        raise Conflict("Another person already has one of these identifiers")
    return int(found[0] or 0)


def inserted(connection: Connection, values: dict[str, Any]) -> int | None:
    """Write a new person's row (`new_person_row`) on a connection, as
    `_insert` writes it; the rules version it read, or None when an identifier is taken."""
    insert = db.new_row_insert(User, _RULES_VERSION, connection.dialect)
    found = insert.returned(connection, values)
    return int(found[0][0] or 0) if found else None


def create(session: Session, *, actor: Actor, data: UserCreate) -> User:
    return create_versioned(session, actor=actor, data=data)[0]


def new_person_row(
    session: Session, *, actor: Actor, data: UserCreate, known: Known | None = None
) -> dict[str, Any]:
    """The row of a person to create (`db.new_row`: every column, their id and times set),
    checked and in stored form, not written yet; what is `known` of the workspace is not read
    again."""
    require_write(actor)
    current: dict[str, Any] = dict.fromkeys(_CURRENT)
    current |= {"attributes": {}, "source": data.source}
    changes = _changes(session, actor, data, current, None, known)
    given = {"workspace_id": actor.workspace_id, "nicknames": [], **current, **changes}
    return db.new_row(User, given)


def created_entry(actor: Actor, person: Mapping[str, Any]) -> dict[str, Any]:
    """The audit entry of a new person (their `new_person_row`), as a row."""
    return audit.entry_row(
        actor=actor,
        action="user.created",
        target_type="user",
        target_id=person["id"],
        target_label=person["full_name"],
        after={name: person[name] for name in _AUDITED},
    )


def create_versioned(session: Session, *, actor: Actor, data: UserCreate) -> tuple[User, int]:
    """`create`, and the workspace's rules version as the person's insert read it (in the same
    transaction, after any rule change that committed before it)."""
    person = new_person_row(session, actor=actor, data=data)
    user = User(**person)
    rules_version = _insert(session, user=user)
    audit.write(session, created_entry(actor, person))
    return user, rules_version


def update(session: Session, *, actor: Actor, user_id: int, data: UserUpdate) -> User:
    user = get(session, actor=actor, user_id=user_id)
    self_password = data.model_fields_set == {"password"} and actor.user_id == user_id
    if not self_password:
        require_write(actor)
    before = snapshot(user)
    _apply(session, actor=actor, user=user, data=data)
    user.updated_at = utcnow()
    _flush(session, workspace_id=actor.workspace_id, user=user)
    old, new = audit.changes(before, snapshot(user))
    if "password" in data.model_fields_set:
        new["password"] = "changed"
    if new:
        action = "user.deactivated" if new.get("status") == "deactivated" else "user.updated"
        audit.record(
            session,
            actor=actor,
            action=action,
            target_type="user",
            target_id=user.id,
            target_label=user.full_name,
            before=old,
            after=new,
        )
    return user


def delete(session: Session, *, actor: Actor, user_id: int) -> None:
    require_write(actor)
    user = get(session, actor=actor, user_id=user_id)
    audit.record(
        session,
        actor=actor,
        action="user.deleted",
        target_type="user",
        target_id=user.id,
        target_label=user.full_name,
        before=snapshot(user),
    )
    session.delete(user)
    session.flush()


def record_activity(session: Session, *, user: User, at: Any = None) -> None:
    """Move last activity forward (never back) when something happens on the profile."""
    moment = at or utcnow()
    if user.last_activity_at is None or moment > user.last_activity_at:
        user.last_activity_at = moment
