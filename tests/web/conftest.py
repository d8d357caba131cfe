"""A real server on a seeded SQLite file, and Debian's Chromium driven by Playwright.

The server runs in a thread for the whole session (uvicorn on a free port); each browser test
module launches one Chromium and signs in once, then gives each test a fresh page with that
session cookie. Screenshots of every page state go to `test-output/screenshots/`.
"""

from __future__ import annotations

import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from coterie import actor as actors
from coterie import db, ids, migrations, settings
from coterie.app import create_app
from coterie.directory import forms, timeline
from coterie.directory import service as users
from coterie.directory.models import User
from coterie.directory.schemas import FieldCreate, TimelineCreate, UserCreate
from coterie.groups import service as groups
from coterie.groups.schemas import GroupCreate
from coterie.workspaces import service as workspaces

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
# How long a test's plain HTTP client waits for an answer. httpx's default of 5 s failed a CI run
# when the server's thread stalled behind a full garbage collection of this process (that was a
# leak, mended: `tests.conftest.request_sessions`); a hang still fails.
HTTP_TIMEOUT = 60.0
FIRST = [
    "Maria",
    "John",
    "Aiko",
    "Liam",
    "Noor",
    "Chen",
    "Olga",
    "Pedro",
    "Zara",
    "Ivan",
    "Fatima",
    "Lucas",
]
LAST = [
    "Fernández",
    "Smith",
    "Tanaka",
    "O'Brien",
    "Haddad",
    "Wei",
    "Petrova",
    "Silva",
    "Okafor",
    "Müller",
    "Rossi",
]
CHANNELS = ["whatsapp", "email", "sms", "phone", "instagram"]
SOURCES = ["internal", "import", "integration", "scim", "app"]
PLANS = ["Free", "Pro", "Premium"]
PEOPLE = 60


@dataclass(frozen=True)
class Site:
    url: str
    slug: str
    database_url: str
    admin_email: str
    reader_email: str
    password: str
    people: int  # everyone in the directory, operators included
    premium: int  # people whose plan is Premium
    paid: int  # people whose plan is Pro or Premium
    featured: str  # the id of a person with a ticket and a conversation on their timeline
    loner: str = ""  # the id of a person in no group
    key_accounts: str = ""  # a manual group the featured person is in
    pilots: str = ""  # an empty manual group
    premium_or_vip: str = ""  # a dynamic group over custom fields; the featured person is in it
    renewal_on_file: str = ""  # a dynamic group with an exclusion; the featured person is in it


