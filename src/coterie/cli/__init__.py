"""The `coterie` command: serve, migrate, seed a demo, list and export people, create API tokens.

Commands call the same services as the API, as the workspace's `cli` system actor, in one
transaction committed at the end. A service error prints in red, changes nothing and exits 1.
"""

from __future__ import annotations

import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from pydantic import ValidationError
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from coterie import demo as demo_data
from coterie import ids, migrations
from coterie import jobs as jobs_queue
from coterie.access import scope as scopes
from coterie.access import tokens
from coterie.actor import Role
from coterie.cli import imports as cli_imports
from coterie.cli import scim as cli_scim
from coterie.cli._common import (
    OperatorOption,
    WorkspaceOption,
    cli_actor,
    err,
    fail,
    find_workspace,
    out,
    problems,
    transaction,
)
from coterie.db import get_sessionmaker
from coterie.directory import contacts, listing
from coterie.directory.export import export_csv
from coterie.directory.models import User
from coterie.directory.service import workspace_fields
from coterie.errors import Conflict, Invalid
from coterie.rules import parse_filter
from coterie.settings import get_settings
from coterie.workspaces import service as workspaces

app = typer.Typer(
    help="Coterie: users and groups for multi-tenant SaaS products.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
users_app = typer.Typer(help="People in a workspace's directory.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(token_app, name="token")
app.add_typer(cli_scim.app, name="scim-token")

FilterOption = Annotated[
    str | None,
    typer.Option(
        "--filter",
        "-f",
        help='SCIM filter (attributes.plan eq "Pro" and phone sw "+44") or a JSON rule tree.',
    ),
]
SortOption = Annotated[str, typer.Option(help="A column or attributes.<key>.")]
DescOption = Annotated[bool, typer.Option("--desc", help="Sort descending.")]


class TokenRole(StrEnum):
    ADMIN = "admin"
    STANDARD = "standard"
    READ_ONLY = "read_only"
    IDENTIFIED_ONLY = "identified_only"


def _print_login(console: Console, login: demo_data.DemoLogin | None) -> None:
    if login is None:
        return
    password = login.password or "(the one given with --admin-password)"
    console.print(
        f"  Demo login: workspace [bold]{login.workspace}[/], email [bold]{login.email}[/], "
        f"password [bold]{escape(password)}[/]",
        soft_wrap=True,
    )


@app.callback()
def _check_settings() -> None:
    """Refuse to start on invalid settings (say, production without a secret key)."""
    try:
        get_settings()
    except ValidationError as exc:
        fail("Invalid COTERIE_* settings", problems(exc))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind [default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: 8000]")] = None,
    reload: Annotated[bool, typer.Option(help="Restart when the code changes.")] = False,
    jobs: Annotated[
        bool,
        typer.Option(
            help="Run the background jobs (the minutely group sweep) in this process too; "
            "turn off when `coterie worker` processes run them."
        ),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes (one per core is a good start); the jobs still run in this "
            "one process.",
        ),
    ] = 1,
) -> None:
    """Run the API and the web UI (and, by default, the background jobs)."""
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}"
    console = out()
    console.print(f"Serving Coterie at [bold]{url}[/]")
    console.print(f"  Sign in:  {url}/login\n  API docs: {url}/docs")
    try:
        with get_sessionmaker()() as session:
            _print_login(console, demo_data.demo_login(session))
    except SQLAlchemyError:
        console.print("[yellow]The database is not ready: run `coterie db upgrade`.[/]")
    consumer = jobs_queue.start_consumer() if jobs and not reload else None
    if consumer is not None:
        console.print("  Jobs:     imports, webhooks, the minutely group sweep (in this process)")
    if workers > 1 and not reload:
        console.print(f"  Workers:  {workers} server processes")
    try:
        uvicorn.run(
            "coterie.cli.served:create_app",
            factory=True,
            http="coterie.cli.served:Protocol",
            host=host,
            port=port,
            reload=reload,
            workers=None if reload else workers,
            proxy_headers=True,
        )
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)


