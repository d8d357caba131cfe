"""The shared fixtures leave nothing of a test behind them that later tests pay for."""

from __future__ import annotations

import gc
import weakref

from sqlalchemy.orm import Session

from coterie import settings
from coterie.actor import Actor, Role
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
