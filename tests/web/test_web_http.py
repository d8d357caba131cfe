"""The web UI over plain HTTP (no browser): sign-in rules, CSRF, rate limits, roles and errors."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from coterie import actor as actors
from coterie import db
from coterie.app import create_app
from coterie.directory import service as users
from coterie.directory.schemas import UserCreate
from coterie.settings import get_settings
from coterie.workspaces import service as workspaces
from tests.web.conftest import Site, people_now

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="http://testserver") as test_client:
        yield test_client


def csrf(client: TestClient, path: str = "/login") -> str:
    found = CSRF.search(client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: TestClient, site: Site, email: str, password: str | None = None) -> int:
    token = csrf(client)
    response = client.post(
        "/login",
        data={
            "csrf_token": token,
            "workspace": site.slug,
            "email": email,
            "password": password or site.password,
        },
        follow_redirects=False,
    )
    return response.status_code


def test_pages_need_a_session(client: TestClient) -> None:
    response = client.get("/users", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    response = client.get("/users/new?x=1", follow_redirects=False)
    assert response.headers["location"] == "/login?next=%2Fusers%2Fnew%3Fx%3D1"
    response = client.get("/users", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.headers["HX-Redirect"] == "/login"


def test_sign_in_returns_to_the_page_asked_for(client: TestClient, site: Site) -> None:
    token = csrf(client, "/login?next=/users/new")
    assert 'name="next" value="/users/new"' in client.get("/login?next=/users/new").text
    response = client.post(
        "/login",
        data={
            "csrf_token": token,
            "workspace": site.slug,
            "email": site.admin_email,
            "password": site.password,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/users"  # never off the site
    assert client.get("/users/new").status_code == 200


def test_posts_need_the_csrf_token(client: TestClient, site: Site) -> None:
    csrf(client)
    response = client.post(
        "/login",
        data={
            "workspace": site.slug,
            "email": site.admin_email,
            "password": site.password,
        },
    )
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "expired" in response.text
    assert sign_in(client, site, site.admin_email) == 303
    response = client.post("/logout", headers={"X-CSRF-Token": "wrong"})
    assert response.status_code == 403
    token = csrf(client, "/users")
    response = client.post("/logout", headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/users", follow_redirects=False).status_code == 303


def test_sign_in_attempts_are_rate_limited(site: Site) -> None:
    settings = get_settings().model_copy(update={"login_attempts_per_minute": 3})
    with TestClient(create_app(settings)) as client:
        for _ in range(3):
            assert sign_in(client, site, site.admin_email, "wrong password") == 401
        token = csrf(client)
        response = client.post(
            "/login",
            data={
                "csrf_token": token,
                "workspace": site.slug,
                "email": site.admin_email,
                "password": site.password,
            },
        )
        assert response.status_code == 429
        assert "Too many sign-in attempts" in response.text
        assert 0 < int(response.headers["Retry-After"]) <= 60
        # Another email from the same address is not locked out.
        assert sign_in(client, site, site.reader_email) == 303


def test_who_may_sign_in(client: TestClient, site: Site) -> None:
    with db.transaction() as session:
        workspace = workspaces.find_by_slug(session, slug=site.slug)
        assert workspace is not None
        system = actors.system(workspace.id)
        for email, role, status in (
            ("gone@acme.com", "standard", "deactivated"),
            ("contact@acme.com", "none", "active"),
        ):
            if (
                users.find_by_identifier(
                    session, workspace_id=workspace.id, kind="email", value=email
                )
                is None
            ):
                users.create(
                    session,
                    actor=system,
                    data=UserCreate(
                        full_name=email,
                        email=email,
                        role=role,
                        password=site.password,
                        status=status,
                    ),
                )
    for email in ("gone@acme.com", "contact@acme.com"):
        token = csrf(client)
        response = client.post(
            "/login",
            data={
                "csrf_token": token,
                "workspace": site.slug,
                "email": email,
                "password": site.password,
            },
        )
        assert response.status_code == 403
        assert "cannot sign in" in response.text
    token = csrf(client)
    response = client.post(
        "/login",
        data={
            "csrf_token": token,
            "workspace": "nope",
            "email": site.admin_email,
            "password": site.password,
        },
    )
    assert response.status_code == 401
    assert "not right" in response.text


def test_read_only_gets_a_banner_not_a_crash(client: TestClient, site: Site) -> None:
    assert sign_in(client, site, site.reader_email) == 303
    page = client.get("/users")
    assert page.status_code == 200
    profile = re.search(r'href="/users/([0-9a-z]{13})"', page.text)
    assert profile
    user_path = f"/users/{profile.group(1)}"
    token = csrf(client, user_path)

    response = client.post(
        f"{user_path}/notes",
        data={"body": "hello"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    # The role is checked before the route runs (coterie.access.roles): an alert in the page.
    assert response.status_code == 403
    assert "cannot change data" in response.text
    assert response.headers["HX-Retarget"] == "#flash-area"

    response = client.post(
        "/users/new",
        data={
            "csrf_token": token,
            "full_name": "Nobody",
            "contact_kind": "email",
            "contact_value": "nobody@example.com",
        },
    )
    assert response.status_code == 403
    assert "cannot change data" in response.text


def test_errors_are_pages_not_json(client: TestClient, site: Site) -> None:
    assert sign_in(client, site, site.admin_email) == 303
    response = client.get("/users/0000000000001")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "No person with id" in response.text

    response = client.get("/users?filter=%7Bnot+json")
    assert response.status_code == 400
    assert "The filter is not valid JSON" in response.text

    response = client.get('/users?filter={"all":[{"field":"nope","op":"eq","value":1}]}')
    assert response.status_code == 400
    assert "unknown field" in response.text
    assert 'data-error-row="0"' in response.text

    response = client.get("/users?sort=password_hash")
    assert response.status_code == 400
    assert "Cannot sort by" in response.text

    response = client.get("/users/export.csv?filter=%7Bbad")
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]

    # The API keeps its problem+json, and the web pages stay out of the OpenAPI document.
    assert client.get("/api/v1/users").headers["content-type"] == "application/problem+json"
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith("/api/")]


def test_htmx_gets_only_the_table(client: TestClient, site: Site) -> None:
    assert sign_in(client, site, site.admin_email) == 303
    response = client.get(
        "/users?sort=full_name&order=desc&size=10",
        headers={"HX-Request": "true", "HX-Target": "results"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.count('<tr data-user="') == 10
    assert 'hx-swap-oob="true"' in response.text
    full = client.get(
        "/users?size=10", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in full.text


def test_scim_text_filters_work_in_the_url(client: TestClient, site: Site) -> None:
    assert sign_in(client, site, site.admin_email) == 303
    response = client.get('/users?filter=attributes.plan eq "Premium"&size=50')
    assert response.status_code == 200
    assert "This filter was written by hand" in response.text
    # Counted now: browser tests of other modules may have made Premium people meanwhile.
    premium = people_now(site, ("Premium",))
    assert premium >= site.premium
    assert response.text.count('<tr data-user="') == premium


def test_admin_creates_an_operator_who_can_sign_in(client: TestClient, site: Site) -> None:
    assert sign_in(client, site, site.admin_email) == 303
    token = csrf(client, "/users/new")
    form = {
        "csrf_token": token,
        "first_name": "Olive",
        "last_name": "Operator",
        "contact_kind": "email",
        "contact_value": "olive@acme.com",
        "role": "identified_only",
        "password": "short",
    }
    response = client.post("/users/new", data=form)
    assert response.status_code == 400
    assert 'data-error-for="password"' in response.text
    assert "at least 8" in response.text
    assert "short" not in response.text  # a password is never echoed back

    response = client.post(
        "/users/new", data={**form, "password": "olive's password"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith("/groups")

    with TestClient(create_app()) as olive:
        assert sign_in(olive, site, "olive@acme.com", "olive's password") == 303
        page = olive.get("/users")
        assert page.text.count('<tr data-user="') == 1  # identified_only sees only themselves
        assert "Olive Operator" in page.text


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:x"]
)
def test_next_never_leaves_the_site(client: TestClient, site: Site, target: str) -> None:
    token = csrf(client)
    response = client.post(
        "/login",
        data={
            "csrf_token": token,
            "workspace": site.slug,
            "email": site.admin_email,
            "password": site.password,
            "next": target,
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/users"


def test_one_contact_of_each_kind(client: TestClient, site: Site) -> None:
    assert sign_in(client, site, site.admin_email) == 303
    token = csrf(client, "/users/new")
    response = client.post(
        "/users/new",
        data={
            "csrf_token": token,
            "full_name": "Twice Mailed",
            "contact_kind": ["email", "email", "phone"],
            "contact_value": ["one@example.com", "two@example.com", ""],
        },
    )
    assert response.status_code == 400
    assert "A person has one Email" in response.text
    assert 'value="two@example.com"' in response.text


def test_the_tables_download_what_they_select_as_csv(client: TestClient, site: Site) -> None:
    assert sign_in(client, site, site.admin_email) == 303
    premium = '{"all":[{"field":"attributes.plan","op":"eq","value":"premium"}]}'
    everyone = client.get("/users/export.csv", params={"filter": premium, "order": "desc"})
    assert everyone.status_code == 200
    assert everyone.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = everyone.headers["content-disposition"]
    assert re.fullmatch(
        rf'attachment; filename="{site.slug}-users-\d{{4}}-\d\d-\d\d\.csv"', disposition
    )
    rows = list(csv.DictReader(io.StringIO(everyone.text)))
    assert len(rows) >= site.premium  # other tests of the run may add some
    assert {r["attributes.plan"] for r in rows} == {"Premium"}  # the option as shown
    names = [r["full_name"] for r in rows]
    assert names == sorted(names, key=str.casefold, reverse=True)
    group = client.get(f"/groups/{site.key_accounts}/members.csv")
    assert group.status_code == 200
    assert f'filename="{site.slug}-key-accounts-members-' in group.headers["content-disposition"]
    members = list(csv.DictReader(io.StringIO(group.text)))
    assert site.featured in {r["id"] for r in members}
    assert 0 < len(members) < site.people
    bad = client.get(f"/groups/{site.key_accounts}/members.csv", params={"sort": "password_hash"})
    assert bad.status_code == 400
    assert "text/html" in bad.headers["content-type"]
    assert client.get("/groups/0000000000001/members.csv").status_code == 404


def test_a_refused_member_setting_names_its_field(client: TestClient, site: Site) -> None:
    assert sign_in(client, site, site.admin_email) == 303
    path = f"/member-groups/{site.pilots}"
    form = {"csrf_token": csrf(client, path), "join_policy": "closed", "display_order": "1"}
    response = client.post(path, data=form | {"app_description": "Perks\x00"})
    assert response.status_code == 400
    assert "App description: " in response.text
    assert "NUL character" in response.text
