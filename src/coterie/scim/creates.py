"""`POST /Users`, the request identity providers make for each person they provision, written
without the unit of work (`app.ScimApp`; docs/performance.md, SCIM).

The person, their SCIM document, the audit entry and its webhook event are built in Python as
the general create (`users.create_user`) builds them, by the same functions, then written at
once: on PostgreSQL by one statement on an asyncio connection in autocommit (so one round trip,
and the event loop serves other requests while it runs), on SQLite by four inserts in one
transaction. Either all of it is written or none.

It gives way to the general create, which answers as before, whenever it cannot finish alone:
when the person would join a dynamic group (their memberships, counts and events are written by
`groups.moves`), when one of their identifiers or their userName is taken (the general create
says by whom), or when the workspace's rules changed since the token was read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import psycopg
from fastapi import Request, Response
from scim2_models import Context
from sqlalchemy import Connection, Table, bindparam, delete, insert
from sqlalchemy.orm import Session

from coterie import db
from coterie.access import provisioning
from coterie.access import scim as scim_tokens
from coterie.access.provisioning import ScimUser
from coterie.access.scim import ScimToken
from coterie.actor import Actor
from coterie.db import Prepared, connection_slot, get_engine
from coterie.directory import service as directory
from coterie.directory.models import User as Person
from coterie.errors import Unauthorized
from coterie.events import outbox
from coterie.events.models import AuditEntry, OutboxEvent
from coterie.groups import dynamic
from coterie.scim import batches, connections, protocol, reads, users
from coterie.scim.people import StoredProfile
from coterie.workspaces.models import Workspace

_PEOPLE, _PROFILES = cast(Table, Person.__table__), cast(Table, ScimUser.__table__)
_ENTRIES, _EVENTS = cast(Table, AuditEntry.__table__), cast(Table, OutboxEvent.__table__)


@dataclass
class Rows:
    """Everything a new person's create writes, as rows of column values."""

    person: dict[str, Any]
    profile: dict[str, Any]
    entry: dict[str, Any]
    events: list[dict[str, Any]]
    secret_hash: str  # of the token creating them, checked again where they are written
    workspace: scim_tokens.TokenWorkspace  # as they were built by, checked again too

    def params(self) -> dict[str, Any]:
        """The parameters of `_WRITTEN`: each row as a JSON document."""
        found: dict[str, Any] = {
            "hash": self.secret_hash,
            "rules_version": self.workspace.rules_version,
            "region": self.workspace.default_region,
        }
        for name in ("person", "profile", "entry", "events"):
            found[name] = json.dumps(getattr(self, name), default=_json_time)
        return found


def _json_time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value")


def _insert(table: Table, param: str, source: str = "", *, many: bool = False) -> str:
    """`INSERT` the row (or rows) of the JSON document `param` into `table`, once per row of
    `source` (a `FROM` item: none, one)."""
    names = ", ".join(c.name for c in table.columns)
    values = ", ".join(f"r.{c.name}" for c in table.columns)
    function = "jsonb_populate_recordset" if many else "jsonb_populate_record"
    sources = f"{source}, " if source else ""
    return (
        f"INSERT INTO {table.name} ({names}) SELECT {values} "
        f"FROM {sources}{function}(NULL::{table.name}, %({param})s::jsonb) AS r"
    )


# PostgreSQL: the person (unless an identifier is taken, or the token is no longer valid, or its
# workspace's rules version or region changed since it was read), then, for each person written,
# their document, entry and events; how many people it wrote (0 or 1). A taken userName fails
# the whole statement. The rows go as one
# JSON document each: a statement of a parameter per column would be parsed again by the driver
# on every call (psycopg caches statements of at most 50 parameters).
_WRITTEN = (
    f"WITH person AS ({_insert(_PEOPLE, 'person')}"
    f" WHERE EXISTS (SELECT 1 FROM {ScimToken.__tablename__} AS t"
    f" JOIN {Workspace.__tablename__} AS w ON w.id = t.workspace_id"
    " WHERE t.secret_hash = %(hash)s AND t.revoked_at IS NULL AND w.id = r.workspace_id"
    " AND w.rules_version = %(rules_version)s AND w.default_region = %(region)s)"
    " ON CONFLICT DO NOTHING RETURNING 1),"
    f" profile AS ({_insert(_PROFILES, 'profile', 'person')}),"
    f" entry AS ({_insert(_ENTRIES, 'entry', 'person')}),"
    f" events AS ({_insert(_EVENTS, 'events', 'person', many=True)})"
    " SELECT count(*) FROM person"
)
_ENTRY, _EVENT = Prepared(insert(_ENTRIES)), Prepared(insert(_EVENTS))
_TOKEN = Prepared(scim_tokens.by_secret())
_WITHDRAWN = Prepared(  # a person written in a batch whose create cannot finish there
    delete(_PEOPLE).where(
        _PEOPLE.c.workspace_id == bindparam("workspace_id"), _PEOPLE.c.id == bindparam("id")
    )
)


