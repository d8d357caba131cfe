"""The CLI acting as an operator (`--as EMAIL`): their role and group scope apply, as in the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from coterie import actor as actors
from coterie import db, demo, settings
from coterie.access.operators import service as operators
from coterie.cli import app
from coterie.directory.models import User
from coterie.groups import service as groups
from coterie.groups.schemas import GroupCreate
from coterie.workspaces import service as workspaces


def _reset_caches() -> None:
    if db.get_engine.cache_info().currsize:
        db.get_engine().dispose()
    for cached in (settings.get_settings, db.get_engine, db.get_sessionmaker):
        cached.cache_clear()


def run(runner: CliRunner, *args: str, code: int = 0) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRunner]:
    """A demo workspace of 20 people whose read-only operator is scoped to one small group."""
    root = tmp_path_factory.mktemp("cli-ops")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COTERIE_DATA_DIR", str(root))
        patch.setenv("COTERIE_DATABASE_URL", f"sqlite:///{root / 'coterie.db'}")
        patch.setenv("COLUMNS", "200")
        _reset_caches()
        runner = CliRunner()
        run(runner, "db", "upgrade")
        run(runner, "demo", "--people", "20")
        yield runner
        _reset_caches()


def _scope_viewer_to(names: list[str]) -> None:
    with db.transaction() as session:
        workspace = workspaces.find_by_slug(session, slug="demo")
        assert workspace is not None
        system = actors.system(workspace.id)
        people = session.scalars(
            select(User).where(User.workspace_id == workspace.id, User.full_name.in_(names))
        ).all()
        group = groups.create(session, actor=system, data=GroupCreate(name="CLI scope"))
        groups.add_members(
            session, actor=system, group_id=group.id, user_ids=[p.id for p in people]
        )
        viewer = session.scalars(
            select(User).where(User.workspace_id == workspace.id, User.email == demo.OPERATOR_EMAIL)
        ).one()
        operators.set_permissions(
            session, actor=system, user_id=viewer.id, group_ids=[group.id], capabilities=[]
        )


def test_acting_as_an_operator_applies_their_role(runner: CliRunner) -> None:
    refused = run(
        runner, "token", "create", "-w", "demo", "--name", "x", "--role", "admin",
        "--as", demo.OPERATOR_EMAIL, code=1,
    )  # fmt: skip
    assert "Only admins" in refused.output
    made = run(
        runner, "token", "create", "-w", "demo", "--name", "y", "--role", "read_only",
        "--as", demo.ADMIN_EMAIL,
    )  # fmt: skip
    assert "cot_" in made.output
    unknown = run(runner, "users", "list", "-w", "demo", "--as", "nobody@example.com", code=1)
    assert "No operator" in unknown.output


def test_acting_as_a_scoped_operator_lists_only_their_people(runner: CliRunner) -> None:
    everyone = run(runner, "users", "export", "-w", "demo").output.splitlines()
    names = [line.split(",")[1] for line in everyone[1:3]]
    _scope_viewer_to(names)
    scoped = run(runner, "users", "export", "-w", "demo", "--as", demo.OPERATOR_EMAIL)
    rows = scoped.output.splitlines()[1:]
    assert sorted(r.split(",")[1] for r in rows) == sorted(names)
    assert len(everyone) > len(rows) + 10
