"""Groups & Users in a browser: the tree with breadcrumbs, the Subgroups / Users toggle, filters
saved and reset, sorting, paging, CSV, Create operator step by step, and the edit view."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from coterie import actor as actors
from coterie import db, ids
from coterie.access.operators import service as operators
from coterie.directory import service as users
from coterie.directory.schemas import TimelineCreate, UserCreate
from coterie.groups import service as groups
from coterie.groups.schemas import GroupCreate
from coterie.workspaces import service as workspaces
from tests.web.conftest import VIEWPORT, Site

Shot = Any
ROLES = ("standard", "read_only", "standard", "identified_only", "standard", "admin")


@dataclass(frozen=True)
class Team:
    slug: str
    admin: str  # emails
    reader: str
    emea: str  # group ids
    sales: str
    apac: str
    ann: str  # a standard operator in EMEA Sales, with a note owned by it


def _seed() -> Team:
    """A workspace of its own: EMEA > EMEA Sales > EMEA Sales North, APAC; 14 operators."""
    slug = f"ops-{uuid.uuid4().hex[:6]}"
    with db.transaction() as session:
        workspace = workspaces.create(session, slug=slug, name="Ops Co", time_zone="UTC")
        system = actors.system(workspace.id)

        def person(name: str, **fields: Any) -> Any:
            email = f"{name.lower().replace(' ', '.')}@ops.example"
            data = UserCreate(full_name=name, email=email, **fields)
            return users.create(session, actor=system, data=data)

        def group(name: str, parent: Any = None) -> Any:
            data = GroupCreate(name=name, parent_id=ids.encode(parent.id) if parent else None)
            return groups.create(session, actor=system, data=data)

        person("Olive Admin", role="admin", password="correct horse battery")
        person("Rex Reader", role="read_only", password="correct horse battery")
        emea = group("EMEA")
        sales = group("EMEA Sales", emea)
        north = group("EMEA Sales North", sales)
        apac = group("APAC")
        ann = person("Ann Agent", role="standard", agent_id="AG-01", scoring_enabled=True)
        staff = [ann]
        for i in range(12):
            staff.append(
                person(
                    f"Op {chr(65 + i)} Person",
                    role=ROLES[i % len(ROLES)],
                    agent_id=f"AG-{20 + i}",
                    scoring_enabled=i % 2 == 0,
                    roaming=i % 3 == 0,
                )
            )
        contact = person("Carl Contact")
        for member, target in ((ann, sales), (staff[1], north), (staff[2], apac), (contact, sales)):
            groups.add_members(session, actor=system, group_id=target.id, user_ids=[member.id])
        groups.add_members(
            session, actor=system, group_id=emea.id, user_ids=[s.id for s in staff[3:]]
        )
        from coterie.directory import timeline

        entry = timeline.create(
            session,
            actor=system,
            user_id=ann.id,
            data=TimelineCreate(kind="note", body="Owned by EMEA Sales"),
        )
        entry.group_id = sales.id
        operators.set_permissions(
            session, actor=system, user_id=staff[1].id, group_ids=[sales.id], capabilities=[]
        )
    return Team(
        slug=slug,
        admin="olive.admin@ops.example",
        reader="rex.reader@ops.example",
        emea=ids.encode(emea.id),
        sales=ids.encode(sales.id),
        apac=ids.encode(apac.id),
        ann=ids.encode(ann.id),
    )


@pytest.fixture(scope="module")
def team(site: Site) -> Team:
    return _seed()


def _signed_in(browser: Any, site: Site, team: Team, email: str) -> Any:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{site.url}/login")
    page.fill("#workspace", team.slug)
    page.fill("#email", email)
    page.fill("#password", site.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/users**")
    page.js_errors = errors
    return page


@pytest.fixture
def admin_page(browser: Any, site: Site, team: Team) -> Any:
    page = _signed_in(browser, site, team, team.admin)
    yield page
    assert page.js_errors == []
    page.context.close()


def _go(page: Any, selector: str) -> None:
    """Click a link or submit button and wait for the page it opens."""
    with page.expect_navigation():
        page.click(selector)


def _names(page: Any) -> list[str]:
    rows = page.locator("#roster-table tbody tr[data-user]")
    return [str(n) for n in rows.evaluate_all("rows => rows.map(r => r.dataset.user)")]


def test_tree_breadcrumbs_and_toggle(admin_page: Any, site: Site, team: Team, shot: Shot) -> None:
    page = admin_page
    page.click("#nav-operators")
    page.wait_for_url(f"{site.url}/operators**")
    expect(page.locator("#group-tree")).to_contain_text("EMEA")
    assert "Carl Contact" not in _names(page)  # a contact, not an operator
    assert len(_names(page)) == 15
    shot(page, "80-operators-users")

    page.locator("#group-tree a[data-node='EMEA']").click()
    expect(page.locator("#breadcrumbs")).to_contain_text("EMEA")
    expect(page.locator("#group-tree")).to_contain_text("EMEA Sales")  # the path opens
    _go(page, "#mode-groups")
    expect(page.locator("#roster-table")).to_contain_text("EMEA Sales")
    assert page.locator("#roster-table tbody tr[data-group]").count() == 1
    shot(page, "81-operators-subgroups")
    with page.expect_download() as download:
        page.click("#download-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][1:5] == ["name", "direct_members", "members_with_subgroups", "subgroups"]
    assert [r[1:5] for r in rows[1:]] == [["EMEA Sales", "2", "3", "1"]]

    page.locator("#roster-table tbody tr[data-group='EMEA Sales'] td").nth(2).click()
    expect(page.locator("#breadcrumbs")).to_contain_text("EMEA Sales")
    crumbs = page.locator("#breadcrumbs li").all_inner_texts()
    assert [c.strip() for c in crumbs] == ["All groups", "EMEA", "EMEA Sales"]
    expect(page.locator("#roster-table")).to_contain_text("EMEA Sales North")
    _go(page, "#mode-users")
    # Members of EMEA Sales and of its subgroup; the contact is not an operator.
    assert sorted(_names(page)) == ["Ann Agent", "Op A Person"]
    shot(page, "82-operators-breadcrumbs")
    page.locator("#breadcrumbs a", has_text="All groups").click()
    expect(page.locator("#breadcrumbs li")).to_have_count(1)


def test_filters_saved_and_reset_sorting_paging_and_csv(
    admin_page: Any, site: Site, team: Team, shot: Shot
) -> None:
    page = admin_page
    page.goto(f"{site.url}/operators?mode=users")
    page.select_option("#filter-role", "standard")
    page.select_option("#filter-scoring", "yes")
    _go(page, "#apply-filters")
    expect(page.locator("#results-count")).to_contain_text("operator")
    found = _names(page)
    assert found
    assert "Ann Agent" in found
    assert all(r == "Standard" for r in page.locator("td[data-col=role]").all_inner_texts())
    page.click("#save-filters")
    page.fill("#filters-name", "Scoring standards")
    page.check("#filters-default")
    shot(page, "83-operators-save-filters", full=False)
    _go(page, "#save-filters-submit")
    expect(page.locator("#flash-area")).to_contain_text("Scoring standards")
    page.goto(f"{site.url}/operators")  # the default opens with the saved filters
    assert page.locator("#filter-role").input_value() == "standard"
    assert sorted(_names(page)) == sorted(found)
    page.select_option("#filter-role", "")
    page.select_option("#filter-scoring", "")
    _go(page, "#apply-filters")
    assert len(_names(page)) == 15
    _go(page, "#reset-filters")
    assert page.locator("#filter-role").input_value() == "standard"

    page.goto(f"{site.url}/operators?mode=users&size=10")
    _go(page, "th a[data-sort=agent_id]")
    page.wait_for_url("**sort=agent_id**")
    shown = [t for t in page.locator("td[data-col=agent_id]").all_inner_texts() if t != "—"]
    assert shown == sorted(shown)
    assert len(_names(page)) == 10
    _go(page, "th a[data-sort=agent_id]")
    page.wait_for_url("**order=desc**")
    shown = [t for t in page.locator("td[data-col=agent_id]").all_inner_texts() if t != "—"]
    assert shown == sorted(shown, reverse=True)
    assert "AG-31" in shown
    _go(page, "a[data-page=next]")
    assert len(_names(page)) == 5
    _go(page, "a[data-page=first]")
    assert len(_names(page)) == 10
    _go(page, "a[data-page=last]")  # the last full page, ending with the last operator
    assert len(_names(page)) == 10
    assert page.locator("a[data-page=next]").count() == 0
    _go(page, "a[data-size='25']")
    assert len(_names(page)) == 15
    shot(page, "84-operators-sorted")

    with page.expect_download() as download:
        page.click("#download-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["id", "full_name"]
    assert len(rows) == 16


def test_create_operator_step_by_step(admin_page: Any, site: Site, team: Team, shot: Shot) -> None:
    page = admin_page
    page.goto(f"{site.url}/operators?mode=users")
    _go(page, "#create-operator")
    expect(page.locator("label.required[for=op-full_name]")).to_be_visible()
    expect(page.locator("#create-submit")).to_be_hidden()
    page.click("#step-next")  # nothing filled: the step stays, the field is flagged
    expect(page.locator("#op-full_name")).to_have_class("form-control is-invalid")
    expect(page.locator("#op-role")).to_be_hidden()
    shot(page, "85-create-operator-step1")
    page.fill("#op-full_name", "Nina New")
    page.fill("#op-email", "nina@ops.example")
    page.fill("#op-nicknames", "Nin, Ninny")
    page.click("#step-next")
    expect(page.locator("#op-role")).to_be_visible()
    page.select_option("#op-role", "read_only")
    page.fill("#op-password", "long enough pass")
    page.locator("label", has_text="APAC").first.click()
    page.locator("label", has_text="Reporting").click()
    shot(page, "86-create-operator-step2")
    page.click("#step-next")
    page.fill("#op-agent_id", "AG-01")  # taken by Ann
    page.check("#op-scoring")
    shot(page, "87-create-operator-step3")
    _go(page, "#create-submit")
    expect(page.locator("[data-error=agent_id]")).to_contain_text("Ann Agent")
    expect(page.locator("#op-agent_id")).to_be_visible()  # reopened at the step of the error
    page.fill("#op-agent_id", "AG-99")
    page.click("#step-back")
    page.click("#step-back")
    page.click("#step-next")
    page.fill("#op-password", "long enough pass")
    page.click("#step-next")
    _go(page, "#create-submit")
    expect(page.locator("#flash-area")).to_contain_text("Nina New can now sign in")
    expect(page.locator("#operator-role")).to_have_text("Read only")
    assert page.locator("#nicknames").input_value() == "Nin, Ninny"
    assert page.locator("#agent_id").input_value() == "AG-99"
    assert page.locator("#scope-choices input:checked").count() == 1
    shot(page, "88-operator-edit")


def test_edit_view_move_nicknames_password_and_delete(
    admin_page: Any, site: Site, team: Team, shot: Shot
) -> None:
    page = admin_page
    page.goto(f"{site.url}/operators?mode=users")
    page.locator("tr[data-user='Ann Agent'] td[data-col=agent_id]").click()
    page.wait_for_url(f"{site.url}/operators/{team.ann}")
    page.fill("#nicknames", "Annie, A.")
    _go(page, "#save-details")
    expect(page.locator("#flash-area")).to_contain_text("Details saved")
    assert page.locator("#nicknames").input_value() == "Annie, A."

    page.fill("#agent_id", "AG-20")  # Op A Person's
    _go(page, "#save-agent")
    expect(page.locator("#flash-area")).to_contain_text("Op A Person")

    page.fill("#new_password", "another long one")
    _go(page, "#save-password")
    expect(page.locator("#flash-area")).to_contain_text("Password changed")

    page.select_option("#to_group_id", label="APAC")
    page.check("#transfer_records")
    _go(page, "#move-submit")
    flash = page.locator("#flash-area")
    expect(flash).to_contain_text("Moved Ann Agent from EMEA Sales to APAC with 1 record")
    expect(flash).to_contain_text("Permissions may need updating")
    shot(page, "89-operator-moved")
    with db.get_sessionmaker()() as session:
        from coterie.directory.models import TimelineEntry

        owned = session.query(TimelineEntry.group_id).filter_by(user_id=ids.decode(team.ann))
        assert [row[0] for row in owned] == [ids.decode(team.apac)]

    page.click("#delete-operator")
    expect(page.locator("#delete-modal")).to_be_visible()
    shot(page, "90-operator-delete-confirm", full=False)
    page.click("#delete-cancel")
    expect(page.locator("#delete-modal")).to_be_hidden()
    page.reload()
    page.click("#delete-operator")
    _go(page, "#delete-confirm")
    page.wait_for_url("**/operators?mode=users")
    expect(page.locator("#flash-area")).to_contain_text("Deleted Ann Agent")
    assert "Ann Agent" not in _names(page)


def test_read_only_operator_sees_no_edit_controls(
    browser: Any, site: Site, team: Team, shot: Shot
) -> None:
    page = _signed_in(browser, site, team, team.reader)
    assert page.locator("#nav-operators").count() == 0
    answer = page.goto(f"{site.url}/operators")
    assert answer is not None
    assert answer.status == 403
    person = None
    with db.get_sessionmaker()() as session:
        from coterie.directory.models import User

        found = session.query(User).filter_by(email="op.c.person@ops.example").one()
        person = ids.encode(found.id)
    pages = [
        "/users",
        f"/users/{person}",
        "/groups",
        f"/groups/{team.sales}",
        "/team/groups",
    ]
    for number, path in enumerate(pages):
        page.goto(f"{site.url}{path}")
        shot(page, f"91-read-only-{number}")
        # Every form that would change data is gone; what is left is signing out, saved views
        # (the operator's own) and the filters (GET).
        actions = page.locator("form[method=post]").evaluate_all(
            "forms => forms.map(f => f.getAttribute('action'))"
        )
        writing = [a for a in actions if a != "/logout" and not a.startswith("/users/views")]
        assert writing == [], (path, writing)
        for link in ("/users/new", "/groups/new", "/imports/new", "/edit"):
            assert page.locator(f"a[href$='{link}']").count() == 0, (path, link)
        assert page.locator("button:has-text('Delete')").count() == 0, path
    assert page.js_errors == []
    page.context.close()


def test_a_scoped_operator_sees_only_their_groups_and_people(
    browser: Any, site: Site, team: Team, shot: Shot
) -> None:
    with db.transaction() as session:
        workspace = workspaces.find_by_slug(session, slug=team.slug)
        assert workspace is not None
        system = actors.system(workspace.id)
        sue = users.create(
            session,
            actor=system,
            data=UserCreate(
                full_name="Sue Scoped",
                email="sue@ops.example",
                role="read_only",
                password=site.password,
            ),
        )
        operators.set_permissions(
            session,
            actor=system,
            user_id=sue.id,
            group_ids=[ids.decode(team.sales)],
            capabilities=[],
        )
    page = _signed_in(browser, site, team, "sue@ops.example")
    names = page.locator("#users-table tbody tr[data-user] .user-name").all_inner_texts()
    # Members of EMEA Sales and of its subgroup EMEA Sales North; nobody from EMEA or APAC.
    # (Ann Agent is there too unless the edit-view test deleted her first.)
    assert (
        {"Carl Contact", "Op A Person"}
        <= set(names)
        <= {"Ann Agent", "Carl Contact", "Op A Person"}
    )
    shot(page, "92-scoped-all-users")
    page.goto(f"{site.url}/groups")
    listed = page.locator("body").inner_text()
    assert "EMEA Sales North" in listed
    assert "APAC" not in listed
    answer = page.goto(f"{site.url}/groups/{team.apac}")
    assert answer is not None
    assert answer.status == 404
    with db.get_sessionmaker()() as session:
        from coterie.directory.models import User

        outsider = session.query(User).filter_by(email="op.c.person@ops.example").one()
        hidden = ids.encode(outsider.id)
    answer = page.goto(f"{site.url}/users/{hidden}")
    assert answer is not None
    assert answer.status == 404
    assert page.js_errors == []
    page.context.close()