@app.command()
def worker(
    threads: Annotated[int, typer.Option(min=1, max=64, help="Worker threads.")] = 2,
) -> None:
    """Run background jobs (with COTERIE_REDIS_URL, as many workers as you like)."""
    _check_settings()
    out().print(f"Coterie worker: {threads} thread(s); the group sweep runs every minute.")
    jobs_queue.get_queue().huey.create_consumer(workers=threads, worker_type="thread").run()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema (creates a SQLite file and its directory)."""
    settings = get_settings()
    url = make_url(settings.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        migrations.upgrade(settings.database_url)
    except SQLAlchemyError as exc:
        fail(f"Could not migrate: {str(getattr(exc, 'orig', None) or exc).splitlines()[0]}")
    out().print(f"Database {url.render_as_string(hide_password=True)} is up to date.")


@app.command()
def demo(
    workspace: Annotated[
        str, typer.Option("--workspace", "-w", help="Slug of the new workspace.")
    ] = "demo",
    people: Annotated[int, typer.Option(min=0, help="How many people to create.")] = 2000,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing if the workspace exists already.")
    ] = False,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same people.")
    ] = 42,
    admin_password: Annotated[
        str, typer.Option(help="Password of the demo admin and the read-only operator.")
    ] = demo_data.DEFAULT_PASSWORD,
) -> None:
    """Create a demo workspace full of realistic people, with a demo admin."""
    console = err()
    if len(admin_password) < 8:
        fail("--admin-password needs at least 8 characters")
    started = time.perf_counter()
    with transaction() as session:
        if workspaces.find_by_slug(session, slug=workspace) is not None:
            if not if_empty:
                raise Conflict(
                    f"Workspace {workspace!r} exists already; use --if-empty to leave it as it is, "
                    "or --workspace to name another"
                )
            console.print(f"Workspace [bold]{workspace}[/] exists already; nothing to do.")
            _print_login(console, demo_data.demo_login(session, slug=workspace))
            return
        columns = (
            TextColumn("Seeding people"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("people", total=people)
            result = demo_data.seed_workspace(
                session,
                slug=workspace,
                people=people,
                seed=seed,
                admin_password=admin_password,
                progress=lambda n: progress.advance(task, n),
            )
    elapsed = time.perf_counter() - started
    console.print(
        f"Created workspace [bold]{workspace}[/] with {result.people:,} people and "
        f"{result.timeline_entries:,} timeline entries in {elapsed:.1f} s."
    )
    _print_login(console, result.login)
    console.print(f"A read-only operator: {demo_data.OPERATOR_EMAIL}, same password.")


def _cell(user: User, column: str) -> str:
    value: Any = (
        user.attributes.get(column.removeprefix("attributes."))
        if column.startswith("attributes.")
        else getattr(user, column)
    )
    if value is None:
        return ""
    if column in ("phone", "whatsapp"):
        return contacts.format_phone(value)
    if column == "id":
        return ids.encode(value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if hasattr(value, "strftime"):
        return str(value.strftime("%Y-%m-%d"))
    return str(value)


@users_app.command("list")
def users_list(
    workspace: WorkspaceOption = None,
    filter_: FilterOption = None,
    sort: SortOption = "full_name",
    desc: DescOption = False,
    size: Annotated[int, typer.Option(min=1, max=200, help="Rows per page.")] = 25,
    cursor: Annotated[str | None, typer.Option(help="Page cursor printed under the table.")] = None,
    column: Annotated[
        list[str] | None,
        typer.Option("--column", "-c", help="Another column to show, e.g. attributes.plan."),
    ] = None,
    operator: OperatorOption = None,
) -> None:
    """One page of people as a table."""
    with transaction() as session:
        actor = cli_actor(find_workspace(session, workspace), session=session, operator=operator)
        extra = column or []
        custom = workspace_fields(session, workspace_id=actor.workspace_id)
        labels = {f"attributes.{f.key}": f.label for f in custom}
        known = {
            *listing.SORTABLE,
            "nicknames",
            "source_ref",
            *(f"attributes.{f.key}" for f in custom),
        }
        for name in extra:
            if name not in known:
                raise Invalid(f"No column named {name!r}", field="column")
        page = listing.list_users(
            session,
            actor=actor,
            rule=parse_filter(filter_),
            sort=sort,
            descending=desc,
            size=size,
            cursor=cursor,
            scope=scopes.people(session, actor=actor),
        )
    headers = {
        "id": "Id",
        "full_name": "Name",
        "email": "Email",
        "phone": "Phone",
        "primary_channel": "Channel",
        "source": "Source",
        "last_activity_at": "Last active",
    }
    names = [*headers, *(c for c in extra if c not in headers)]
    caption = f"{len(page.items)} of {page.total:,} people"
    table = Table(caption=caption, caption_justify="left", box=box.SIMPLE_HEAD)
    for name in names:
        title = headers.get(name) or labels.get(name) or name
        table.add_column(title, overflow="fold", no_wrap=name == "id")
    for user in page.items:
        table.add_row(*(escape(_cell(user, name)) for name in names))
    console = out()
    console.print(table)
    if page.next:
        console.print(f"Next page: --cursor {page.next}", soft_wrap=True)


@users_app.command("export")
def users_export(
    workspace: WorkspaceOption = None,
    filter_: FilterOption = None,
    sort: SortOption = "full_name",
    desc: DescOption = False,
    output: Annotated[str, typer.Option("--output", "-o", help="A file, or - for stdout.")] = "-",
    operator: OperatorOption = None,
) -> None:
    """Every matching person as CSV (the same columns as the web UI's download)."""
    with transaction() as session:
        actor = cli_actor(find_workspace(session, workspace), session=session, operator=operator)
        chunks = export_csv(
            session,
            actor=actor,
            rule=parse_filter(filter_),
            sort=sort,
            descending=desc,
            batch_size=get_settings().export_batch_size,
            scope=scopes.people(session, actor=actor),
        )
        first = next(chunks)  # a bad sort fails here, before a file is created
        if output == "-":
            sys.stdout.write(first)
            for chunk in chunks:
                sys.stdout.write(chunk)
            sys.stdout.flush()
            return
        with Path(output).open("w", encoding="utf-8", newline="") as file:
            file.write(first)
            for chunk in chunks:
                file.write(chunk)
    err().print(f"Wrote {output}")


@token_app.command("create")
def token_create(
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="Workspace slug.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    role: Annotated[TokenRole, typer.Option(help="What the token may do.")],
    operator: OperatorOption = None,
) -> None:
    """Create an API token and print its secret, which is shown only this once."""
    with transaction() as session:
        actor = cli_actor(find_workspace(session, workspace), session=session, operator=operator)
        token, secret = tokens.create(session, actor=actor, name=name, role=Role(role.value))
    err().print(
        f"Created token [bold]{escape(token.name)}[/] ({token.role}) in workspace {workspace}. "
        "Copy the secret now; it is not shown again:"
    )
    typer.echo(secret)


app.command("import")(cli_imports.import_file)
