"""The shared fixtures leave nothing of a test behind them that later tests pay for."""

from __future__ import annotations

import gc
import secrets
import weakref

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from coterie import settings
from coterie.actor import Actor, Role
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace
from tests.conftest import Api


def test_an_api_client_does_not_outlive_its_test(
    session: Session, admin: Actor, isolated_settings: settings.Settings
) -> None:
    """FastAPI remembers the dependencies it has run (`request_sessions`): an application kept
    alive by them for every test made the run's full collections take seconds."""
    api = Api(session, admin)
    client = api.as_role(Role.ADMIN)
    assert client.get("/api/v1/users").status_code == 200  # the override was run
    app = weakref.ref(api.client.app)
    del api, client
    gc.collect()
    assert app() is None


def test_what_a_test_commits_is_rolled_back_with_it(engine: Engine) -> None:
    """As the `connection` and `session` fixtures hold a test, on both databases: a commit of
    the session ends a savepoint, and the outer rollback takes it back."""
    slug = f"gone-{secrets.token_hex(4)}"
    with engine.connect() as connection:
        outer = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            workspaces.create(session, slug=slug, name="Gone")
            session.commit()
        outer.rollback()
    with engine.connect() as connection:
        found = connection.execute(select(Workspace.id).where(Workspace.slug == slug)).all()
    assert found == []
