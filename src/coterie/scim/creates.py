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
from coterie.actor import Actor
from coterie.db import Prepared, connection_slot, get_engine
from coterie.directory import service as directory
from coterie.directory.models import User as Person
from coterie.events import outbox
from coterie.events.models import AuditEntry, OutboxEvent
from coterie.groups import dynamic
from coterie.scim import batches, connections, protocol, reads, users
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
    rules_version: int  # the version the person was found in no dynamic group by

    def params(self) -> dict[str, Any]:
        """The parameters of `_WRITTEN`: each row as a JSON document."""
        found: dict[str, Any] = {"rules_version": self.rules_version}
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


# PostgreSQL: the person (unless an identifier is taken or the workspace's rules version is no
# longer `rules_version`), then, for each person written, their document, entry and events; how
# many people it wrote (0 or 1). A taken userName fails the whole statement. The rows go as one
# JSON document each: a statement of a parameter per column would be parsed again by the driver
# on every call (psycopg caches statements of at most 50 parameters).
_WRITTEN = (
    f"WITH person AS ({_insert(_PEOPLE, 'person')}"
    f" WHERE EXISTS (SELECT 1 FROM {Workspace.__tablename__} AS w"
    " WHERE w.id = r.workspace_id AND w.rules_version = %(rules_version)s)"
    " ON CONFLICT DO NOTHING RETURNING 1),"
    f" profile AS ({_insert(_PROFILES, 'profile', 'person')}),"
    f" entry AS ({_insert(_ENTRIES, 'entry', 'person')}),"
    f" events AS ({_insert(_EVENTS, 'events', 'person', many=True)})"
    " SELECT count(*) FROM person"
)
_ENTRY, _EVENT = Prepared(insert(_ENTRIES)), Prepared(insert(_EVENTS))
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
    profile: ScimUser
    rows: Rows | None

    def response(self) -> Response:
        """201 with the person, once written."""
        if self.rows is not None and self.rows.events:
            outbox.wake()
        context = Context.RESOURCE_CREATION_RESPONSE
        return users.respond(self.ctx, self.person, self.profile, context, status=201)


async def serve(request: Request) -> tuple[Response | None, tuple[Actor, Any]]:
    """The response of a create written here, or None when it gives way to the general
    create; and the caller (the token read already, which the general create reuses). Failures
    (401, 400) are raised and nothing is written."""
    await request.body()  # read before a connection is taken
    if reads.asynchronous():
        caller = await reads.caller_async(request)
    else:
        async with connection_slot():
            with get_engine().connect() as connection:
                caller = scim_tokens.authenticate(connection, secret=protocol.bearer(request))
    create = await built(request, caller)
    if create.rows is None:
        return None, caller
    written = await write(create.rows)
    return (create.response() if written else None), caller


async def write(rows: Rows) -> bool:
    """Whether the create's rows were written; nothing was if not."""
    if reads.asynchronous():
        return await write_on_postgresql(rows)
    return await batches.of(get_engine(), write_on_sqlite).submit(rows)


async def built(request: Request, caller: tuple[Actor, scim_tokens.TokenWorkspace]) -> Create:
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
    profile = provisioning.new_profile(actor.workspace_id, person.id, user_name, doc)
    if joins:
        return Create(ctx, person, profile, None)
    entry = directory.created_entry(actor, person)
    events = outbox.event_rows(entry)
    rows = Rows(values, db.new_row_values(profile), entry, events, version)
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
    with connection.begin():
        for rows in batch:
            version = directory.inserted(connection, rows.person)
            if version is None:  # an identifier is taken: nothing was written
                written.append(False)
                continue
            new_profile = db.new_row_insert(ScimUser, None, connection.dialect)
            if version != rows.rules_version or not new_profile.write(connection, [rows.profile]):
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
