"""Every POST route of the web UI, as a read-only operator: refused (403) before it runs, unless
the route says a read-only operator may use it (their own saved views, a rule preview)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from coterie import ids
from coterie.access import roles
from coterie.actor import Role
from coterie.app import create_app
from tests.web.conftest import Site, people_now
from tests.web.test_web_http import csrf, sign_in

FAKE = ids.encode(4242)


def web_posts(app: FastAPI) -> list[tuple[str, dict[str, Any] | None]]:
    """(path, openapi_extra) of every POST route outside the OpenAPI (the web UI's)."""
    found: list[tuple[str, dict[str, Any] | None]] = []
    for included in app.routes:
        contexts = getattr(included, "effective_route_contexts", None)
        if contexts is None:
            continue
        for route in contexts():
            if not route.include_in_schema and "POST" in (route.methods or ()):
                found.append((route.path_format, route.openapi_extra))
    return found


@pytest.fixture
def reader(site: Site) -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="http://testserver") as client:
        assert sign_in(client, site, site.reader_email) == 303
        yield client


def test_a_read_only_operator_cannot_post_anything_that_changes_data(
    reader: TestClient, site: Site
) -> None:
    real = {"user_id": site.featured, "group_id": site.key_accounts}
    token = csrf(reader, f"/users/{site.featured}")
    before = people_now(site)
    posts = web_posts(reader.app)  # type: ignore[arg-type]
    assert len(posts) >= 20
    refused = 0
    for path, extra in posts:
        needed = roles.required(extra, "POST")
        if needed is None or roles.RANK[needed] <= roles.RANK[Role.READ_ONLY]:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: real.get(m.group(1), FAKE), path)
        answer = reader.post(
            url,
            data={"csrf_token": token, "full_name": "Sneaky", "body": "hello"},
            follow_redirects=False,
        )
        assert answer.status_code == 403, (path, answer.status_code)
        refused += 1
    assert refused >= 15
    assert people_now(site) == before
    # The reader is still signed in and reads as before.
    assert reader.get(f"/users/{site.featured}").status_code == 200
