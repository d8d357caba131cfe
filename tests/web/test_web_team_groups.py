"""Team Management → Groups in the browser: create, expand, add people and bots from the
popovers, see a member gain a bot on their profile and lose it, rename and delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from coterie import actor as actors
from coterie import db
from coterie.access import resources
from coterie.access.schemas import ResourceCreate
from coterie.workspaces import service as workspaces
from tests.web.conftest import Site

pytestmark = pytest.mark.browser
Shot = Callable[..., None]
LONER_EMAIL = "john.1@example.com"  # the person in no group (conftest: person 1)


@pytest.fixture(scope="module")
def catalog(site: Site) -> None:
    with db.transaction() as session:
        workspace = workspaces.find_by_slug(session, slug=site.slug)
        assert workspace is not None
        admin = actors.system(workspace.id)
        for kind, name, features in (
            ("bot", "Closer", ["voice", "scoring"]),
            ("bot", "Greeter", ["chat"]),
            ("persona", "Skeptical CFO", []),
        ):
            data = ResourceCreate(kind=kind, name=name, features=features)
            resources.create(session, actor=admin, data=data)


def row(page: Any, name: str) -> Any:
    return page.locator(f".team-row[data-name='{name}']")


def create_group(page: Any, name: str, parent: str | None = None) -> None:
    page.click("#create-team-group")
    page.locator("#create-group-modal").wait_for(state="visible")
    page.fill("#new-group-name", name)
    if parent:
        page.select_option("#new-group-parent", label=f"{parent}")
    page.click("#create-group-submit")
    row(page, name).wait_for()


def expand(page: Any, name: str) -> Any:
    row(page, name).click()
    gid = row(page, name).get_attribute("data-group")
    panel = page.locator(f"#panel-{gid} .team-panel")
    panel.wait_for()
    return panel, gid


def test_member_gains_and_loses_a_bot(page: Any, site: Site, shot: Shot, catalog: None) -> None:
    page.goto(f"{site.url}/team/groups")
    expect(page.locator("#nav-team")).to_have_attribute("aria-current", "page")
    create_group(page, "Sales Floor")
    create_group(page, "Night Shift", parent="Sales Floor")
    assert "Night Shift" in row(page, "Night Shift").inner_text()
    shot(page, "60-team-groups")

    # the subgroup gets the person, its parent gets the bot
    panel, night = expand(page, "Night Shift")
    page.click(f"#add-users-{night}")
    popover = page.locator(f"#choices-users-{night}")
    popover.locator("input[name=q]").fill("john.1@")
    choice = popover.locator(".team-choice", has_text=LONER_EMAIL)
    choice.wait_for()
    assert "John" in choice.inner_text()
    shot(page, "61-team-add-user-popover", full=False)
    choice.click()
    expect(panel.locator(".team-card[data-person]")).to_have_count(1)
    expect(page.locator(f"#count-users-{night}")).to_have_text("1")
    floor_id = row(page, "Sales Floor").get_attribute("data-group")
    expect(page.locator(f"#count-subtree-{floor_id}")).to_have_text("1")  # the parent's count
    person_link = panel.locator(".team-card[data-person] a").first
    profile_url = site.url + str(person_link.get_attribute("href"))

    panel_top, floor = expand(page, "Sales Floor")
    page.click(f"#add-bot-{floor}")
    bots = page.locator(f"#choices-bot-{floor}")
    bots.locator(".team-choice", has_text="Closer").click()
    card = panel_top.locator(".team-card[data-resource='Closer']")
    card.wait_for()
    assert "voice" in card.inner_text()
    assert "scoring" in card.inner_text()
    expect(page.locator(f"#count-bot-{floor}")).to_have_text("1")
    page.click(f"#add-bot-{floor}")  # the popover offers only what the group lacks
    offered = page.locator(f"#choices-bot-{floor} .team-choice")
    # expect() waits for htmx to replace the popover's earlier list
    expect(offered.filter(has_text="Closer")).to_have_count(0)
    expect(offered.filter(has_text="Greeter")).to_have_count(1)
    page.keyboard.press("Escape")
    shot(page, "62-team-group-expanded")

    page.goto(profile_url)
    grant = page.locator("#profile-access .access-grant[data-resource='Closer']")
    grant.wait_for()
    assert "via Night Shift ← Sales Floor" in grant.inner_text()
    shot(page, "63-profile-gains-bot")

    page.goto(f"{site.url}/team/groups")
    panel, night = expand(page, "Night Shift")
    member = panel.locator(".team-card[data-person]").first
    member.hover()
    member.locator(".team-trash").click()
    expect(panel.locator(".team-card[data-person]")).to_have_count(0)
    expect(page.locator(f"#count-users-{night}")).to_have_text("0")

    page.goto(profile_url)
    page.locator("#profile-access").wait_for()
    expect(page.locator("#profile-access .access-grant")).to_have_count(0)
    expect(page.locator("#access-empty")).to_be_visible()
    shot(page, "64-profile-loses-bot")


def test_rename_and_delete_with_confirmation(page: Any, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/team/groups")
    create_group(page, "Temp Crew")
    row(page, "Temp Crew").locator("button[title=Rename]").click()
    page.locator("#rename-group-modal").wait_for(state="visible")
    page.fill("#rename-group-name", "Weekend Crew")
    page.click("#rename-group-submit")
    row(page, "Weekend Crew").wait_for()

    row(page, "Weekend Crew").locator("button[title=Delete]").click()
    modal = page.locator("#delete-group-modal")
    modal.wait_for(state="visible")
    assert "Weekend Crew" in modal.inner_text()
    shot(page, "65-team-delete-confirm", full=False)
    page.click("#delete-group-cancel")
    modal.wait_for(state="hidden")
    expect(row(page, "Weekend Crew")).to_have_count(1)  # Cancel changed nothing

    row(page, "Weekend Crew").locator("button[title=Delete]").click()
    modal.wait_for(state="visible")
    page.click("#delete-group-confirm")
    page.wait_for_load_state()
    expect(row(page, "Weekend Crew")).to_have_count(0)
    assert "Deleted the group Weekend Crew" in page.locator("#flash-area").inner_text()
