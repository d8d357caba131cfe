"""Import people in the browser: the issue's scenario, with a real background worker.

A messy CSV (UTF-8 BOM, semicolons, a row without any contact, a repeated row, a person already in
the directory, a bad phone) is uploaded from User Groups, mapped (first without its contact
columns, to meet the error that names what is missing), previewed live, given a group, counted and
imported; the page follows the job until the report, which links the new group and the rejected
rows. The test server starts no job consumer, so this module runs a real Huey consumer on the
server's database (`jobs.start_consumer`), started when a test needs it and stopped at the end.
"""

from __future__ import annotations

import csv
import io
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest
from huey.consumer import Consumer
from playwright.sync_api import expect
from sqlalchemy import select

from coterie import actor as actors
from coterie import db, ids, jobs
from coterie.db import utcnow
from coterie.directory import forms
from coterie.directory.models import Field, Form, User
from coterie.directory.schemas import FormCreate, UserCreate
from coterie.groups import people
from coterie.transfer.models import ImportJob
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace
from tests.transfer.test_readers import write_xlsx
from tests.web.conftest import HTTP_TIMEOUT, Site

pytestmark = pytest.mark.browser
Shot = Callable[..., None]


@dataclass
class Worker:
    """The module's job consumer; `start()` runs it (tests may first look at a queued job)."""

    consumer: Consumer | None = field(default=None)

    def start(self) -> None:
        if self.consumer is None:
            self.consumer = jobs.start_consumer()


@pytest.fixture(scope="module")
def worker(site: Site) -> Iterator[Worker]:
    """A Huey consumer in this process, on the queue the test server's settings describe (the
    site fixture set COTERIE_DATABASE_URL and COTERIE_DATA_DIR; the queue is built afresh from
    them, as tests/test_jobs.py does)."""
    jobs.get_queue.cache_clear()
    running = Worker()
    try:
        yield running
    finally:
        if running.consumer is not None:
            running.consumer.stop(graceful=True)
        jobs.get_queue.cache_clear()


def _workspace(session: Any, site: Site) -> Workspace:
    workspace = workspaces.find_by_slug(session, slug=site.slug)
    assert workspace is not None
    return workspace


@pytest.fixture(scope="module")
def token() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture(scope="module")
def existing(site: Site, token: str) -> str:
    """Priya, already in the directory by her email, without a phone (the file has one)."""
    with db.transaction() as session:
        system = actors.system(_workspace(session, site).id)
        person = people.create(
            session,
            actor=system,
            data=UserCreate(full_name="Priya Patel", email=f"priya.{token}@example.org"),
        )
        return ids.encode(person.id)


def messy_csv(folder: Path, token: str) -> Path:
    lines = [
        "Full Name;E-mail;Mobile;Plan tier;Notes",
        f"Hana Kobayashi;hana.{token}@example.org;+1 415 555 0171;Gold;met at the booth",
        f"Omar Haddad;OMAR.{token}@Example.org;(415) 555-0172;Silver;",
        "Nadia Nocontact;;;Gold;no way to reach her",
        f"Hana Kobayashi;hana.{token}@example.org;;;the same person again",
        f"Priya Patel;PRIYA.{token}@example.org;+1 415 555 0173;Gold;already a customer",
        f"Ben Badphone;ben.{token}@example.org;12;Bronze;typo in the phone",
    ]
    path = folder / "spring fair leads.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def count(page: Any, box: str, key: str) -> int:
    text = page.locator(f"{box} [data-count={key}] .import-stat-value").inner_text()
    return int(text.replace(",", ""))


