"""What every command shares: consoles, failing with a clear message, one transaction each,
finding the workspace, and the CLI's actor."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie.access import scope as scopes
from coterie.actor import Actor, Origin
from coterie.db import get_sessionmaker
from coterie.directory import contacts, signin
from coterie.directory import service as users
from coterie.errors import CoterieError, Forbidden, Invalid, NotFound
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace

OperatorOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Act as this operator (their email): their role and group scope apply "
        "(docs/operators.md). Without it the command runs as the workspace's cli system actor.",
    ),
]
WorkspaceOption = Annotated[
    str | None,
    typer.Option("--workspace", "-w", help="Workspace slug (can be left out if there is one)."),
]


def out() -> Console:
    return Console(highlight=False)


def err() -> Console:
    return Console(stderr=True, highlight=False)


def fail(message: str, details: list[str] | None = None) -> NoReturn:
    console = err()
    console.print(f"[bold red]Error:[/] [red]{escape(message)}[/]")
    for line in details or []:
        console.print(f"  [red]•[/] {escape(line)}")
    raise typer.Exit(1)


def problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()]


def fail_service(exc: CoterieError) -> NoReturn:
    if isinstance(exc, Invalid) and exc.errors:
        if len(exc.errors) == 1 and exc.errors[0].message == exc.detail:
            fail(f"{exc.errors[0].field}: {exc.detail}")
        fail(exc.detail, [f"{e.field}: {e.message}" for e in exc.errors])
    fail(exc.detail)


@contextmanager
def transaction() -> Iterator[Session]:
    """A session committed when the block ends; any error rolls everything back and exits 1."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except CoterieError as exc:
        session.rollback()
        fail_service(exc)
    except ValidationError as exc:
        session.rollback()
        fail("Invalid input", problems(exc))
    except SQLAlchemyError as exc:
        session.rollback()
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        missing = any(
            text in reason for text in ("no such table", "does not exist", "unable to open")
        )
        hint = ["Create the schema first: coterie db upgrade"] if missing else None
        fail(f"Database error: {reason}", hint)
    finally:
        session.close()


def find_workspace(session: Session, slug: str | None) -> Workspace:
    if slug is not None:
        found = workspaces.find_by_slug(session, slug=slug)
        if found is None:
            raise NotFound(f"No workspace with slug {slug!r}")
        return found
    every = session.scalars(select(Workspace).order_by(Workspace.slug).limit(21)).all()
    if len(every) == 1:
        return every[0]
    if not every:
        raise NotFound("There is no workspace yet; create one with `coterie demo`")
    names = ", ".join(w.slug for w in every[:20])
    raise Invalid(f"Name a workspace with --workspace (one of {names})", field="workspace")


def cli_actor(
    workspace: Workspace, *, session: Session | None = None, operator: str | None = None
) -> Actor:
    """The `cli` system actor, or with `operator` (an email) that operator, role and scope."""
    if operator is None:
        return actors.system(workspace.id, label="cli", origin=Origin.CLI)
    if session is None:
        raise ValueError("acting as an operator needs the session")
    try:
        email = contacts.normalize_email(operator)
    except ValueError as exc:
        raise Invalid(str(exc), field="as") from None
    user = users.find_by_identifier(session, workspace_id=workspace.id, kind="email", value=email)
    if user is None:
        raise NotFound(f"No operator with the email {email} in {workspace.slug}")
    if not signin.may_sign_in(user):
        raise Forbidden(f"{user.full_name} may not use the dashboard (role {user.role})")
    return scopes.operator_actor(session, user=user, origin=Origin.CLI)
