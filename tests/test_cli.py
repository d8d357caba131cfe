"""The `coterie` command on a real SQLite file: migrate, seed a demo, list, export, make tokens."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from coterie import db, demo, settings
from coterie.access import tokens
from coterie.actor import Role
from coterie.cli import app
from coterie.directory import passwords
from coterie.directory.models import Field, User
from coterie.groups import service as groups
from coterie.groups.models import Group
from coterie.workspaces import service as workspaces

PEOPLE = 50
STAFF = 2  # the demo admin and the read-only operator


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
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Settings on a SQLite file in a data directory that does not exist yet."""
    root = tmp_path_factory.mktemp("cli") / "var"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COTERIE_DATA_DIR", str(root))
        patch.setenv("COTERIE_DATABASE_URL", f"sqlite:///{root / 'coterie.db'}")
        patch.setenv("COLUMNS", "200")  # wide enough that Rich does not fold table cells
        _reset_caches()
        yield root
        _reset_caches()


@pytest.fixture(scope="module")
def runner(data_dir: Path) -> CliRunner:
    """A runner on a migrated database holding a demo workspace of 50 people."""
    runner = CliRunner()
    run(runner, "db", "upgrade")
    assert (data_dir / "coterie.db").is_file()
    result = run(runner, "demo", "--people", str(PEOPLE))
    assert f"with {PEOPLE} people" in result.output
    assert "admin@demo.example" in result.output
    assert demo.DEFAULT_PASSWORD in result.output
    return runner


@pytest.fixture
def session(runner: CliRunner) -> Iterator[Session]:
    with db.get_sessionmaker()() as session:
        yield session


def demo_people(session: Session) -> list[User]:
    workspace = workspaces.find_by_slug(session, slug="demo")
    assert workspace is not None
    return list(session.scalars(select(User).where(User.workspace_id == workspace.id)))


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.reader(file))


def test_db_upgrade_is_repeatable(runner: CliRunner) -> None:
    assert "up to date" in run(runner, "db", "upgrade").output


def test_demo_seeds_people_fields_and_staff(session: Session) -> None:
    people = demo_people(session)
    assert len(people) == PEOPLE + STAFF
    admin = next(p for p in people if p.email == demo.ADMIN_EMAIL)
    assert admin.role == "admin"
    assert passwords.verify_password(admin.password_hash, demo.DEFAULT_PASSWORD)
    assert any(p.role == "read_only" for p in people)
    keys = set(session.scalars(select(Field.key).where(Field.workspace_id == admin.workspace_id)))
    assert keys == {key for key, *_ in demo.FIELDS}
    contacts = [p for p in people if p.role == "none"]
    assert all(p.phone or p.email or p.whatsapp for p in contacts)
    assert len({p.attributes.get("plan") for p in contacts}) > 1


def test_demo_seeds_groups_of_every_kind(session: Session) -> None:
    workspace = workspaces.find_by_slug(session, slug="demo")
    assert workspace is not None
    found = {
        g.name: g for g in session.scalars(select(Group).where(Group.workspace_id == workspace.id))
    }
    kinds = {(g.selection, g.behaviour) for g in found.values()}
    assert kinds == {("manual", None), ("rule", "static"), ("rule", "dynamic")}
    vip, beta = found["VIP customers"], found["Beta testers"]
    assert vip.member_count > 0
    assert beta.member_count > 0
    assert vip.tags
    assert vip.created_by_label == "Dana Admin"
    assert groups.form_ids(session, group=vip)  # the customer profile form is attached
    assert any(g.exclude_rule for g in found.values())
    assert any(vip.id in g.references for g in found.values())  # member_of composes
    assert all(g.member_count == groups.members_total(session, group=g) for g in found.values())


def test_demo_if_empty_leaves_an_existing_workspace_alone(
    runner: CliRunner, session: Session
) -> None:
    result = run(runner, "demo", "--if-empty", "--people", "5")
    assert "exists already" in result.output
    assert "admin@demo.example" in result.output
    assert len(demo_people(session)) == PEOPLE + STAFF