def test_a_messy_csv_becomes_a_group(
    page: Any,
    site: Site,
    worker: Worker,
    existing: str,
    token: str,
    tmp_path: Path,
    shot: Shot,
) -> None:
    group_name = f"Spring fair {token}"
    page.goto(f"{site.url}/groups")
    page.click("#import-people")
    page.wait_for_url(f"{site.url}/imports/new")
    expect(page.locator("#wizard-next")).to_be_disabled()  # until a file is chosen
    shot(page, "70-import-1-connect")

    page.set_input_files("#import-file", str(messy_csv(tmp_path, token)))
    expect(page.locator("[data-drop-title]")).to_have_text("spring fair leads.csv")
    page.click("#wizard-next")
    page.wait_for_url(f"{site.url}/imports/*/columns")
    import_id = urlsplit(page.url).path.split("/")[2]
    # The headers were read through the BOM and the semicolons, and their meaning suggested.
    assert page.locator(".mapping-name").all_inner_texts() == [
        "Full Name",
        "E-mail",
        "Mobile",
        "Plan tier",
        "Notes",
    ]
    suggested = [page.locator(f"#map-{i}").input_value() for i in range(5)]
    assert suggested == ["full_name", "email", "phone", "", ""]
    expect(page.locator("#mapping-ready")).to_be_visible()

    # Without its contact columns the mapping is refused, naming what is missing.
    page.select_option("#map-1", "")
    page.select_option("#map-2", "")
    expect(page.locator("#mapping-errors")).to_contain_text("Map at least one contact column")
    page.click("#wizard-next")
    expect(page.locator("#wizard-title")).to_have_text("Define data")
    problems = page.locator("#mapping-errors [data-problem]").all_inner_texts()
    assert problems == ["Map at least one contact column: Phone, Email, WhatsApp or Instagram"]
    shot(page, "71-import-2-missing-contact")

    # Fixed: the contact columns back, and the plan kept in a new custom field.
    page.select_option("#map-1", "email")
    page.select_option("#map-2", "phone")
    expect(page.locator("#mapping-ready")).to_be_visible()
    expect(page.locator("#new-label-3")).to_be_hidden()
    page.select_option("#map-3", "__new__")
    expect(page.locator("#new-key-3")).to_have_value("plan_tier")
    expect(page.locator("#new-label-3")).to_have_value("Plan tier")
    page.fill("#new-description-3", "The tier the lead asked about at the fair.")
    page.locator("#new-description-3").blur()
    expect(page.locator("#preview-table th[data-col='Plan tier']")).to_contain_text("Plan tier")
    # The live preview shows the rows as they will be stored: normalized, or red with the error.
    first = page.locator("#preview-table tr[data-row='1']")
    expect(first.locator("td[data-col='Mobile']")).to_have_text("+14155550171")
    second = page.locator("#preview-table tr[data-row='2']")
    expect(second.locator("td[data-col='E-mail']")).to_have_text(f"omar.{token}@example.org")
    expect(second.locator("td[data-col='Mobile']")).to_have_text("+14155550172")
    bad = page.locator("#preview-table tr[data-row='6'] td[data-col='Mobile']")
    expect(bad).to_have_class("preview-cell-error")
    expect(bad).to_contain_text("'12' is not a valid phone number")
    assert bad.evaluate("td => getComputedStyle(td).color") == "rgb(180, 35, 24)"
    assert page.locator("#preview-table tr[data-row='3']").get_attribute("class") == (
        "preview-row-bad"
    )
    shot(page, "72-import-2-define")

    page.click("#wizard-next")
    page.wait_for_url(f"{site.url}/imports/{import_id}/details")
    expect(page.locator("#group-name")).to_have_value("spring fair leads")  # from the file name
    page.fill("#group-name", group_name)
    page.fill("#group-description", "Leads from the spring fair stand.")
    page.fill("#group-tags", "events, leads")
    assert page.locator("#dropped-columns [data-dropped]").all_inner_texts() == ["Notes"]
    shot(page, "73-import-3-metadata")

    page.click("#wizard-next")
    page.wait_for_url(f"{site.url}/imports/{import_id}/review")
    found = {k: count(page, "#import-counts", k) for k in ("rows", "valid", "invalid", "new")}
    found |= {k: count(page, "#import-counts", k) for k in ("existing", "duplicates")}
    assert found == {
        "rows": 6,
        "valid": 4,
        "invalid": 2,
        "new": 2,
        "existing": 1,
        "duplicates": 1,
    }
    reasons = page.locator("#invalid-reasons [data-reason]").evaluate_all(
        "items => items.map(i => i.dataset.reason)"
    )
    assert sorted(reasons) == ["E-mail", "Mobile"]  # no contact at all; the bad phone
    expect(page.locator("input[name=merge_policy][value=fill]")).to_be_checked()
    expect(page.locator("#import-start")).to_have_text("Import 3 people")
    shot(page, "74-import-4-preview")

    page.click("#import-start")
    page.wait_for_url(f"{site.url}/imports/{import_id}")
    # No consumer runs yet: the page says so and keeps asking.
    status = page.locator("#import-status")
    expect(status).to_have_attribute("data-status", "queued")
    assert status.get_attribute("hx-trigger") == "every 1s"
    shot(page, "75-import-queued")

    worker.start()  # the page is not reloaded: its polling brings the report in
    expect(status).to_have_attribute("data-status", "done", timeout=30_000)
    report = {
        k: count(page, "#report-counts", k)
        for k in ("created", "updated", "unchanged", "skipped", "duplicate", "rejected")
    }
    assert report == {
        "created": 2,
        "updated": 1,  # Priya's empty phone filled in
        "unchanged": 0,
        "skipped": 0,
        "duplicate": 1,
        "rejected": 2,
    }
    expect(page.locator("#import-report")).to_contain_text(f"3 people are now in {group_name}")
    assert page.locator("#import-status").get_attribute("hx-trigger") is None  # polling stopped
    shot(page, "76-import-report")

    with page.expect_download() as download:
        page.click("#download-rejected")
    assert download.value.suggested_filename == "spring fair leads-rejected-rows.csv"
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert rows[0] == ["row", "reason", "Full Name", "E-mail", "Mobile", "Plan tier", "Notes"]
    assert [r[0] for r in rows[1:]] == ["3", "6"]
    assert "contact" in rows[1][1]
    assert rows[2][2:] == [
        "Ben Badphone",
        f"ben.{token}@example.org",
        "12",
        "Bronze",
        "typo in the phone",
    ]
    assert "'12' is not a valid phone number" in rows[2][1]

    page.click("#open-group")
    page.wait_for_url(f"{site.url}/groups/*")
    expect(page.locator("#group-name")).to_have_text(group_name)
    members = page.locator("#members-table tbody tr[data-user]")
    expect(members).to_have_count(3)
    table = page.locator("#members-table").inner_text()
    for name in ("Hana Kobayashi", "Omar Haddad", "Priya Patel"):
        assert name in table
    assert existing in members.evaluate_all("rows => rows.map(r => r.dataset.user)")
    shot(page, "77-import-group")

    with db.get_sessionmaker()() as session:
        priya = session.get(User, (_workspace(session, site).id, ids.decode(existing)))
        assert priya is not None
        assert priya.phone == "+14155550173"
        assert priya.attributes == {"plan_tier": "Gold"}
        made = session.scalar(select(Field).where(Field.key == "plan_tier"))
        assert made is not None
        assert made.description == "The tier the lead asked about at the fair."


