"""`coterie scim-token create|list|revoke` on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coterie import db, ids, migrations, settings
from coterie.access import scim as scim_tokens
from coterie.cli import app
from coterie.errors import Unauthorized
from coterie.workspaces import service as workspaces


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    url = f"sqlite:///{tmp_path / 'coterie.db'}"
    monkeypatch.setenv("COTERIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COTERIE_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    for cached in (settings.get_settings, db.get_engine, db.get_sessionmaker):
        cached.cache_clear()
    migrations.upgrade(url)
    with db.get_sessionmaker()() as session:
        workspaces.create(session, slug="acme", name="Acme")
        session.commit()
    yield CliRunner()
    db.get_engine().dispose()
    for cached in (settings.get_settings, db.get_engine, db.get_sessionmaker):
        cached.cache_clear()


def test_create_list_and_revoke_a_scim_token(runner: CliRunner) -> None:
    made = runner.invoke(app, ["scim-token", "create", "-w", "acme", "--name", "Okta"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("scim_")
    with db.get_sessionmaker()() as session:
        actor, _ = scim_tokens.authenticate(session, secret=secret)
        token_id = actor.token_id
    listed = runner.invoke(app, ["scim-token", "list", "-w", "acme"])
    assert listed.exit_code == 0
    assert "Okta" in listed.output
    gone = runner.invoke(app, ["scim-token", "revoke", ids.encode(token_id or 0), "-w", "acme"])
    assert gone.exit_code == 0, gone.output
    with db.get_sessionmaker()() as session, pytest.raises(Unauthorized):
        scim_tokens.authenticate(session, secret=secret)
    unknown = runner.invoke(app, ["scim-token", "revoke", "0000000000000", "-w", "acme"])
    assert unknown.exit_code == 1
