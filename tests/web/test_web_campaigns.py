"""Campaigns in the browser: building one with the live count, launching it and its recipients;
a code campaign's codes; the Member app settings; the support flow on a profile."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from coterie import actor as actors
from coterie import db, ids
from coterie.directory import service as users
from coterie.directory.schemas import UserCreate
from coterie.engagement import member_groups
from coterie.engagement.schemas import MemberGroupUpdate
from coterie.groups import service as groups
from coterie.groups.schemas import GroupCreate
from coterie.workspaces import service as workspaces
from tests.web.conftest import Site

pytestmark = pytest.mark.browser
Shot = Callable[..., None]


@dataclass(frozen=True)
class Audience:
    tag: str
    a: str  # 5 people
    b: str  # 3 people, one of them also in A
    x: str  # 2 people of A
    private: str  # a code group (member app)
    hidden: str  # a hidden closed member group
    person: str  # a person in A, for the profile card


@pytest.fixture(scope="module")
def audience(site: Site) -> Audience:
    tag = uuid.uuid4().hex[:6]
    with db.transaction() as session:
        workspace = workspaces.find_by_slug(session, slug=site.slug)
        assert workspace is not None
        admin = actors.system(workspace.id)
        people = [
            users.create(
                session,
                actor=admin,
                data=UserCreate(full_name=f"Camp {tag} {i}", email=f"camp{i}.{tag}@example.com"),
            ).id
            for i in range(7)
        ]

        def group(name: str, members: list[int]) -> int:
            made = groups.create(session, actor=admin, data=GroupCreate(name=f"{name} {tag}"))
            if members:
                groups.add_members(session, actor=admin, group_id=made.id, user_ids=members)
            return made.id

        a = group("Alpha", people[:5])
        b = group("Beta", [people[4], people[5], people[6]])
        x = group("Exclude", people[:2])
        private = group("Private club", [])
        member_groups.update(
            session,
            actor=admin,
            group_id=private,
            data=MemberGroupUpdate(join_policy="code", user_viewable=True),
        )
        hidden = group("Hidden perks", [])
        member_groups.update(
            session, actor=admin, group_id=hidden, data=MemberGroupUpdate(join_policy="closed")
        )
        encoded = [ids.encode(i) for i in (a, b, x, private, hidden, people[0])]
        return Audience(tag, *encoded)


def _check(page: Any, box: str, name: str) -> None:
    page.locator(f"{box} input[data-name='{name}']").check()


def test_operator_builds_a_campaign_and_sees_the_count(
    page: Any, site: Site, audience: Audience, shot: Shot
) -> None:
    tag = audience.tag
    page.goto(f"{site.url}/campaigns")
    page.click("#new-campaign")
    page.fill("#campaign-name", f"Spring promo {tag}")
    page.select_option("#campaign-kind", "sms")
    expect(page.locator("#audience-live")).to_contain_text("Pick at least one group")
    _check(page, "#include-groups", f"Alpha {tag}")
    expect(page.locator("#audience-count-value")).to_have_text("5")
    _check(page, "#include-groups", f"Beta {tag}")
    expect(page.locator("#audience-count-value")).to_have_text("7")
    _check(page, "#exclude-groups", f"Exclude {tag}")
    expect(page.locator("#audience-count-value")).to_have_text("5")
    page.fill("#campaign-rule", "nosuchfield eq 1")
    expect(page.locator("#audience-message")).to_contain_text("nosuchfield")
    page.fill("#campaign-rule", f'full_name ew "{tag} 6"')
    expect(page.locator("#audience-count-value")).to_have_text("1")
    page.fill("#campaign-rule", "")
    expect(page.locator("#audience-count-value")).to_have_text("5")
    shot(page, "campaign-editor-live-count")
    page.click("#save-campaign")
    expect(page.locator("#campaign-status")).to_have_text("Draft")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#launch-campaign")
    page.wait_for_url("**/recipients")
    expect(page.locator("#recipients-table tbody tr")).to_have_count(5)
    shot(page, "campaign-recipients")
    page.goto(f"{site.url}/campaigns")
    row = page.locator("#campaigns-table tr", has_text=f"Spring promo {tag}")
    expect(row).to_contain_text("Active")
    shot(page, "campaigns-list")


def test_code_campaign_issues_lists_and_revokes_codes(
    page: Any, site: Site, audience: Audience, shot: Shot
) -> None:
    tag = audience.tag
    page.goto(f"{site.url}/campaigns/new")
    page.fill("#campaign-name", f"Club codes {tag}")
    page.select_option("#campaign-kind", "coupon")
    _check(page, "#include-groups", f"Alpha {tag}")
    page.select_option("#campaign-join-group", audience.private)
    page.click("#save-campaign")
    page.click("#campaign-codes")
    expect(page.locator("#codes-window")).to_contain_text("draft")
    page.fill("#code-count", "3")
    page.click("#issue-single button[name=show]")
    expect(page.locator(".issued-code")).to_have_count(3)
    expect(page.locator("#codes-table tbody tr")).to_have_count(3)
    first = page.locator(".issued-code").first.inner_text()
    assert len(first) == 14
    assert first[4] == "-"
    shot(page, "campaign-codes-issued")
    page.locator("#codes-table tbody tr").first.locator("button", has_text="Revoke").click()
    expect(page.locator("#codes-table .badge", has_text="Revoked")).to_have_count(1)
    page.fill("#code-count", "3")
    with page.expect_download() as download:
        page.click("#issue-single button[name=download]")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "code,kind,max_uses,id"
    assert len(text.splitlines()) == 4
    page.goto(page.url)
    expect(page.locator("#codes-table tbody tr")).to_have_count(6)
    shot(page, "campaign-codes")


def test_member_app_settings_page(page: Any, site: Site, audience: Audience, shot: Shot) -> None:
    page.goto(f"{site.url}/member-groups")
    expect(page.locator("#member-groups-table")).to_contain_text(f"Private club {audience.tag}")
    page.goto(f"{site.url}/member-groups/{audience.a}")
    page.select_option("#join-policy", "open")
    page.fill("#app-description", "The alpha testers.")
    page.fill("#display-order", "5")
    page.fill("#ends-at", "2020-01-01T09:00")
    page.fill("#starts-at", "2021-01-01T09:00")
    page.click("#save-member-settings")
    expect(page.locator("#member-settings-error")).to_contain_text("stop time must be after")
    shot(page, "member-app-settings-refused", full=False)
    page.fill("#ends-at", "2099-01-01T09:00")
    page.click("#save-member-settings")
    row = page.locator("#member-groups-table tr", has_text=f"Alpha {audience.tag}")
    expect(row).to_contain_text("Open")
    expect(row).to_contain_text("1 Jan 2099, 09:00")
    shot(page, "member-app-settings")


def test_support_flow_on_a_profile(page: Any, site: Site, audience: Audience, shot: Shot) -> None:
    page.goto(f"{site.url}/users/{audience.person}")
    card = page.locator("#profile-member-groups")
    hidden = card.locator(f"input[data-name='Hidden perks {audience.tag}']")
    expect(hidden).not_to_be_checked()
    hidden.check()
    card.locator("#save-member-groups").click()
    expect(page.locator("#flash-area")).to_contain_text(f"added to Hidden perks {audience.tag}")
    expect(
        page.locator(f"#profile-member-groups input[data-name='Hidden perks {audience.tag}']")
    ).to_be_checked()
    page.locator("#profile-member-groups").scroll_into_view_if_needed()
    shot(page, "profile-member-groups", full=False)
