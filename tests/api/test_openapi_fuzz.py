"""Schemathesis over the whole OpenAPI: no 5xx anywhere, and every error is a problem+json."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from coterie import actor as actors
from coterie import db, migrations
from coterie import settings as coterie_settings
from coterie.access import tokens
from coterie.actor import Role
from coterie.app import create_app
from coterie.workspaces import service as workspaces

_TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{root / 'fuzz.db'}"
    patch = pytest.MonkeyPatch()
    patch.setenv("COTERIE_DATABASE_URL", url)
    patch.setenv("COTERIE_DATA_DIR", str(root))
    for cached in (coterie_settings.get_settings, db.get_engine, db.get_sessionmaker):
        cached.cache_clear()
    migrations.upgrade(url)
    with db.transaction() as session:
        workspace = workspaces.create(session, slug="fuzz", name="Fuzz")
        _, _TOKEN["secret"] = tokens.create(
            session, actor=actors.system(workspace.id), name="fuzz", role=Role.ADMIN
        )
    yield create_app()
    db.get_engine().dispose()
    for cached in (coterie_settings.get_settings, db.get_engine, db.get_sessionmaker):
        cached.cache_clear()
    patch.undo()


def test_no_server_errors_and_problem_json(fuzzed_app: FastAPI) -> None:
    """Each operation gets a bounded number of generated requests (valid and invalid)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    headers = {"Authorization": f"Bearer {_TOKEN['secret']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    for operation in operations:

        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)
            if response.status_code >= 400:
                kind = response.headers["content-type"][0]
                assert kind == "application/problem+json", (case.formatted_path, response.text)

        call()
