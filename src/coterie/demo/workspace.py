"""The seeded demo workspace: fields, a form, staff, people with timelines, and groups."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie import ids
from coterie.actor import Actor, Origin, Role
from coterie.demo.engagement import seed_engagement
from coterie.demo.groups import seed_groups
from coterie.demo.people import (
    ADMIN_EMAIL,
    DEFAULT_PASSWORD,
    FIELDS,
    OPERATOR_EMAIL,
    as_row,
    generate_people,
)
from coterie.demo.teams import seed_teams
from coterie.directory import contacts, fields, forms, passwords
from coterie.directory import service as users
from coterie.directory.models import IDENTIFIERS, TimelineEntry, User
from coterie.directory.schemas import FieldCreate, FormCreate, UserCreate
from coterie.events import service as audit
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace

BATCH = 1000
# Timeline entries the demo's people get, picked at random.
ENTRIES: tuple[dict[str, str], ...] = (
    {"kind": "note", "body": "Called about the invoice; will pay by Friday."},
    {"kind": "note", "body": "Prefers WhatsApp over email."},
    {"kind": "note", "body": "Met at the spring meetup, interested in the Pro plan."},
    {"kind": "note", "body": "VIP: answer within the hour."},
    {"kind": "ticket", "title": "Cannot sign in", "status": "open"},
    {"kind": "ticket", "title": "Refund request", "status": "pending"},
    {"kind": "ticket", "title": "Wrong address on order", "status": "closed"},
    {"kind": "conversation", "channel": "whatsapp", "body": "Hi! Is my order on its way?"},
    {"kind": "conversation", "channel": "email", "body": "Thanks for the quick answer."},
    {"kind": "conversation", "channel": "instagram", "body": "Love the new collection!"},
)


@dataclass(frozen=True)
class DemoLogin:
    """Where to sign in to the demo; `password` is None when it is not the default one."""

    workspace: str
    email: str
    password: str | None


@dataclass(frozen=True)
class SeedResult:
    workspace: Workspace
    people: int
    timeline_entries: int
    groups: int
    login: DemoLogin


def _staff(session: Session, *, actor: Actor, password: str) -> Actor:
    """The demo admin and a read-only operator; the admin authors the demo's timeline entries."""
    made = [
        users.create(session, actor=actor, data=UserCreate.model_validate({
            "full_name": name, "email": email, "role": role, "password": password,
            "primary_channel": "email",
        }))
        for name, email, role in (
            ("Dana Admin", ADMIN_EMAIL, "admin"), ("Vic Viewer", OPERATOR_EMAIL, "read_only")
        )
    ]  # fmt: skip
    admin = made[0]
    return Actor(actor.workspace_id, Role.ADMIN, admin.full_name, Origin.CLI, user_id=admin.id)


def _timeline(rng: random.Random, *, row: dict[str, Any], author: Actor) -> list[dict[str, Any]]:
    """A few notes, tickets and conversation entries, none after the person's last activity."""
    since, until = row["created_at"], row["last_activity_at"]
    entries = []
    for _ in range(rng.randint(1, 3)):
        at = since + (until - since) * rng.random()
        entries.append({
            "title": "", "body": "", "status": None, "channel": None, **rng.choice(ENTRIES),
            "workspace_id": row["workspace_id"], "id": ids.new_id(), "user_id": row["id"],
            "author_id": author.user_id, "author_label": author.label, "occurred_at": at,
            "created_at": at,
        })  # fmt: skip
    return entries


def _insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(table), rows)


def seed_workspace(
    session: Session,
    *,
    slug: str = "demo",
    name: str = "Demo",
    people: int = 2000,
    seed: int = 42,
    admin_password: str = DEFAULT_PASSWORD,
    progress: Callable[[int], None] | None = None,
) -> SeedResult:
    """A new workspace with fields, a form, staff, `people` people and groups (flushed only).

    Fields, the form and the staff go through the services. People and their timelines go in as
    bulk inserts (through services it took 45 s for 2,000 on PostgreSQL), each person first put
    through the normalizers the directory service uses; one audit entry records the seeding.
    Groups go through the groups service, as an operator would make them.
    """
    workspace = workspaces.create(session, slug=slug, name=name, default_region="US")
    actor = actors.system(workspace.id, label="cli", origin=Origin.CLI)
    for key, label, kind, options in FIELDS:
        spec = {"key": key, "label": label, "type": kind, "options": list(options)}
        forms.create_field(session, actor=actor, data=FieldCreate.model_validate(spec))
    profile = {"name": "Customer profile", "fields": [key for key, *_ in FIELDS]}
    form = forms.create_form(session, actor=actor, data=FormCreate.model_validate(profile))
    author = _staff(session, actor=actor, password=admin_password)
    session.flush()
    custom = users.workspace_fields(session, workspace_id=workspace.id)
    region = workspace.default_region
    rng = random.Random(seed + 1)
    rows: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    made: list[tuple[int, dict[str, Any]]] = []
    added = timeline_count = 0
    for person in generate_people(people, seed):
        for kind in IDENTIFIERS:
            if person[kind] is not None:
                person[kind] = contacts.normalize(kind, person[kind], region=region)
        stored = fields.coerce_attributes(custom, person["attributes"], region=region)
        person["attributes"] = {k: v for k, v in stored.items() if v is not None}
        row = as_row(person, workspace_id=workspace.id)
        rows.append(row)
        made.append((row["id"], row["attributes"]))
        if row["last_activity_at"] is not None and rng.random() < 0.12:
            entries.extend(_timeline(rng, row=row, author=author))
        if len(rows) == BATCH or added + len(rows) == people:
            _insert(session, User.__table__, rows)
            _insert(session, TimelineEntry.__table__, entries)
            added += len(rows)
            timeline_count += len(entries)
            if progress is not None:
                progress(len(rows))
            rows, entries = [], []
    group_count = seed_groups(session, author=author, people=made, form_id=form.id)
    group_count += seed_teams(session, author=author, people=[person_id for person_id, _ in made])
    group_count += seed_engagement(session, author=author, people=[pid for pid, _ in made])
    summary = {"people": people, "seed": seed, "timeline_entries": timeline_count}
    audit.record(session, actor=actor, action="workspace.seeded", target_type="workspace",
                 target_id=workspace.id, target_label=workspace.slug, after=summary)  # fmt: skip
    known = admin_password if admin_password == DEFAULT_PASSWORD else None
    login = DemoLogin(workspace.slug, ADMIN_EMAIL, known)
    return SeedResult(workspace, people, timeline_count, group_count, login)


def demo_login(session: Session, *, slug: str = "demo") -> DemoLogin | None:
    """The demo admin's sign-in if the workspace and admin exist; the password if still default."""
    workspace = workspaces.find_by_slug(session, slug=slug)
    if workspace is None:
        return None
    admin = users.find_by_identifier(
        session, workspace_id=workspace.id, kind="email", value=ADMIN_EMAIL
    )
    if admin is None:
        return None
    default = passwords.verify_password(admin.password_hash, DEFAULT_PASSWORD)
    return DemoLogin(slug, ADMIN_EMAIL, DEFAULT_PASSWORD if default else None)
