"""`coterie import FILE` on a real SQLite file: the dry run writes nothing, a run imports with a
progress bar, a bad `--map` is a clear error, and a spreadsheet's sheet is chosen."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import xlsxwriter
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from coterie import actor as actors
from coterie import db
from coterie.directory import forms
from coterie.directory.models import Field, Form, FormField, User
from coterie.directory.schemas import FieldCreate, FormCreate
from coterie.events.models import AuditEntry
from coterie.groups.models import Group, Membership
from coterie.transfer.models import ImportJob
from coterie.workspaces import service as workspaces
from tests.test_cli import _reset_caches, run

CSV = (
    "Name,Email,Cell No,Plan\n"
    "Ann Lee,ann@example.com,+44 7911 123456,gold\n"
    "Bob Roe,bob@example.com,07911 123457,silver\n"
    "No Contact,,,gold\n"
    "Ann Again,ANN@example.com,,\n"
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Settings on a migrated SQLite file in a fresh data directory."""
    root = tmp_path_factory.mktemp("cli-import") / "var"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COTERIE_DATA_DIR", str(root))
        patch.setenv("COTERIE_DATABASE_URL", f"sqlite:///{root / 'coterie.db'}")
        patch.setenv("COLUMNS", "200")  # wide enough that Rich does not fold table cells
        _reset_caches()
        run(CliRunner(), "db", "upgrade")
        yield root
        _reset_caches()


@pytest.fixture
def slug(data_dir: Path) -> str:
    """A new workspace for each test (so counts start at zero), named with --workspace."""
    slug = f"imp-{secrets.token_hex(3)}"
    with db.get_sessionmaker()() as session:
        workspaces.create(session, slug=slug, name="Imports", default_region="GB")
        session.commit()
    return slug


@pytest.fixture
def session(data_dir: Path) -> Iterator[Session]:
    with db.get_sessionmaker()() as session:
        yield session


def workspace_id(session: Session, slug: str) -> int:
    workspace = workspaces.find_by_slug(session, slug=slug)
    assert workspace is not None
    return workspace.id


def count(session: Session, model: type[object], slug: str) -> int:
    column = model.workspace_id  # type: ignore[attr-defined]
    stmt = select(func.count()).where(column == workspace_id(session, slug))
    return int(session.scalar(stmt) or 0)


def stored_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "imports").rglob("*") if p.is_file()]


def contacts(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_a_dry_run_prints_the_counts_and_writes_nothing(
    slug: str, session: Session, data_dir: Path, tmp_path: Path
) -> None:
    before = stored_files(data_dir)
    result = run(CliRunner(), "import", str(contacts(tmp_path)), "-w", slug, "--dry-run")
    lines = {" ".join(line.replace("│", " ").split()) for line in result.output.splitlines()}
    assert {"rows 4", "valid 3", "invalid 1", "new 2", "existing 0", "duplicates 1"} <= lines
    assert "Not stored: Plan" in result.output
    assert "Dry run: nothing was written." in result.output
    for model in (User, Group, ImportJob, AuditEntry):
        assert count(session, model, slug) == 0, model
    assert stored_files(data_dir) == before


def test_an_import_maps_columns_and_makes_the_group(
    slug: str, session: Session, data_dir: Path, tmp_path: Path
) -> None:
    result = run(
        CliRunner(), "import", str(contacts(tmp_path)), "-w", slug,
        "--map", "Cell No=whatsapp", "--map", "Plan=", "--group", "Fair",
    )  # fmt: skip
    assert "Importing" in result.output  # the progress bar's last state
    assert "4/4" in result.output
    assert "Imported into group Fair: created 2, duplicate 1, rejected 1" in result.output
    people = {
        u.full_name: (u.phone, u.whatsapp)
        for u in session.scalars(
            select(User).where(User.workspace_id == workspace_id(session, slug))
        )
    }
    assert people == {
        "Ann Lee": (None, "+447911123456"), "Bob Roe": (None, "+447911123457"),
    }  # fmt: skip
    group = session.scalars(
        select(Group).where(Group.workspace_id == workspace_id(session, slug), Group.name == "Fair")
    ).one()
    assert (group.member_count, group.source) == (2, "import")
    sources = set(session.scalars(select(Membership.source).where(Membership.group_id == group.id)))
    assert sources == {"import"}
    job = session.scalars(select(ImportJob).where(ImportJob.group_id == group.id)).one()
    assert (job.status, job.mapping["Cell No"], job.mapping["Plan"]) == ("done", "whatsapp", None)
    again = run(
        CliRunner(), "import", str(contacts(tmp_path)), "-w", slug, "--group", "Fair", code=1
    )
    assert "A group named 'Fair' already exists" in again.output
    assert count(session, ImportJob, slug) == 1


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("Cell No", "--map takes COLUMN=FIELD"),
        ("Fax=phone", "The file has no column 'Fax'"),
        ("Cell No=pager", "'pager' is not a field a column can be mapped to"),
        ("Name=", "Map at least one column to Full name or First name"),
    ],
)
def test_a_bad_map_is_a_clear_error(
    slug: str, session: Session, data_dir: Path, tmp_path: Path, option: str, message: str
) -> None:
    before = stored_files(data_dir)
    result = run(CliRunner(), "import", str(contacts(tmp_path)), "-w", slug, "--map", option,
                 code=1)  # fmt: skip
    assert message in " ".join(result.output.split())
    assert count(session, ImportJob, slug) == 0
    assert count(session, User, slug) == 0
    assert stored_files(data_dir) == before


