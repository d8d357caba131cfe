"""`coterie scim-token create|list|revoke`: the SCIM tokens identity providers provision with."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from coterie import ids
from coterie.access import scim as scim_tokens
from coterie.cli._common import WorkspaceOption, cli_actor, err, find_workspace, out, transaction

app = typer.Typer(
    help="SCIM tokens (one workspace each) for identity providers.", no_args_is_help=True
)


@app.command("create")
def create(
    workspace: WorkspaceOption = None,
    name: Annotated[str, typer.Option(help="What the token is for (say, the IdP).")] = "SCIM",
) -> None:
    """Create a SCIM token and print its secret, which is shown only this once."""
    with transaction() as session:
        found = find_workspace(session, workspace)
        token, secret = scim_tokens.create(session, actor=cli_actor(found), name=name)
    err().print(
        f"Created SCIM token [bold]{escape(token.name)}[/] ({ids.encode(token.id)}) in workspace "
        f"{found.slug}; the SCIM base URL is /scim/v2. Copy the secret now; it is not shown again:"
    )
    typer.echo(secret)


@app.command("list")
def list_tokens(workspace: WorkspaceOption = None) -> None:
    """The workspace's SCIM tokens, revoked ones included."""
    with transaction() as session:
        found = scim_tokens.list_tokens(
            session, actor=cli_actor(find_workspace(session, workspace))
        )
        table = Table("id", "name", "created", "revoked", box=box.SIMPLE)
        for token in found:
            revoked = token.revoked_at.isoformat(timespec="minutes") if token.revoked_at else ""
            created = token.created_at.isoformat(timespec="minutes")
            table.add_row(ids.encode(token.id), escape(token.name), created, revoked)
    out().print(table)


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `scim-token list`).")],
    workspace: WorkspaceOption = None,
) -> None:
    """Revoke a SCIM token: the identity provider using it is refused from now on."""
    with transaction() as session:
        actor = cli_actor(find_workspace(session, workspace))
        token = scim_tokens.revoke(
            session, actor=actor, token_id=ids.decode(token_id, what="token")
        )
    err().print(f"Revoked SCIM token [bold]{escape(token.name)}[/].")