def _seed(database_url: str) -> Site:
    """One workspace: an admin, a read-only operator, custom fields and 60 varied people."""
    rnd = random.Random(7)
    now = datetime.now(UTC)
    with db.transaction() as session:
        workspace = workspaces.create(
            session, slug="acme", name="Acme Health", default_region="US", time_zone="UTC"
        )
        system = actors.system(workspace.id)
        ada = users.create(
            session,
            actor=system,
            data=UserCreate(
                first_name="Ada",
                last_name="Lovelace",
                email="ada@acme.com",
                role="admin",
                password=PASSWORD,
                primary_channel="email",
            ),
        )
        users.create(
            session,
            actor=system,
            data=UserCreate(
                first_name="Rhea",
                last_name="Reader",
                email="rhea@acme.com",
                role="read_only",
                password=PASSWORD,
            ),
        )
        for key, label, kind, options in (
            ("plan", "Plan", "enum", PLANS),
            ("score", "Score", "integer", []),
            ("renewal", "Renewal date", "date", []),
            ("vip", "VIP", "boolean", []),
        ):
            forms.create_field(
                session,
                actor=system,
                data=FieldCreate(
                    key=key,
                    label=label,
                    type=kind,
                    options=options,
                ),
            )
        premium = 0
        made: list[int] = []
        for i in range(PEOPLE):
            first, last = FIRST[i % len(FIRST)], LAST[(i + i // len(FIRST)) % len(LAST)]
            plan = PLANS[i % 3]
            premium += plan == "Premium"
            attributes: dict[str, Any] = {"plan": plan, "score": (i * 37) % 100}
            if i % 4 == 0:
                attributes["vip"] = True
            if i % 5 == 0:
                attributes["renewal"] = (now + timedelta(days=10 + i)).date().isoformat()
            person = users.create(
                session,
                actor=system,
                data=UserCreate(
                    first_name=first,
                    last_name=last,
                    phone=f"+1415555{1000 + i:04d}" if i % 6 else None,
                    email=f"{first.lower()}.{i}@example.com",
                    whatsapp=f"+447911123{100 + i:03d}" if i % 5 == 0 else None,
                    primary_channel=CHANNELS[i % len(CHANNELS)],
                    source=SOURCES[(i * 3) % len(SOURCES)],
                    last_activity_at=now - timedelta(minutes=rnd.randint(5, 60 * 24 * 90)),
                    attributes=attributes,
                ),
            )
            made.append(person.id)
            if i == 1:
                loner = ids.encode(person.id)
            if i == 0:
                featured = ids.encode(person.id)
                _timeline(session, system, person.id, now)
        operator = replace(system, label=ada.full_name, user_id=ada.id)
        seeded_groups = _groups(session, operator, made)
    return Site(
        url="",
        slug="acme",
        database_url=database_url,
        admin_email="ada@acme.com",
        reader_email="rhea@acme.com",
        password=PASSWORD,
        people=PEOPLE + 2,
        premium=premium,
        featured=featured,
        loner=loner,
        paid=sum(1 for i in range(PEOPLE) if PLANS[i % 3] != "Free"),
        **seeded_groups,
    )


def _groups(session: Any, actor: Any, people: list[int]) -> dict[str, str]:
    """Two manual groups (one with the featured person and a few others, one empty) and two
    dynamic groups over custom fields, one with an exclusion; ids by `Site` field name."""

    def make(**spec: Any) -> int:
        return groups.create(session, actor=actor, data=GroupCreate.model_validate(spec)).id

    key_accounts = make(name="Key accounts", tags=["sales"], description="Handled by a named rep.")
    groups.add_members(session, actor=actor, group_id=key_accounts, user_ids=people[3:12:3])
    ends = datetime.now(UTC) + timedelta(days=30, hours=1)  # the featured person's trial seat
    groups.add_members(
        session, actor=actor, group_id=key_accounts, user_ids=people[:1], expires_at=ends
    )
    made = {
        "key_accounts": key_accounts,
        "pilots": make(name="Pilot programme", description="Trying new features first."),
        "premium_or_vip": make(
            name="Premium or VIP",
            selection="rule",
            include='attributes.plan eq "Premium" or attributes.vip eq true',
        ),
        "renewal_on_file": make(
            name="Renewal on file",
            selection="rule",
            include="attributes.renewal pr",
            exclude='attributes.plan eq "Premium"',
        ),
    }
    return {name: ids.encode(group_id) for name, group_id in made.items()}


def _timeline(session: Any, system: Any, user_id: int, now: datetime) -> None:
    agent = replace(system, label="Sam Support")
    for kind, title, body, extra, days in (
        (
            "ticket",
            "Card declined at checkout",
            "Customer reports the card is refused on renewal.",
            {"status": "pending"},
            6,
        ),
        (
            "conversation",
            "",
            "Hi! Is my renewal going through this time?",
            {"channel": "whatsapp"},
            5,
        ),
        ("note", "", "Escalated to billing; they will call back tomorrow.", {}, 4),
    ):
        timeline.create(
            session,
            actor=agent,
            user_id=user_id,
            data=TimelineCreate(
                kind=kind,
                title=title,
                body=body,
                occurred_at=now - timedelta(days=days),
                **extra,
            ),
        )


def people_now(site: Site, plans: tuple[str, ...] = ()) -> int:
    """People of the site's workspace now (other tests add people, and workspaces, to the shared
    server), optionally only those whose plan is one of `plans`."""
    with db.get_sessionmaker()() as session:
        workspace = workspaces.find_by_slug(session, slug=site.slug)
        assert workspace is not None
        stmt = select(func.count()).select_from(User).where(User.workspace_id == workspace.id)
        if plans:
            stmt = stmt.where(User.attributes["plan"].as_string().in_(plans))
        return int(session.scalar(stmt) or 0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clear_caches() -> None:
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A seeded database and a uvicorn server on it, for every web test of the run."""
    folder = tmp_path_factory.mktemp("web")
    database_url = f"sqlite:///{folder / 'coterie.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COTERIE_DATABASE_URL", database_url)
        patch.setenv("COTERIE_DATA_DIR", str(folder / "data"))
        patch.setenv("COTERIE_ENVIRONMENT", "test")
        _clear_caches()
        migrations.upgrade(database_url)
        seeded = _seed(database_url)
        port = _free_port()
        config = uvicorn.Config(
            create_app(),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws="none",
            lifespan="off",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="coterie-web-test", daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("the test server did not start")
            time.sleep(0.05)
        try:
            yield Site(**{**seeded.__dict__, "url": f"http://127.0.0.1:{port}"})
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            db.get_engine().dispose()
            _clear_caches()


def chromium_or_skip() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("COTERIE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"COTERIE_REQUIRE_BROWSER=1 but {CHROMIUM} does not exist")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module (Debian's; never a downloaded one)."""
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


VIEWPORT = {"width": 1440, "height": 900}


def sign_in(page: Any, site: Site, email: str | None = None) -> None:
    page.goto(f"{site.url}/login")
    page.fill("#workspace", site.slug)
    page.fill("#email", email or site.admin_email)
    page.fill("#password", site.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/users**")


@pytest.fixture(scope="session")
def signed_in_state(site: Site) -> dict[str, Any]:
    """The admin's session cookie as Playwright storage state, signed in once over plain HTTP
    (the sign-in page itself is tested in the browser in test_web_signin)."""
    with httpx.Client(base_url=site.url, timeout=HTTP_TIMEOUT) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        response = client.post(
            "/login",
            data={
                "csrf_token": token.group(1),
                "workspace": site.slug,
                "email": site.admin_email,
                "password": site.password,
            },
        )
        assert response.status_code == 303, response.text
        cookies = [
            {
                "name": cookie.name,
                "value": cookie.value or "",
                "domain": "127.0.0.1",
                "path": "/",
                "expires": -1,
                "httpOnly": True,
                "secure": False,
                "sameSite": "Lax",
            }
            for cookie in client.cookies.jar
        ]
    return {"cookies": cookies, "origins": []}


@pytest.fixture
def page(browser: Any, signed_in_state: dict[str, Any]) -> Iterator[Any]:
    """A fresh tab signed in as the admin; fails the test on any JavaScript or console error."""
    context = browser.new_context(
        viewport=VIEWPORT, storage_state=signed_in_state, accept_downloads=True
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))

    def console(message: Any) -> None:
        # A 4xx answer is logged by the browser itself; the pages expect those (bad filters).
        if message.type == "error" and "status of 4" not in message.text:
            errors.append(message.text)

    tab.on("console", console)
    yield tab
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.fixture
def shot() -> Callable[..., None]:
    """`shot(page, "users-filtered")` saves a screenshot for people to look at: the whole page,
    or (`full=False`, for dialogs and menus) what is in the window."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(tab: Any, name: str, *, full: bool = True) -> None:
        if full:  # from the top, or the fixed sidebar is drawn where the page was scrolled to
            tab.evaluate("window.scrollTo(0, 0)")
        tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full)

    return take