def test_demo_without_if_empty_refuses_an_existing_workspace(runner: CliRunner) -> None:
    result = run(runner, "demo", "--people", "5", code=1)
    assert "exists already" in result.output


def test_users_list_shows_a_page_of_people(runner: CliRunner, session: Session) -> None:
    first = min(demo_people(session), key=lambda p: (p.full_name, p.id))
    result = run(runner, "users", "list", "--workspace", "demo")
    assert f"25 of {PEOPLE + STAFF} people" in result.output
    assert first.full_name in result.output
    assert "--cursor" in result.output


def test_users_list_filters(runner: CliRunner, session: Session) -> None:
    pro = [p for p in demo_people(session) if p.attributes.get("plan") == "Pro"]
    assert pro
    result = run(
        runner, "users", "list", "--filter", 'attributes.plan eq "Pro"', "-c", "attributes.plan",
        "--size", "100",
    )  # fmt: skip
    assert f"{len(pro)} of {len(pro)} people" in result.output
    assert "Free" not in result.output
    assert "Enterprise" not in result.output


def test_users_export_writes_every_person_as_csv(runner: CliRunner, tmp_path: Path) -> None:
    everyone, contacts = tmp_path / "f.csv", tmp_path / "contacts.csv"
    run(runner, "users", "export", "--output", str(everyone))
    run(runner, "users", "export", "--filter", 'role eq "none"', "-o", str(contacts))
    rows = read_csv(everyone)
    assert rows[0][:2] == ["id", "full_name"]
    assert "attributes.plan" in rows[0]
    assert len(rows) == 1 + PEOPLE + STAFF
    assert len(read_csv(contacts)) == 1 + PEOPLE


def test_users_export_to_stdout(runner: CliRunner) -> None:
    result = run(runner, "users", "export", "--filter", 'email eq "admin@demo.example"')
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert "admin@demo.example" in lines[1]


def test_token_create_prints_a_secret_that_authenticates(
    runner: CliRunner, session: Session
) -> None:
    result = run(
        runner, "token", "create", "--workspace", "demo", "--name", "ci", "--role", "read_only"
    )
    secret = result.stdout.strip()
    actor = tokens.authenticate(session, secret=secret)
    assert actor.role is Role.READ_ONLY
    workspace = workspaces.find_by_slug(session, slug="demo")
    assert workspace is not None
    assert actor.workspace_id == workspace.id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("users", "list", "--filter", "nope eq 1"), "unknown field 'nope'"),
        (("users", "list", "--filter", "{not json"), "not valid JSON"),
        (("users", "list", "--sort", "nope"), "Cannot sort by 'nope'"),
        (("users", "export", "--filter", "attributes.plan eq 3"), "attributes.plan"),
        (("users", "list", "--workspace", "nope"), "No workspace with slug 'nope'"),
        (("token", "create", "-w", "demo", "--name", " ", "--role", "admin"), "needs a name"),
    ],
)
def test_errors_are_one_clear_line_and_exit_1(
    runner: CliRunner, args: tuple[str, ...], message: str
) -> None:
    result = run(runner, *args, code=1)
    assert message in result.output
    assert result.output.startswith("Error:")


def test_a_failed_export_writes_no_file(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    run(runner, "users", "export", "--sort", "nope", "--output", str(target), code=1)
    assert not target.exists()


def test_users_list_without_workspace_picks_the_only_one(
    runner: CliRunner, session: Session
) -> None:
    total = session.scalar(select(func.count()).select_from(User))
    assert f"of {total} people" in run(runner, "users", "list", "--size", "10").output


def test_invalid_settings_are_refused_before_any_command(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COTERIE_ENVIRONMENT", "production")
    monkeypatch.delenv("COTERIE_SECRET_KEY", raising=False)
    settings.get_settings.cache_clear()
    try:
        result = run(runner, "users", "list", code=1)
    finally:
        monkeypatch.undo()
        settings.get_settings.cache_clear()
    assert "COTERIE_SECRET_KEY must be set in production" in result.output
