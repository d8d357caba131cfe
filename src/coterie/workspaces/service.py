"""Creating and reading workspaces (tenants)."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie.errors import Conflict, Invalid, NotFound
from coterie.workspaces.models import Workspace

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def get(session: Session, *, workspace_id: int) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("No such workspace")
    return workspace


def rules_changed(session: Session, *, workspace_id: int) -> None:
    """Say that the workspace's dynamic rules or fields changed: compiled rules are stale.

    A new random stamp, not a counter, so a rolled-back change can never reuse a stamp.
    """
    get(session, workspace_id=workspace_id).rules_version = secrets.randbits(31)


def find_by_slug(session: Session, *, slug: str) -> Workspace | None:
    return session.scalar(select(Workspace).where(Workspace.slug == slug))


def create(
    session: Session, *, slug: str, name: str, default_region: str = "US", time_zone: str = "UTC"
) -> Workspace:
    if not _SLUG.match(slug):
        raise Invalid("Use 2-63 lower-case letters, digits and '-'", field="slug")
    if find_by_slug(session, slug=slug) is not None:
        raise Conflict(f"A workspace with slug {slug!r} already exists")
    workspace = Workspace(
        slug=slug, name=name, default_region=default_region.upper(), time_zone=time_zone
    )
    session.add(workspace)
    session.flush()
    return workspace
