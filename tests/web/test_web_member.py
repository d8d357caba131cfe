"""The member page on a phone-sized screen: join an open group with the toggle, join a private
one with a code, and a wrong code's message."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from coterie import actor as actors
from coterie import db, ids
from coterie.directory import service as users
from coterie.directory.schemas import UserCreate
from coterie.engagement import campaigns, codes, member_groups, member_tokens
from coterie.engagement.schemas import CampaignCreate, JoinCodesIssue, MemberGroupUpdate
from coterie.groups import service as groups
from coterie.groups.schemas import GroupCreate
from coterie.workspaces import service as workspaces
from tests.web.conftest import Site

pytestmark = pytest.mark.browser
Shot = Callable[..., None]
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class App:
    token: str
    code: str
    runners: str
    insiders: str
    user_id: int
    workspace_id: int


@pytest.fixture(scope="module")
def app_member(site: Site) -> App:
    """Two member groups (open and private), a launched code campaign with one single-use code,
    and a member with a token, in the site's workspace."""
    tag = uuid.uuid4().hex[:6]
    with db.transaction() as session:
        workspace = workspaces.find_by_slug(session, slug=site.slug)
        assert workspace is not None
        admin = actors.system(workspace.id)

        def member_group(name: str, **settings: Any) -> int:
            group = groups.create(session, actor=admin, data=GroupCreate(name=name))
            member_groups.update(
                session, actor=admin, group_id=group.id, data=MemberGroupUpdate(**settings)
            )
            return group.id

        runners = member_group(
            f"Running club {tag}",
            join_policy="open",
            user_viewable=True,
            app_description="Sunday 5k around the park, all paces welcome.",
            display_order=1,
        )
        insiders = member_group(
            f"Insiders {tag}",
            join_policy="code",
            user_viewable=True,
            app_description="Early access to new features.",
            display_order=2,
        )
        now = datetime.now(UTC)
        campaign = campaigns.create(
            session,
            actor=admin,
            data=CampaignCreate(
                name=f"Insider codes {tag}",
                kind="coupon",
                include_group_ids=[ids.encode(runners)],
                join_group_id=ids.encode(insiders),
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(days=7),
            ),
        )
        campaigns.launch(session, actor=admin, campaign_id=campaign.id)
        [(_, code)] = codes.issue(
            session, actor=admin, campaign_id=campaign.id, data=JoinCodesIssue(kind="single")
        )
        person = users.create(
            session,
            actor=admin,
            data=UserCreate(first_name="Mina", last_name="Member", email=f"mina.{tag}@example.com"),
        )
        _, token = member_tokens.issue(session, actor=admin, user_id=person.id)
        return App(token, code, f"Running club {tag}", f"Insiders {tag}", person.id, workspace.id)


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and "status of 4" not in m.text else None
        ),
    )
    yield tab
    context.close()
    assert errors == []


def _enter(phone: Any, site: Site, app: App) -> None:
    phone.goto(f"{site.url}/member/enter?token={app.token}")
    phone.wait_for_url(f"{site.url}/member")
    expect(phone.locator("h1")).to_have_text("Your groups")


def test_without_a_token_the_page_says_to_open_it_from_the_app(phone: Any, site: Site) -> None:
    phone.goto(f"{site.url}/member")
    expect(phone.locator("#member-signed-out")).to_contain_text("Open this page from the app")
    phone.goto(f"{site.url}/member/enter?token=cmt_nope_nope")
    expect(phone.locator("#member-signed-out")).to_contain_text("member token")


def test_member_joins_an_open_group_with_the_toggle(
    phone: Any, site: Site, app_member: App, shot: Shot
) -> None:
    _enter(phone, site, app_member)
    card = phone.locator(".member-group", has_text=app_member.runners)
    expect(card).to_contain_text("Sunday 5k around the park")
    shot(phone, "member-page-phone")
    expect(phone.locator("#member-mine")).not_to_contain_text(app_member.runners)
    card.locator(".member-toggle").check()
    expect(phone.locator("#member-message")).to_contain_text(f"You joined {app_member.runners}")
    expect(phone.locator("#member-mine")).to_contain_text(app_member.runners)
    expect(
        phone.locator(".member-group", has_text=app_member.runners).locator(".member-toggle")
    ).to_be_checked()
    shot(phone, "member-page-joined")
    with db.get_sessionmaker()() as session:
        joined = {
            g.name
            for _, g in groups.groups_of(
                session, actor=actors.system(app_member.workspace_id), user_id=app_member.user_id
            )
        }
    assert app_member.runners in joined
    # The page is laid out for the phone: nothing wider than the screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.locator(".member-group", has_text=app_member.runners).locator(".member-toggle").uncheck()
    expect(phone.locator("#member-message")).to_contain_text(f"You left {app_member.runners}")
    expect(phone.locator("#member-mine")).not_to_contain_text(app_member.runners)


def test_member_enters_a_valid_code_then_an_invalid_one(
    phone: Any, site: Site, app_member: App, shot: Shot
) -> None:
    _enter(phone, site, app_member)
    private = phone.locator(".member-group", has_text=app_member.insiders)
    expect(private).to_contain_text("Private")
    phone.fill("#member-code", app_member.code.lower())
    phone.click(".member-code-form button[type=submit]")
    expect(phone.locator("#member-message")).to_contain_text(f"Welcome to {app_member.insiders}!")
    expect(phone.locator("#member-mine")).to_contain_text(app_member.insiders)
    shot(phone, "member-code-joined")
    phone.fill("#member-code", "WRNG-CODE-XXXX")
    phone.click(".member-code-form button[type=submit]")
    expect(phone.locator("#member-message")).to_contain_text(codes.REFUSED)
    expect(phone.locator("#member-message .alert")).to_have_attribute("data-kind", "danger")
    shot(phone, "member-code-refused")


def test_operator_opens_the_member_page_as_the_person_sees_it(
    page: Any, site: Site, app_member: App, shot: Shot
) -> None:
    page.goto(f"{site.url}/users/{ids.encode(app_member.user_id)}")
    button = page.locator("#profile-member-groups #open-member-page")
    expect(button).to_be_visible()
    shot(page, "profile-member-page-button")
    with page.context.expect_page() as opened:
        button.click()
    tab = opened.value
    tab.wait_for_url(f"{site.url}/member")
    expect(tab.locator("h1")).to_have_text("Your groups")
    expect(tab.locator(".member-group", has_text=app_member.runners)).to_be_visible()
    tab.close()
