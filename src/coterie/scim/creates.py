"""`POST /Users`, the request identity providers make for each person they provision, written
without the unit of work (`app.ScimApp`; docs/scim.md, "How a create stays cheap").

The person, their SCIM document, the audit entry and its webhook event are built in Python as
the general create (`users.create_user`) builds them, by the same functions, then written with
the creates that arrive with them (`batches`): on PostgreSQL by one statement on an asyncio
connection in autocommit (one round trip, while the event loop serves other requests), on
SQLite in one transaction. Each create is written whole or not at all. The token's caller is
taken as this process last read it, and checked again where the person is written.

It gives way to the general create, which answers as before, whenever it cannot finish alone:
when the person would join a dynamic group (their memberships, counts and events are written by
`groups.moves`), when one of their identifiers or their userName is taken (the general create
says by whom), or when the token's workspace changed since it was read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
from coterie.scim.people import VIEW_COLUMNS, PersonRow, StoredProfile
from coterie.workspaces.models import Workspace

_PEOPLE, _PROFILES = cast(Table, Person.__table__), cast(Table, ScimUser.__table__)
_ENTRIES, _EVENTS = cast(Table, AuditEntry.__table__), cast(Table, OutboxEvent.__table__)
# A batch of more creates than this on SQLite commits under load: its commit checkpoints the
# log in shorter pieces (`db.checkpoint_when_busy`).
BUSY_BATCH = 4


@dataclass
class Rows:
    """Everything a new person's create writes, as rows of column values."""

    person: dict[str, Any]
    profile: dict[str, Any]
    entry: dict[str, Any]
    events: list[dict[str, Any]]
    secret_hash: str  # of the token creating them, checked again where they are written
    workspace: scim_tokens.TokenWorkspace  # as they were built by, checked again too

    @classmethod
    def of(
        cls,
        actor: Actor,
        workspace: scim_tokens.TokenWorkspace,
        secret_hash: str,
        person: dict[str, Any],
        profile: dict[str, Any],
    ) -> Rows:
        """A new person's rows (`directory.new_person_row`, `provisioning.new_profile`), with
        the audit entry of their creation and its webhook event."""
        entry = directory.created_entry(actor, person)
        return cls(person, profile, entry, outbox.event_rows(entry), secret_hash, workspace)

    @property
    def person_id(self) -> int:
        return int(self.person["id"])


def _params(batch: Sequence[Rows]) -> dict[str, str]:
    """The parameters of `_WRITTEN` for a batch: each kind of row as one JSON array."""
    callers = [
        {
            "id": rows.person_id,
            "hash": rows.secret_hash,
            "rules_version": rows.workspace.rules_version,
            "region": rows.workspace.default_region,
            "user_name_key": rows.profile["user_name_key"],
        }
        for rows in batch
    ]
    found = {
        "callers": callers,
        "people": [rows.person for rows in batch],
        "profiles": [rows.profile for rows in batch],
        "entries": [rows.entry for rows in batch],
        "events": [{"person": rows.person_id, "event": e} for rows in batch for e in rows.events],
    }
    return {name: db.rows_json(value) for name, value in found.items()}


def _insert(table: Table, rows: str) -> str:
    """`INSERT` into `table` the rows of `rows` (a `FROM` item giving rows of the table's type
    as `r`; joins that follow keep some)."""
    names = ", ".join(c.name for c in table.columns)
    values = ", ".join(f"r.{c.name}" for c in table.columns)
    return f"INSERT INTO {table.name} ({names}) SELECT {values} FROM {rows}"


def _recordset(table: Table, param: str) -> str:
    return f"jsonb_populate_recordset(NULL::{table.name}, %({param})s::jsonb) AS r"