@dataclass
class Create:
    """A create built (`built`): the request's call, the new person and their document, and
    the rows they are written as (None: the person would join a dynamic group)."""

    ctx: users.Call
    person: Person
    profile: StoredProfile
    rows: Rows | None

    def response(self) -> Response:
        """201 with the person, once written."""
        if self.rows is not None and self.rows.events:
            outbox.wake()
        context = Context.RESOURCE_CREATION_RESPONSE
        return users.respond(self.ctx, self.person, self.profile, context, status=201)


async def serve(request: Request) -> tuple[Response | None, tuple[Actor, Any]]:
    """The response of a create written here, or None when it gives way to the general
    create; and the caller, as read now (which the general create takes as it is). Failures
    (401, 400) are raised and nothing is written.

    The token's caller is taken as last read (`scim_tokens.remembered`) and checked again where
    the create is written; read now when it was not, or to answer a create that was not
    written or failed (a revoked token answers 401, and a caller whose workspace changed since
    gives way to the general create)."""
    await request.body()  # read before a connection is taken
    secret_hash, caller = scim_tokens.remembered(protocol.bearer(request))
    fresh = caller is None
    if caller is None:
        caller = await _read_caller(request, secret_hash)
    try:
        create = await built(request, caller, secret_hash)
    except Exception:
        if fresh:
            raise
        current = await _read_caller(request, secret_hash)
        if current[1] == caller[1]:
            raise
        return None, current  # built by what the workspace was: the general create checks it
    if create.rows is not None and await write(create.rows):
        return create.response(), caller
    return None, (caller if fresh else await _read_caller(request, secret_hash))


async def _read_caller(request: Request, secret_hash: str) -> tuple[Actor, Any]:
    """The request's caller read now, and remembered; 401 for an unknown or revoked token."""
    try:
        if reads.asynchronous():
            caller = await reads.caller_async(request)
        else:
            async with connection_slot():
                with get_engine().connect() as connection:
                    caller = scim_tokens.authenticate(connection, secret=protocol.bearer(request))
    except Unauthorized:
        scim_tokens.remember(secret_hash, None)
        raise
    scim_tokens.remember(secret_hash, caller)
    return caller


async def write(rows: Rows) -> bool:
    """Whether the create's rows were written; nothing was if not."""
    if reads.asynchronous():
        return await write_on_postgresql(rows)
    return await batches.of(get_engine(), write_on_sqlite).submit(rows)


async def built(
    request: Request, caller: tuple[Actor, scim_tokens.TokenWorkspace], secret_hash: str
) -> Create:
    """The create, checked and built as the general create builds it. The session only reads
    what is not cached yet (the workspace's fields and rules)."""
    actor, workspace = caller
    request.state.workspace = workspace
    body = await protocol.read_json(request)
    with Session(get_engine()) as session:
        ctx = users.Call(session, actor, request)
        resource = ctx.model.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        doc, user_name = ctx.document(resource)
        known = directory.Known(workspace.default_region, ctx.custom)
        person = directory.new_person(session, actor=actor, data=ctx.new_person(doc), known=known)
        version = workspace.rules_version
        joins = dynamic.joins_when_created(session, user=person, version=version)
    values = db.new_row_values(person)  # gives the person their id
    row = provisioning.new_profile(actor.workspace_id, person.id, user_name, doc)
    profile = StoredProfile(user_name, doc, row["updated_at"])
    if joins:
        return Create(ctx, person, profile, None)
    entry = directory.created_entry(actor, person)
    events = outbox.event_rows(entry)
    rows = Rows(values, row, entry, events, secret_hash, workspace)
    return Create(ctx, person, profile, rows)


async def write_on_postgresql(rows: Rows) -> bool:
    """The rows in one statement on an asyncio connection in autocommit; False, with nothing
    written, when the person cannot be written here."""
    try:
        async with connections.of(get_engine()).connection() as connection:
            cursor = await connection.execute(_WRITTEN, rows.params(), prepare=True)
            found = await cursor.fetchone()
    except psycopg.IntegrityError:  # the userName is taken
        return False
    return found is not None and found[0] == 1


def write_on_sqlite(connection: Connection, batch: Sequence[Rows]) -> list[bool]:
    """The creates of `batch` in one transaction on `connection` (`batches`): whether each was
    written; one that cannot be written here leaves nothing."""
    written = []
    callers: dict[tuple[str, scim_tokens.TokenWorkspace], bool] = {}
    with connection.begin():
        for rows in batch:
            caller = rows.secret_hash, rows.workspace
            if caller not in callers:
                found = _TOKEN.rows(connection, {"hash": rows.secret_hash})
                callers[caller] = scim_tokens.still(found[0] if found else None, rows.workspace)
            version = directory.inserted(connection, rows.person) if callers[caller] else None
            if version is None:  # an identifier is taken, or the token changed: none written
                written.append(False)
                continue
            new_profile = db.new_row_insert(ScimUser, None, connection.dialect)
            rules_version = rows.workspace.rules_version
            if version != rules_version or not new_profile.write(connection, [rows.profile]):
                _WITHDRAWN.write(connection, [rows.person])  # the userName is taken
                written.append(False)
                continue
            written.append(True)
        done = [rows for rows, ok in zip(batch, written, strict=True) if ok]
        if done:
            _ENTRY.write(connection, [rows.entry for rows in done])
            events = [event for rows in done for event in rows.events]
            if events:
                _EVENT.write(connection, events)
    return written
