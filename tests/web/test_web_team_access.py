"""Team Management in a browser: bots and personas made, edited and deleted; reports (only with
the reporting capability) with their CSV; a scoped operator's new groups go inside their scope;
an identified-only operator sees only themselves and the people assigned to them."""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from coterie import actor as actors
from coterie import db, ids
from coterie.access import resources
from coterie.access.operators import service as operators
from coterie.access.schemas import ResourceCreate
from coterie.app import create_app
from coterie.directory import service as users
from coterie.directory.schemas import UserCreate
from coterie.groups import service as groups
from coterie.groups.schemas import GroupCreate
from coterie.workspaces import service as workspaces
from tests.web.conftest import VIEWPORT, Site

pytestmark = pytest.mark.browser
Shot = Any
PASSWORD = "correct horse battery"
FAKE = ids.encode(4242)


@dataclass(frozen=True)
class Crew:
    slug: str
    north: str  # group ids
    south: str
    nia: str  # people: assigned to Ida (in North East), and not (in South)
    otto: str


def _seed() -> Crew:
    """North > North East (Nia, Sam's scope), South (Otto); operators of every kind."""
    slug = f"crew-{uuid.uuid4().hex[:6]}"
    with db.transaction() as session:
        workspace = workspaces.create(session, slug=slug, name="Crew Co", time_zone="UTC")
        system = actors.system(workspace.id)

        def person(name: str, **fields: Any) -> Any:
            email = f"{name.lower().replace(' ', '.')}@crew.example"
            return users.create(
                session, actor=system, data=UserCreate(full_name=name, email=email, **fields)
            )

        def group(name: str, parent: Any = None) -> Any:
            data = GroupCreate(name=name, parent_id=ids.encode(parent.id) if parent else None)
            return groups.create(session, actor=system, data=data)

        person("Ada Admin", role="admin", password=PASSWORD)
        north, south = group("North"), group("South")
        east = group("North East", north)
        nia, otto = person("Nia North"), person("Otto South")
        groups.add_members(session, actor=system, group_id=east.id, user_ids=[nia.id])
        groups.add_members(session, actor=system, group_id=south.id, user_ids=[otto.id])
        closer = resources.create(
            session,
            actor=system,
            data=ResourceCreate(kind="bot", name="Closer", features=["voice"]),
        )
        resources.assign(session, actor=system, group_ids=[north.id], resource_ids=[closer.id])
        for name, role, scope, capabilities in (
            ("Sam Scoped", "standard", [north.id], ["reporting"]),
            ("Rex Reader", "read_only", [], []),
            ("Ida Identified", "identified_only", [east.id], []),
        ):
            made = person(name, role=role, password=PASSWORD)
            operators.set_permissions(
                session, actor=system, user_id=made.id, group_ids=scope, capabilities=capabilities
            )
    return Crew(
        slug=slug,
        north=ids.encode(north.id),
        south=ids.encode(south.id),
        nia=ids.encode(nia.id),
        otto=ids.encode(otto.id),
    )


@pytest.fixture(scope="module")
def crew(site: Site) -> Crew:
    return _seed()


def _signed_in(browser: Any, site: Site, crew: Crew, name: str) -> Any:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{site.url}/login")
    page.fill("#workspace", crew.slug)
    page.fill("#email", f"{name.lower().replace(' ', '.')}@crew.example")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/users**")
    page.js_errors = errors
    return page


def _close(page: Any) -> None:
    assert page.js_errors == []
    page.context.close()


