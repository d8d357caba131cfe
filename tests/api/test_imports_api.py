"""`/api/v1/imports` on both databases: the raw-body upload, its limits, each step of the flow,
and jobs that really run on Huey (immediate mode) against a committed database."""

from __future__ import annotations

import csv
import io
import secrets
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie import db, jobs, migrations, settings, uploads
from coterie.access import tokens
from coterie.actor import Role
from coterie.app import create_app
from coterie.directory.models import User
from coterie.transfer.models import ImportJob
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace
from tests.conftest import _empty_database, _process_on

CSV = (
    "\ufeffName;E-mail;Mobile;Plan\r\n"
    "Ann Lee;ann@example.com;+1 415 555 2671;gold\r\n"
    "Bob Roe;BOB@example.com;;silver\r\n"
    "No Contact;;;gold\r\n"
    "Ann Again;ANN@example.com;;\r\n"
    "Cid Poe;cid@example.com;+1 415 555 2672;\r\n"
    "Dee Kay;dee@example.com;12;bronze\r\n"
).encode()
PLAN = {"key": "plan", "label": "Plan", "type": "text"}


def upload(client: TestClient, body: bytes, name: str = "contacts.csv") -> dict[str, Any]:
    response = client.post("/api/v1/imports", params={"file_name": name}, content=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


def stored_files(root: Path) -> list[Path]:
    return [p for p in (root / "imports").rglob("*") if p.is_file()]


def xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as book:
        for name, rows in sheets.items():
            sheet = book.add_worksheet(name)
            for r, row in enumerate(rows):
                sheet.write_row(r, 0, row)
    return buffer.getvalue()


# Each step, on the test's rolled-back transaction.


def test_the_file_is_the_request_body(client: TestClient) -> None:
    job = upload(client, CSV)
    assert job["status"] == "draft"
    assert (job["file_name"], job["file_format"], job["delimiter"]) == ("contacts.csv", "csv", ";")
    assert job["headers"] == ["Name", "E-mail", "Mobile", "Plan"]
    assert job["mapping"] == {"Name": "full_name", "E-mail": "email", "Mobile": "phone",
                              "Plan": None}  # fmt: skip
    assert job["dropped_columns"] == ["Plan"]
    assert job["group_name"] == "contacts"
    assert job["file_size"] == len(CSV)
    assert client.get(f"/api/v1/imports/{job['id']}").json()["headers"] == job["headers"]
    assert [j["id"] for j in client.get("/api/v1/imports").json()] == [job["id"]]


def test_a_declared_size_over_the_limit_is_refused_before_reading(
    client: TestClient,
    session: Session,
    workspace: Workspace,
    isolated_settings: settings.Settings,
) -> None:
    workspace.upload_limit_bytes = 1000
    session.commit()
    read: list[int] = []

    def body() -> Iterator[bytes]:
        read.append(1)
        yield b"Name,Email\n" + b"Ann,ann@example.com\n" * 100

    declared = {"Content-Length": "2011"}
    response = client.post("/api/v1/imports?file_name=big.csv", content=body(), headers=declared)
    assert problem(response, 413)["detail"] == "Files are limited to 1,000 bytes"
    assert read == []  # refused on the header alone
    undeclared = client.post("/api/v1/imports?file_name=big.csv", content=body())
    assert problem(undeclared, 413)["detail"] == response.json()["detail"]
    assert read == [1]  # without a Content-Length the body is read, up to the limit
    assert client.get("/api/v1/imports").json() == []
    assert stored_files(isolated_settings.data_dir) == []
    assert upload(client, CSV)["file_size"] == len(CSV)  # under the limit: accepted
    assert uploads.too_large(100 * 1024 * 1024).detail == "Files are limited to 100 MB"


def test_a_file_that_is_no_table_is_refused_naming_the_file(
    client: TestClient, isolated_settings: settings.Settings
) -> None:
    junk = bytes(range(256)) * 40
    response = client.post("/api/v1/imports?file_name=photo.csv", content=junk)
    body = problem(response, 400)
    assert body["errors"][0]["field"] == "file"
    assert "photo.csv" in body["detail"]
    assert stored_files(isolated_settings.data_dir) == []
    empty = problem(client.post("/api/v1/imports?file_name=a.csv", content=b""), 400)
    assert empty["errors"][0]["field"] == "file"
    missing = problem(client.post("/api/v1/imports", content=CSV), 422)
    assert missing["errors"][0]["field"] == "file_name"


def test_a_zip_bomb_is_refused_and_nothing_kept(
    client: TestClient, isolated_settings: settings.Settings
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(50):  # 50 MB of zeros in about 50 KB
                member.write(bytes(1024 * 1024))
    bomb = buffer.getvalue()
    assert len(bomb) < 200_000
    response = client.post("/api/v1/imports?file_name=people.xlsx", content=bomb)
    assert "expands too much" in problem(response, 413)["detail"]
    assert client.get("/api/v1/imports").json() == []
    assert stored_files(isolated_settings.data_dir) == []


def test_mapping_group_and_merge_policy_are_patched(client: TestClient) -> None:
    job = upload(client, CSV)
    url = f"/api/v1/imports/{job['id']}"
    chosen = {"Name": "full_name", "E-mail": "email", "Mobile": None, "Plan": "attributes.plan"}
    changes = {
        "mapping": chosen,
        "new_fields": [PLAN],
        "merge_policy": "overwrite",
        "group_name": "Spring fair",
        "group_description": "Met at the fair",
        "group_tags": ["events", " events ", "2026"],
    }
    patched = client.patch(url, json=changes).json()
    assert patched["mapping"] == chosen
    assert patched["dropped_columns"] == ["Mobile"]
    assert patched["new_fields"][0]["key"] == "plan"
    assert (patched["merge_policy"], patched["group_name"]) == ("overwrite", "Spring fair")
    assert patched["group_description"] == "Met at the fair"
    assert patched["group_tags"] == ["events", "2026"]
    assert client.patch(url, json={"group_name": "Autumn"}).json()["mapping"] == chosen
    unknown = problem(client.patch(url, json={"mapping": {"Fax": "phone"}}), 400)
    assert unknown["errors"][0]["field"] == "mapping.Fax"
    assert problem(client.patch(url, json={"merge_policy": "merge"}), 422)
    assert client.get(url).json()["group_name"] == "Autumn"


def test_the_sheet_is_chosen_and_its_headers_read(client: TestClient) -> None:
    book = xlsx({
        "Notes": [["Exported from the CRM"], ["on Monday"]],
        "People": [["First Name", "Email", "Phone Number"], ["Ann", "ann@example.com", ""]],
    })  # fmt: skip
    job = upload(client, book, name="crm.xlsx")
    assert (job["file_format"], job["sheets"], job["sheet"]) == ("xlsx", ["Notes", "People"],
                                                                 "Notes")  # fmt: skip
    patched = client.patch(f"/api/v1/imports/{job['id']}", json={"sheet": "People"}).json()
    assert patched["sheet"] == "People"
    assert patched["headers"] == ["First Name", "Email", "Phone Number"]
    assert patched["mapping"] == {"First Name": "first_name", "Email": "email",
                                  "Phone Number": "phone"}  # fmt: skip
    absent = client.patch(f"/api/v1/imports/{job['id']}", json={"sheet": "Sales"})
    assert problem(absent, 400)["errors"][0]["field"] == "sheet"


def test_the_sample_shows_rows_as_stored_with_errors(client: TestClient) -> None:
    job = upload(client, CSV)
    rows = client.get(f"/api/v1/imports/{job['id']}/sample", params={"rows": 6}).json()["rows"]
    assert [r["number"] for r in rows] == [1, 2, 3, 4, 5, 6]
    cells = {c["header"]: c for c in rows[1]["cells"]}
    assert cells["E-mail"]["value"] == "bob@example.com"  # normalized as stored
    assert cells["E-mail"]["target"] == "email"
    assert cells["Plan"] == {"header": "Plan", "target": None, "value": "silver", "error": None}
    assert {c["header"]: c["value"] for c in rows[0]["cells"]}["Mobile"] == "+14155552671"
    bad = {c["header"]: c for c in rows[5]["cells"]}["Mobile"]
    assert bad["value"] is None
    assert bad["error"]
    first = client.get(f"/api/v1/imports/{job['id']}/sample", params={"rows": 2}).json()
    assert len(first["rows"]) == 2


def test_the_dry_run_counts_and_writes_nothing(
    client: TestClient, session: Session, workspace: Workspace
) -> None:
    job = upload(client, CSV)
    counts = client.post(f"/api/v1/imports/{job['id']}/dry-run").json()
    assert {k: v for k, v in counts.items() if k != "reasons"} == {
        "rows": 6, "valid": 4, "invalid": 2, "new": 3, "existing": 0, "duplicates": 1,
        "dropped_columns": ["Plan"], "outside_form": [],
    }  # fmt: skip
    assert sum(counts["reasons"].values()) == 2
    everyone = select(func.count()).where(User.workspace_id == workspace.id)
    assert session.scalar(everyone) == 0
    assert client.get(f"/api/v1/imports/{job['id']}").json()["status"] == "draft"


def test_starting_without_a_contact_column_names_what_is_missing(client: TestClient) -> None:
    job = upload(client, CSV)
    url = f"/api/v1/imports/{job['id']}"
    client.patch(url, json={"mapping": {"Name": "full_name", "E-mail": None, "Mobile": None}})
    body = problem(client.post(f"{url}/start"), 400)
    assert body["detail"] == "The column mapping is not complete"
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert "contact" in messages["mapping"]
    assert "Email" in messages["mapping"]
    assert client.get(url).json()["status"] == "draft"
    problem(client.post(f"{url}/dry-run"), 400)


# Jobs that run: Huey in immediate mode, on a committed database of each kind.


@pytest.fixture(params=["sqlite", "postgresql"])
def app_database(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    """The process on a fresh migrated database (`_process_on`); Huey runs each task as it is
    queued, in the queuing thread. Yields the data directory."""
    for url in _empty_database(request.param, tmp_path_factory):
        migrations.upgrade(url)
        root = tmp_path_factory.mktemp("process")
        for _ in _process_on(url, root, monkeypatch):
            jobs.get_queue().huey.immediate = True
            yield root / "data"


def workspace_client(slug: str) -> tuple[TestClient, int]:
    """A new workspace (committed) and an admin API client of it."""
    with db.get_sessionmaker()() as session:
        workspace = workspaces.create(session, slug=slug, name=slug.title())
        _, secret = tokens.create(
            session, actor=actors.system(workspace.id), name="importer", role=Role.ADMIN
        )
        session.commit()
        workspace_id = workspace.id
    client = TestClient(create_app())
    client.headers["Authorization"] = f"Bearer {secret}"
    return client, workspace_id


def run_import(client: TestClient, body: bytes, **settings: Any) -> dict[str, Any]:
    job = upload(client, body)
    url = f"/api/v1/imports/{job['id']}"
    assert client.patch(url, json=settings).status_code == 200
    started = client.post(f"{url}/start")
    assert started.status_code == 202, started.text
    return dict(client.get(url).json())


def people(workspace_id: int) -> dict[str, str]:
    """email -> full name of everyone in the workspace, read outside any request."""
    with db.get_sessionmaker()() as session:
        found = session.execute(
            select(User.email, User.full_name).where(User.workspace_id == workspace_id)
        )
        return {str(email): name for email, name in found}


def test_a_started_import_runs_and_reports(app_database: Path) -> None:
    client, workspace_id = workspace_client(f"runs-{secrets.token_hex(2)}")
    mapping = {"Name": "full_name", "E-mail": "email", "Mobile": "phone", "Plan": "attributes.plan"}
    job = run_import(client, CSV, mapping=mapping, new_fields=[PLAN], group_name="Spring fair")
    assert job["status"] == "done", job["error"]
    assert (job["rows_done"], job["rows_total"]) == (6, 6)
    assert job["counts"] == {"created": 3, "duplicate": 1, "rejected": 2}
    assert job["finished_at"] is not None
    group = client.get(f"/api/v1/groups/{job['group_id']}").json()
    assert (group["name"], group["source"]) == ("Spring fair", "import")
    members = client.get(f"/api/v1/groups/{job['group_id']}/members").json()
    assert sorted(m["full_name"] for m in members["items"]) == ["Ann Lee", "Bob Roe", "Cid Poe"]
    assert {m["full_name"]: m["attributes"] for m in members["items"]}["Bob Roe"] == {
        "plan": "silver"
    }
    assert people(workspace_id) == {
        "ann@example.com": "Ann Lee", "bob@example.com": "Bob Roe", "cid@example.com": "Cid Poe",
    }  # fmt: skip
    response = client.get(f"/api/v1/imports/{job['id']}/rejected.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    report = list(csv.reader(io.StringIO(response.text)))
    assert report[0] == ["row", "reason", "Name", "E-mail", "Mobile", "Plan"]
    assert [(r[0], r[2:]) for r in report[1:]] == [
        ("3", ["No Contact", "", "", "gold"]),
        ("6", ["Dee Kay", "dee@example.com", "12", "bronze"]),
    ]
    assert "contact" in report[1][1]
    assert report[2][1].startswith("Mobile:")
    again = client.post(f"/api/v1/imports/{job['id']}/start")
    assert "done" in problem(again, 409)["detail"]


def test_workspaces_import_the_same_file_apart(app_database: Path) -> None:
    first, first_id = workspace_client(f"first-{secrets.token_hex(2)}")
    second, second_id = workspace_client(f"second-{secrets.token_hex(2)}")
    mine = run_import(first, CSV, group_name="Fair")
    theirs = run_import(second, CSV, group_name="Fair")
    assert mine["counts"] == theirs["counts"] == {"created": 3, "duplicate": 1, "rejected": 2}
    assert people(first_id).keys() == people(second_id).keys() == {
        "ann@example.com", "bob@example.com", "cid@example.com",
    }  # fmt: skip
    with db.get_sessionmaker()() as session:
        owners = session.execute(
            select(User.workspace_id, func.count()).group_by(User.workspace_id)
        ).all()
        assert sorted(n for _, n in owners) == [3, 3]
        assert session.scalar(select(func.count()).select_from(ImportJob)) == 2
    for url in (f"/api/v1/imports/{theirs['id']}", f"/api/v1/groups/{theirs['group_id']}"):
        assert problem(first.get(url), 404)
    assert problem(first.post(f"/api/v1/imports/{theirs['id']}/start"), 404)
    assert problem(first.get(f"/api/v1/imports/{theirs['id']}/rejected.csv"), 404)
    assert [j["id"] for j in first.get("/api/v1/imports").json()] == [mine["id"]]


def test_the_metadata_step_creates_a_form_or_names_the_columns_outside_it(
    app_database: Path,
) -> None:
    client, _ = workspace_client(f"forms-{secrets.token_hex(2)}")
    for key, kind in (("score", "integer"), ("region", "text")):
        made = client.post("/api/v1/fields", json={"key": key, "label": key.title(), "type": kind})
        assert made.status_code == 201, made.text
    form = client.post("/api/v1/forms", json={"name": "Regions", "fields": ["region"]}).json()
    job = upload(client, b"Name,Email,Score,Plan\nAnn,ann@example.com,7,gold\n")
    url = f"/api/v1/imports/{job['id']}"
    chosen = {"Name": "full_name", "Email": "email", "Score": "attributes.score",
              "Plan": "attributes.plan"}  # fmt: skip
    patched = client.patch(url, json={"mapping": chosen, "new_fields": [PLAN],
                                      "form_id": form["id"]}).json()  # fmt: skip
    assert patched["form_id"] == form["id"]
    assert patched["dropped_columns"] == patched["outside_form"] == ["Score", "Plan"]
    counts = client.post(f"{url}/dry-run").json()
    assert counts["dropped_columns"] == counts["outside_form"] == ["Score", "Plan"]

    new = {"name": "Fair leads", "description": "Asked at the stand"}
    patched = client.patch(url, json={"new_form": new}).json()
    assert patched["form_id"] is None
    assert patched["new_form"] == {**new, "fields": ["score", "plan"]}
    assert (patched["dropped_columns"], patched["outside_form"]) == ([], [])
    assert [f["key"] for f in patched["new_fields"]] == ["plan"]
    assert [f["name"] for f in client.get("/api/v1/forms").json()] == ["Regions"]  # not yet

    taken = problem(client.patch(url, json={"new_form": {"name": "Regions"}}), 409)
    assert "Regions" in taken["detail"]
    both = problem(client.patch(url, json={"form_id": form["id"], "new_form": new}), 400)
    assert both["errors"][0]["field"] == "form_id"
    assert problem(client.patch(url, json={"new_form": {"name": ""}}), 422)
    assert client.get(url).json()["new_form"]["name"] == "Fair leads"  # refusals change nothing

    started = client.post(f"{url}/start")
    assert started.status_code == 202, started.text
    made = {f["name"]: f for f in client.get("/api/v1/forms").json()}
    assert [f["key"] for f in made["Fair leads"]["fields"]] == ["score", "plan"]
    assert made["Fair leads"]["description"] == "Asked at the stand"
    done = client.get(url).json()
    assert (done["status"], done["form_id"], done["new_form"]) == (
        "done", made["Fair leads"]["id"], None,
    )  # fmt: skip
    group = client.get(f"/api/v1/groups/{done['group_id']}").json()
    assert group["form_ids"] == [made["Fair leads"]["id"]]
    members = client.get(f"/api/v1/groups/{done['group_id']}/members").json()["items"]
    assert [m["attributes"] for m in members] == [{"score": 7, "plan": "gold"}]