def test_a_spreadsheet_sheet_is_chosen(
    slug: str, session: Session, data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "crm.xlsx"
    with xlsxwriter.Workbook(str(path)) as book:
        book.add_worksheet("Notes").write_row(0, 0, ["Exported on Monday"])
        people = book.add_worksheet("People")
        for number, row in enumerate(
            [["First Name", "Last Name", "E-mail"], ["Dee", "Kay", "dee@example.com"],
             ["Eve", "Moss", "eve@example.com"]]
        ):  # fmt: skip
            people.write_row(number, 0, row)
    result = run(CliRunner(), "import", str(path), "-w", slug, "--sheet", "People")
    assert "Imported into group crm: created 2" in result.output
    mine = select(User.full_name).where(User.workspace_id == workspace_id(session, slug))
    assert set(session.scalars(mine)) == {"Dee Kay", "Eve Moss"}
    missing = run(CliRunner(), "import", str(path), "-w", slug, "--sheet", "Sales", code=1)
    assert "Sales" in missing.output


def _custom_fields(slug: str) -> None:
    """A `score` field, and a form `Scores` holding only it, in the workspace."""
    with db.get_sessionmaker()() as session:
        system = actors.system(workspace_id(session, slug))
        forms.create_field(
            session, actor=system, data=FieldCreate(key="score", label="Score", type="integer")
        )
        forms.create_form(session, actor=system, data=FormCreate(name="Scores", fields=["score"]))
        session.commit()


SCORED = "Name,Email,Score,Plan\nAnn Lee,ann@example.com,7,gold\n"


def test_a_new_form_holds_the_custom_columns_and_new_fields(
    slug: str, session: Session, data_dir: Path, tmp_path: Path
) -> None:
    _custom_fields(slug)
    path = tmp_path / "scored.csv"
    path.write_text(SCORED, encoding="utf-8")
    result = run(
        CliRunner(), "import", str(path), "-w", slug, "--map", "Score=attributes.score",
        "--new-field", "Plan=plan:text:The plan asked about", "--new-form", "Fair leads",
    )  # fmt: skip
    assert "Not stored" not in result.output
    assert "Imported into group scored: created 1" in result.output
    mine = workspace_id(session, slug)
    form = session.scalars(select(Form).where(Form.workspace_id == mine, Form.name == "Fair leads"))
    made = form.one()
    keys = session.scalars(
        select(Field.key)
        .join(FormField, (FormField.field_id == Field.id) & (FormField.workspace_id == mine))
        .where(FormField.form_id == made.id)
        .order_by(FormField.position)
    )
    assert list(keys) == ["score", "plan"]
    plan = session.scalars(select(Field).where(Field.workspace_id == mine, Field.key == "plan"))
    assert plan.one().description == "The plan asked about"
    ann = session.scalars(select(User).where(User.workspace_id == mine)).one()
    assert ann.attributes == {"score": 7, "plan": "gold"}


def test_columns_outside_the_attached_form_are_listed_and_not_stored(
    slug: str, session: Session, data_dir: Path, tmp_path: Path
) -> None:
    _custom_fields(slug)
    path = tmp_path / "scored.csv"
    path.write_text(SCORED, encoding="utf-8")
    result = run(
        CliRunner(), "import", str(path), "-w", slug, "--map", "Score=attributes.score",
        "--new-field", "Plan=plan:text", "--form", "Scores",
    )  # fmt: skip
    assert "Not stored: Plan" in result.output
    assert "(not in the form: Plan)" in result.output
    mine = workspace_id(session, slug)
    ann = session.scalars(select(User).where(User.workspace_id == mine)).one()
    assert ann.attributes == {"score": 7}
    missing = run(CliRunner(), "import", str(path), "-w", slug, "--form", "Nope", code=1)
    assert "No form named 'Nope'" in missing.output
    assert "forms: Scores" in missing.output
    both = run(
        CliRunner(), "import", str(path), "-w", slug, "--form", "Scores", "--new-form", "X", code=1
    )
    assert "not both" in both.output