# PostgreSQL: a batch of creates in one statement. Each person is written unless an identifier
# of theirs is taken, their userName is, their token is no longer valid, or its workspace's rules
# version or region changed since it was read; then, for each person written, their document,
# entry and events. Returns the ids of the people written. A userName taken meanwhile (or twice
# in the batch) fails the whole statement: nothing is written. Each kind of row goes as one JSON
# array: a statement of a parameter per column would be parsed again by the driver on every call
# (psycopg caches statements of at most 50 parameters).
_CALLERS = (
    "jsonb_to_recordset(%(callers)s::jsonb) AS c(id bigint, hash text, rules_version bigint,"
    " region text, user_name_key text)"
)
_WRITTEN = (
    f"WITH person AS ({_insert(_PEOPLE, _recordset(_PEOPLE, 'people'))}"
    f" JOIN {_CALLERS} ON c.id = r.id"
    f" WHERE EXISTS (SELECT 1 FROM {ScimToken.__tablename__} AS t"
    f" JOIN {Workspace.__tablename__} AS w ON w.id = t.workspace_id"
    " WHERE t.secret_hash = c.hash AND t.revoked_at IS NULL AND w.id = r.workspace_id"
    " AND w.rules_version = c.rules_version AND w.default_region = c.region)"
    f" AND NOT EXISTS (SELECT 1 FROM {_PROFILES.name} AS s"
    " WHERE s.workspace_id = r.workspace_id AND s.user_name_key = c.user_name_key)"
    " ON CONFLICT DO NOTHING RETURNING id),"
    f" profile AS ({_insert(_PROFILES, _recordset(_PROFILES, 'profiles'))}"
    " JOIN person ON person.id = r.user_id),"
    f" entry AS ({_insert(_ENTRIES, _recordset(_ENTRIES, 'entries'))}"
    " JOIN person ON person.id = r.target_id),"
    f" event AS ({_insert(_EVENTS, 'jsonb_array_elements(%(events)s::jsonb) AS x')}"
    f" CROSS JOIN LATERAL jsonb_populate_record(NULL::{_EVENTS.name}, x->'event') AS r"
    " JOIN person ON person.id = (x->>'person')::bigint)"
    " SELECT id FROM person"
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
    person: PersonRow
    profile: StoredProfile
    rows: Rows | None

    def response(self) -> Response:
        """201 with the person, once written."""
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
    """Whether the create's rows were written (in a batch with the creates that arrive with it,
    `batches`); nothing was if not."""
    return await batches.of(get_engine(), _write_batch).submit(rows)


async def _write_batch(batch: Sequence[Rows]) -> list[bool]:
    """The batch written; once it wrote events, one delivery run is woken for all of them."""
    if reads.asynchronous():
        written = await write_on_postgresql(batch)
    else:
        with get_engine().connect() as connection:
            written = write_on_sqlite(connection, batch)
    if any(ok and rows.events for rows, ok in zip(batch, written, strict=True)):
        outbox.wake()
    return written


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
        values = directory.new_person_row(
            session, actor=actor, data=ctx.new_person(doc), known=known
        )
        version = workspace.rules_version
        joins = dynamic.joins_when_created(session, person=values, version=version)
    person = PersonRow._make(values[name] for name in VIEW_COLUMNS)
    row = provisioning.new_profile(actor.workspace_id, person.id, user_name, doc)
    profile = StoredProfile(user_name, doc, row["updated_at"])
    if joins:
        return Create(ctx, person, profile, None)
    return Create(ctx, person, profile, Rows.of(actor, workspace, secret_hash, values, row))


async def write_on_postgresql(batch: Sequence[Rows]) -> list[bool]:
    """The creates of `batch` in one statement on an asyncio connection in autocommit: whether
    each was written; one that cannot be written there leaves nothing."""
    try:
        async with connections.of(get_engine()).connection() as connection:
            cursor = await connection.execute(_WRITTEN, _params(batch), prepare=True)
            written = {row[0] for row in await cursor.fetchall()}
    except (psycopg.IntegrityError, psycopg.errors.DeadlockDetected):
        # A userName taken meanwhile, or two batches each waiting on an identifier the other
        # wrote first: nothing was written, and each create goes to the general create.
        return [False] * len(batch)
    return [rows.person_id in written for rows in batch]


def write_on_sqlite(connection: Connection, batch: Sequence[Rows]) -> list[bool]:
    """The creates of `batch` in one transaction on `connection` (`batches`): whether each was
    written; one that cannot be written here leaves nothing."""
    written = []
    callers: dict[tuple[str, scim_tokens.TokenWorkspace], bool] = {}
    new_profile = db.new_row_insert(ScimUser, None, connection.dialect)
    with db.checkpoint_when_busy(connection, len(batch) > BUSY_BATCH), connection.begin():
        for rows in batch:
            caller = rows.secret_hash, rows.workspace
            if caller not in callers:
                callers[caller] = scim_tokens.still_valid(connection, *caller)
            version = directory.inserted(connection, rows.person) if callers[caller] else None
            if version is None:  # an identifier is taken, or the token changed: none written
                written.append(False)
                continue
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