def _cookie_header(state: dict[str, Any]) -> str:
    return "; ".join(f"{c['name']}={c['value']}" for c in state["cookies"])


def test_an_upload_over_the_limit_is_refused_before_its_body_is_read(
    site: Site, signed_in_state: dict[str, Any]
) -> None:
    """The request declares 200 MB and sends none of it: the answer comes at once."""
    host, port = urlsplit(site.url).netloc.split(":")
    head = (
        "POST /imports/new HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Cookie: {_cookie_header(signed_in_state)}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {200 * 1024 * 1024}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode())
        answer = b""
        while b"</html>" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert b"Files are limited to 100 MB" in rest
    assert b'id="import-file"' in rest  # the upload step again, with the message


def test_an_upload_without_the_csrf_token_is_refused(
    site: Site, signed_in_state: dict[str, Any]
) -> None:
    headers = {"Cookie": _cookie_header(signed_in_state)}
    with httpx.Client(base_url=site.url, headers=headers, timeout=HTTP_TIMEOUT) as client:
        files = {"file": ("people.csv", b"Name,Email\nAnn,ann@example.org\n", "text/csv")}
        response = client.post("/imports/new", files=files)
    assert response.status_code == 403
    assert "This form has expired" in response.text


def test_a_file_over_the_limit_is_refused_in_the_page(
    page: Any, site: Site, tmp_path: Path, shot: Shot
) -> None:
    big = tmp_path / "big.csv"
    big.write_bytes(b"Name,Email\n" + b"Someone,someone@example.org\n" * 50_000)  # 1.4 MB
    with db.transaction() as session:
        _workspace(session, site).upload_limit_bytes = 1024 * 1024
    try:
        page.goto(f"{site.url}/imports/new")
        page.set_input_files("#import-file", str(big))
        expect(page.locator("#upload-error")).to_contain_text(
            "big.csv is 1.3 MB; files are limited to 1 MB."
        )
        expect(page.locator("#wizard-next")).to_be_disabled()
        shot(page, "78-import-too-large")
        # Sent anyway, the server refuses it by its declared size, on the same page.
        page.locator("#wizard-next").evaluate("button => { button.disabled = false; }")
        page.click("#wizard-next")
        expect(page.locator("#upload-error")).to_contain_text("Files are limited to 1 MB")
    finally:
        with db.transaction() as session:
            _workspace(session, site).upload_limit_bytes = 100 * 1024 * 1024


def test_a_file_dropped_on_the_zone_is_the_one_uploaded(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/imports/new")
    zone = page.locator("[data-dropzone]")
    dropped = page.evaluate_handle(
        """() => {
            const data = new DataTransfer();
            data.items.add(new File(["First name,Email\\nIda,ida@example.org\\n"], "dropped.csv",
                                    {type: "text/csv"}));
            return data;
        }"""
    )
    zone.dispatch_event("dragenter", {"dataTransfer": dropped})
    expect(zone).to_have_class(re.compile(r"\bis-dragging\b"))
    zone.dispatch_event("drop", {"dataTransfer": dropped})
    expect(zone).to_have_class(re.compile(r"\bhas-file\b"))
    expect(page.locator("[data-drop-title]")).to_have_text("dropped.csv")
    page.click("#wizard-next")
    page.wait_for_url(f"{site.url}/imports/*/columns")
    assert page.locator(".mapping-name").all_inner_texts() == ["First name", "Email"]


def test_a_workbook_asks_which_sheet(page: Any, site: Site, tmp_path: Path, shot: Shot) -> None:
    book = write_xlsx(
        tmp_path / "two sheets.xlsx",
        {
            "Summary": [["Total", "Region"], [3, "West"]],
            "People": [["First Name", "Email"], ["Ines", "ines@example.org"]],
        },
    )
    page.goto(f"{site.url}/imports/new")
    page.set_input_files("#import-file", str(book))
    page.click("#wizard-next")
    page.wait_for_url(f"{site.url}/imports/*/file")
    expect(page.locator("#sheet-select")).to_have_value("Summary")
    shot(page, "81-import-1-sheet")
    page.select_option("#sheet-select", "People")
    page.click("#wizard-next")
    page.wait_for_url(f"{site.url}/imports/*/columns")
    assert page.locator(".mapping-name").all_inner_texts() == ["First Name", "Email"]
    assert page.locator("#map-0").input_value() == "first_name"
    expect(page.locator("#preview-table tr[data-row='1'] td[data-col='Email']")).to_have_text(
        "ines@example.org"
    )
    expect(page.locator("#import-file-chip")).to_contain_text("sheet People")


def test_progress_and_failure_pages(page: Any, site: Site, shot: Shot) -> None:
    """A job part-way (as a worker leaves it between batches), then failed."""
    with db.transaction() as session:
        workspace = _workspace(session, site)
        job = ImportJob(
            workspace_id=workspace.id,
            status="running",
            file_name="crm-export.csv",
            file_format="csv",
            file_size=48_213,
            file_sha256="0" * 64,
            storage_key="none",
            headers=["Name", "Email"],
            mapping={"Name": "full_name", "Email": "email"},
            group_name="CRM export",
            rows_total=2_000,
            rows_done=500,
            heartbeat_at=utcnow(),
            started_at=utcnow(),
            created_by_label="Ada Lovelace",
        )
        session.add(job)
        session.flush()
        workspace_id, job_id = workspace.id, ids.encode(job.id)
    try:
        page.goto(f"{site.url}/imports/{job_id}")
        expect(page.locator("#import-rows")).to_have_text("500 of 2,000 rows")
        expect(page.locator("#import-percent")).to_have_text("25%")
        bar = page.locator("#import-progress-bar")
        assert bar.get_attribute("style") == "width: 25%"
        shot(page, "79-import-progress")
        with db.transaction() as session:
            stored = session.get(ImportJob, (workspace_id, ids.decode(job_id)))
            assert stored is not None
            stored.rows_done = 1_500
        expect(page.locator("#import-percent")).to_have_text("75%")  # polled, not reloaded
        with db.transaction() as session:
            stored = session.get(ImportJob, (workspace_id, ids.decode(job_id)))
            assert stored is not None
            stored.status = "failed"
            stored.error = "OperationalError: the database went away"
            stored.finished_at = utcnow()
        expect(page.locator("#import-error")).to_have_text(
            "OperationalError: the database went away"
        )
        expect(page.locator("#import-failed")).to_contain_text("No group was made")
        shot(page, "80-import-failed")
    finally:
        with db.transaction() as session:
            stored = session.get(ImportJob, (workspace_id, ids.decode(job_id)))
            if stored is not None and stored.status == "running":
                stored.status = "failed"


def test_import_is_reachable_from_all_users(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/users")
    page.click("#import-people")
    page.wait_for_url(f"{site.url}/imports/new")
    expect(page.locator("#wizard-title")).to_have_text("Connect data")
    expect(page.locator("#recent-imports")).to_be_visible()


def test_metadata_creates_a_form_and_names_the_columns_not_stored(
    page: Any, site: Site, worker: Worker, token: str, tmp_path: Path, shot: Shot
) -> None:
    """Step 3 with custom columns: an existing form leaves two of them out (named as not
    stored), a taken name for a new form is refused, and the new form made at Import holds
    them both."""
    renewals, taken = f"Renewals {token}", f"Booth leads {token}"
    with db.transaction() as session:
        system = actors.system(_workspace(session, site).id)
        forms.create_form(session, actor=system, data=FormCreate(name=renewals, fields=["renewal"]))
    path = tmp_path / "booth.csv"
    path.write_text(
        "Name,Email,Score,Booth tier,Notes\n"
        f"Lena Booth,lena.{token}@example.org,42,Gold,asked for a demo\n"
        f"Marc Booth,marc.{token}@example.org,17,Silver,\n",
        encoding="utf-8",
    )
    page.goto(f"{site.url}/imports/new")
    page.set_input_files("#import-file", str(path))
    page.click("#wizard-next")
    page.wait_for_url(f"{site.url}/imports/*/columns")
    import_id = urlsplit(page.url).path.split("/")[2]
    assert page.locator("#map-2").input_value() == "attributes.score"  # by the field's label
    page.select_option("#map-3", "__new__")
    expect(page.locator("#new-key-3")).to_have_value("booth_tier")
    page.click("#wizard-next")
    page.wait_for_url(f"{site.url}/imports/{import_id}/details")
    expect(page.locator("#form-select")).to_have_value("")
    expect(page.locator("#new-form")).to_be_hidden()
    assert page.locator("#dropped-columns [data-dropped]").all_inner_texts() == ["Notes"]
    page.fill("#group-name", f"Booth {token}")

    # An existing form that holds neither custom column: both are listed as not stored.
    page.select_option("#form-select", label=renewals)
    outside = page.locator("#dropped-outside [data-outside]")
    expect(outside).to_have_count(2)
    assert outside.all_inner_texts() == ["Score", "Booth tier"]
    expect(page.locator("#dropped-outside")).to_contain_text(f"Not in the form {renewals}")
    assert page.locator("#dropped-ignored [data-dropped]").all_inner_texts() == ["Notes"]
    expect(page.locator("#dropped-columns .alert-heading")).to_have_text(
        "3 columns will not be stored"
    )
    assert page.locator("#kept-columns [data-kept]").evaluate_all(
        "items => items.map(i => i.dataset.kept)"
    ) == ["Name", "Email"]
    shot(page, "82-import-3-form-leaves-columns-out")
    page.click("#wizard-next")  # kept: the preview and Define data say the same
    page.wait_for_url(f"{site.url}/imports/{import_id}/review")
    assert page.locator("#review-dropped [data-dropped]").all_inner_texts() == [
        "Score",
        "Booth tier",
        "Notes",
    ]
    expect(page.locator("[data-summary=form]")).to_have_text(renewals)
    page.click("#wizard-steps button[value=columns]")
    page.wait_for_url(f"{site.url}/imports/{import_id}/columns")
    hints = page.locator("[data-outside-form]")
    assert hints.evaluate_all("items => items.map(i => i.dataset.outsideForm)") == [
        "Score",
        "Booth tier",
    ]
    expect(hints.first).to_contain_text(f"the form {renewals} does not hold this field")
    expect(page.locator("#preview-table th[data-col='Score']")).to_have_count(0)
    shot(page, "82b-import-2-outside-form")
    page.click("#wizard-next")
    page.wait_for_url(f"{site.url}/imports/{import_id}/details")
    expect(page.locator("#form-select")).to_have_value(re.compile(r"^(?!__new__$).+"))

    # A new form: it holds every custom column, so only the ignored one is not stored.
    page.select_option("#form-select", "__new__")
    expect(page.locator("#new-form")).to_be_visible()
    expect(page.locator("#dropped-outside")).to_have_count(0)
    expect(page.locator("#kept-columns .badge", has_text="In new form")).to_have_count(2)
    expect(page.locator("#new-form-name")).to_have_value(f"Booth {token}")  # the group's name
    page.fill("#new-form-name", "")
    page.click("#wizard-next")
    expect(page.locator("[data-error-for=new_form_name]")).to_have_text("Name the new form.")
    page.fill("#new-form-name", renewals)  # taken
    page.click("#wizard-next")
    expect(page.locator("[data-error-for=new_form_name]")).to_have_text(
        f"A form named {renewals!r} already exists"
    )
    expect(page.locator("#form-select")).to_have_value("__new__")
    shot(page, "83-import-3-form-name-taken")
    page.fill("#new-form-name", taken)
    page.fill("#new-form-description", "Custom answers from the booth.")
    shot(page, "84-import-3-new-form")
    page.click("#wizard-next")
    page.wait_for_url(f"{site.url}/imports/{import_id}/review")
    expect(page.locator("[data-summary=form]")).to_contain_text(taken)
    assert page.locator("#review-dropped [data-dropped]").all_inner_texts() == ["Notes"]
    shot(page, "85-import-4-preview-with-form")
    with db.get_sessionmaker()() as session:  # nothing made before Import
        mine = _workspace(session, site).id
        assert (
            session.scalar(select(Form).where(Form.workspace_id == mine, Form.name == taken))
            is None
        )

    # Back to Metadata keeps the choice; then import.
    page.click("#wizard-back")
    page.wait_for_url(f"{site.url}/imports/{import_id}/details")
    expect(page.locator("#form-select")).to_have_value("__new__")
    expect(page.locator("#new-form-name")).to_have_value(taken)
    page.click("#wizard-next")
    page.wait_for_url(f"{site.url}/imports/{import_id}/review")
    worker.start()
    page.click("#import-start")
    expect(page.locator("#import-status")).to_have_attribute("data-status", "done", timeout=30_000)
    expect(page.locator("[data-report=form]")).to_have_text(taken)
    expect(page.locator("[data-report=dropped]")).to_have_text("Notes")
    shot(page, "86-import-report-with-form")
    page.click("#open-group")
    page.wait_for_url(f"{site.url}/groups/*")
    table = page.locator("#members-table")
    expect(table).to_contain_text("Lena Booth")
    expect(table.locator("thead")).to_contain_text("Booth tier")
    shot(page, "87-import-group-with-new-form")

    with db.get_sessionmaker()() as session:
        made = session.scalars(
            select(Form).where(Form.workspace_id == mine, Form.name == taken)
        ).one()
        assert made.description == "Custom answers from the booth."
        assert [f.key for f in forms.form_fields(session, form=made)] == ["score", "booth_tier"]
        lena = session.scalars(
            select(User).where(User.workspace_id == mine, User.email == f"lena.{token}@example.org")
        ).one()
        assert lena.attributes == {"score": 42, "booth_tier": "Gold"}