def test_bots_and_personas_made_edited_and_deleted(
    browser: Any, site: Site, crew: Crew, shot: Shot
) -> None:
    page = _signed_in(browser, site, crew, "Ada Admin")
    page.goto(f"{site.url}/team/resources")
    expect(page.locator(".resource-row[data-name='Closer']")).to_be_visible()
    page.click("#create-resource")
    page.locator("#resource-modal").wait_for(state="visible")
    page.select_option("#resource-kind", "persona")
    page.fill("#resource-name", "Skeptical CFO")
    page.fill("#resource-description", "Pushes back on price.")
    page.fill("#resource-features", "voice, objections")
    page.wait_for_function(
        "getComputedStyle(document.getElementById('resource-modal')).opacity === '1'"
    )
    shot(page, "95-resource-create", full=False)
    with page.expect_navigation():
        page.click("#resource-submit")
    made = page.locator(".resource-row[data-name='Skeptical CFO']")
    expect(made.locator(".resource-kind")).to_have_text("persona")
    expect(made.locator(".resource-features .badge")).to_have_text(["voice", "objections"])
    # Another kind by name; a bad one is refused in the dialog, with what was typed kept.
    page.click("#create-resource")
    page.select_option("#resource-kind", "other")
    page.fill("#resource-other-kind", "Play Book!")
    page.fill("#resource-name", "Renewal script")
    with page.expect_navigation():
        page.click("#resource-submit")
    expect(page.locator("#resource-modal")).to_be_visible()
    expect(page.locator("#resource-problem")).to_contain_text("lower-case")
    expect(page.locator("#resource-name")).to_have_value("Renewal script")
    page.wait_for_function(
        "getComputedStyle(document.getElementById('resource-modal')).opacity === '1'"
    )
    shot(page, "96-resource-refused", full=False)
    page.fill("#resource-other-kind", "playbook")
    with page.expect_navigation():
        page.click("#resource-submit")
    expect(page.locator(".resource-row[data-name='Renewal script'] .resource-kind")).to_have_text(
        "playbook"
    )
    # Edit: the dialog opens filled in; the kind stays.
    page.click("button[aria-label='Edit Skeptical CFO']")
    expect(page.locator("#resource-name")).to_have_value("Skeptical CFO")
    expect(page.locator("#resource-kind-field")).to_be_hidden()
    page.fill("#resource-name", "Sceptical CFO")
    page.fill("#resource-features", "voice")
    with page.expect_navigation():
        page.click("#resource-submit")
    edited = page.locator(".resource-row[data-name='Sceptical CFO']")
    expect(edited.locator(".resource-features .badge")).to_have_text(["voice"])
    shot(page, "97-resources")
    # Delete: Cancel keeps it, Delete removes it.
    page.click("button[aria-label='Delete Sceptical CFO']")
    page.click("#delete-resource-cancel")
    expect(page.locator("#delete-resource-modal")).to_be_hidden()
    expect(edited).to_be_visible()
    page.click("button[aria-label='Delete Sceptical CFO']")
    with page.expect_navigation():
        page.click("#delete-resource-confirm")
    expect(page.locator(".resource-row[data-name='Sceptical CFO']")).to_have_count(0)
    _close(page)


def test_reports_with_the_capability_only(
    browser: Any, site: Site, crew: Crew, shot: Shot, tmp_path: Path
) -> None:
    page = _signed_in(browser, site, crew, "Sam Scoped")
    page.goto(f"{site.url}/team/groups")
    with page.expect_navigation():
        page.click("#team-tab-reports")
    rows = page.locator("#report-table tbody tr[data-group]")
    expect(rows).to_have_count(2)  # North and North East: Sam's scope, not South
    north = page.locator("tr[data-group='North']")
    expect(north.locator("[data-col=members_with_subgroups]")).to_have_text("1")
    expect(north.locator("[data-col=bots]")).to_have_text("1")
    shot(page, "98-reports-groups")
    with page.expect_navigation():
        page.click("#tab-resources")
    expect(page.locator("tr[data-resource='Closer'] [data-col=people]")).to_have_text("1")
    with page.expect_download() as download:
        page.click("#access-download")
    target = tmp_path / "access.csv"
    download.value.save_as(target)
    rows_csv = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [(r["name"], r["resource"], r["held_by"]) for r in rows_csv] == [
        ("Nia North", "Closer", "North")
    ]
    _close(page)
    reader = _signed_in(browser, site, crew, "Rex Reader")
    reader.goto(f"{site.url}/team/groups")
    expect(reader.locator("#team-tab-reports")).to_have_count(0)
    answer = reader.goto(f"{site.url}/team/reports")
    assert answer is not None
    assert answer.status == 403
    # Bots & personas: a read-only operator sees the catalog, with no controls to change it.
    reader.goto(f"{site.url}/team/resources")
    expect(reader.locator(".resource-row[data-name='Closer']")).to_be_visible()
    expect(reader.locator("#create-resource")).to_have_count(0)
    expect(reader.locator("button[aria-label='Delete Closer']")).to_have_count(0)
    _close(reader)


