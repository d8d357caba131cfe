"""scim2-tester against a running Coterie (uvicorn on a free port, on each database): no ERROR or
CRITICAL check, and at least as many checks as it runs against scim2-server's reference server."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from wsgiref.simple_server import make_server

import httpx2
import pytest
import uvicorn
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BearerTokenApplication
from scim2_server.testserver.cli import ThreadingWSGIServer
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)
from scim2_tester import CheckResult, check_server

from coterie import actor as actors
from coterie import db, settings
from coterie.access import scim as scim_tokens
from coterie.app import create_app
from coterie.directory.forms import create_field
from coterie.directory.schemas import FieldCreate
from coterie.workspaces import service as workspaces

# scim2-tester checks conformance, not speed: httpx's 5 s default failed one CI run on a
# moment's stall of the machine (in a full run every request otherwise took at most 25 ms).
TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clear_caches() -> None:
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()


def _tally(results: list[CheckResult]) -> Counter[str]:
    return Counter(r.status.name for r in results)


@pytest.fixture
def coterie_scim(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str]]:
    """A Coterie server on the test database, and a SCIM token of a fresh workspace in it."""
    monkeypatch.setenv("COTERIE_DATABASE_URL", database_url)
    monkeypatch.setenv("COTERIE_DATA_DIR", str(tmp_path / "data"))
    _clear_caches()
    with db.get_sessionmaker()() as session:
        workspace = workspaces.create(
            session, slug=f"scim-{secrets.token_hex(3)}", name="SCIM", default_region="US"
        )
        admin = actors.system(workspace.id)
        fields = (("plan", "enum", ["free", "pro"]), ("seats", "integer", []))
        for key, kind, options in (*fields, ("vip", "boolean", []), ("team", "text", [])):
            data = FieldCreate(key=key, label=key.title(), type=kind, options=options)
            create_field(session, actor=admin, data=data)
        _, secret = scim_tokens.create(session, actor=admin, name="scim2-tester")
        session.commit()
    port = _free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="coterie-scim-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the SCIM test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/scim/v2", secret
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        db.get_engine().dispose()
        _clear_caches()


@lru_cache(maxsize=1)
def reference_checks() -> Counter[str]:
    """What scim2-tester reports against scim2-server with its default (full RFC) schemas."""
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(),
        load_default_resource_types().values(),
        config=load_default_service_provider_config(),
    )
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    application = BearerTokenApplication(InMemoryStorage(), provider, service=service)
    server = make_server("127.0.0.1", 0, application, server_class=ThreadingWSGIServer)
    server.RequestHandlerClass.log_message = lambda *_args: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}/v2", timeout=TIMEOUT) as http:
            return _tally(check_server(SyncSCIMClient(http)))
    finally:
        server.shutdown()
        server.server_close()


def test_scim2_tester_finds_nothing_wrong(coterie_scim: tuple[str, str]) -> None:
    url, secret = coterie_scim
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx2.Client(base_url=url, headers=headers, timeout=TIMEOUT) as http:
        results = check_server(SyncSCIMClient(http))
    problems = [
        f"{r.status.name} {r.resource_type} {r.title}: {r.reason}"
        for r in results
        if r.status.name in ("ERROR", "CRITICAL")
    ]
    assert problems == []
    ours, theirs = _tally(results), reference_checks()
    assert ours["SUCCESS"] >= theirs["SUCCESS"] > 100
    assert sum(ours.values()) >= sum(theirs.values())