def test_a_scoped_operator_creates_groups_inside_their_scope(
    browser: Any, site: Site, crew: Crew, shot: Shot
) -> None:
    page = _signed_in(browser, site, crew, "Sam Scoped")
    page.goto(f"{site.url}/groups/new")
    options = page.locator("#group-parent option").all_inner_texts()
    assert options == ["Choose a group of your scope…", "North", "— North East"]
    page.fill("#group-name-input", "Top level try")
    page.click("#wizard-next")
    expect(page.locator("#group-parent")).to_have_class("form-select is-invalid")
    expect(page.locator("body")).to_contain_text("choose a parent group inside it")
    shot(page, "99-wizard-parent-required")
    page.select_option("#group-parent", label="North")
    page.click("#wizard-next")
    expect(page.locator("#wizard-title")).to_have_text("Configuration")
    page.locator("input[name=selection][value=manual]").check(force=True)
    for _ in range(3):
        page.click("#wizard-next")
    expect(page.locator("[data-summary=parent]")).to_have_text("North")
    with page.expect_navigation():
        page.click("#wizard-save")
    page.goto(f"{site.url}/team/groups")
    made = page.locator(".team-row[data-name='Top level try']")
    expect(made).to_be_visible()
    assert made.locator(".team-name").get_attribute("style") == "padding-left: 1.5rem"
    _close(page)


def test_an_identified_only_operator_sees_their_assigned_people(
    browser: Any, site: Site, crew: Crew
) -> None:
    page = _signed_in(browser, site, crew, "Ida Identified")
    names = page.locator("#users-table tbody tr[data-user] .user-name").all_inner_texts()
    assert sorted(names) == ["Ida Identified", "Nia North"]
    _close(page)


def _web_pages(app: Any) -> list[str]:
    """The path of every GET page of the web UI (the routes outside the OpenAPI)."""
    found = []
    for included in app.routes:
        contexts = getattr(included, "effective_route_contexts", None)
        if contexts is None:
            continue
        for route in contexts():
            if not route.include_in_schema and "GET" in (route.methods or ()):
                found.append(route.path_format)
    return found


def test_every_web_page_keeps_identified_only_to_their_own_people(site: Site, crew: Crew) -> None:
    """Ida (identified-only, assigned North East) walks every GET page of the web UI with the
    outsider's and then the assigned person's ids in the path: Otto never shows."""
    with TestClient(create_app(), base_url="http://testserver") as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        signed = client.post(
            "/login",
            data={
                "csrf_token": token.group(1),
                "workspace": crew.slug,
                "email": "ida.identified@crew.example",
                "password": PASSWORD,
            },
            follow_redirects=False,
        )
        assert signed.status_code == 303
        pages = _web_pages(client.app)
        assert len(pages) >= 30
        for path in pages:
            for person, group in ((crew.otto, crew.south), (crew.nia, crew.north)):
                ids_in = {"user_id": person, "group_id": group}
                url = re.sub(r"\{(\w+)\}", lambda m, i=ids_in: i.get(m.group(1), FAKE), path)
                answer = client.get(url, follow_redirects=False)
                assert answer.status_code < 500, (url, answer.status_code)
                assert "Otto South" not in answer.text, url
                assert "otto.south@crew.example" not in answer.text, url
        assert client.get(f"/users/{crew.otto}").status_code == 404
        mine = client.get(f"/users/{crew.nia}")
        assert mine.status_code == 200
        assert "Nia North" in mine.text
        assert client.get("/team/groups").status_code == 403
