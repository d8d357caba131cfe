"""Check that `export.export_csv` writes the same bytes on SQLite and PostgreSQL.

    .venv/bin/python bench/export_equivalence.py [--against FILE]

Writes awkward people (formula-like cells, quotes, commas, CR and LF inside cells, empty strings,
floats around 1e15, datetimes with and without microseconds, multi-enums) with the same ids into a
scratch workspace of the PostgreSQL bench database and a scratch SQLite file, exports both, and
compares. `--against` also compares with another implementation of `export_csv` (an export.py
file, e.g. the previous version from git) run on PostgreSQL.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

NAMES = [
    '=HYPERLINK("http://evil")',
    "+44 7911 123456",
    "-2+3",
    "@SUM(A1)",
    "\tTab",
    "\rCR",
    "Line\nbreak",
    'Quote "q" here',
    "Comma, name",
    "+123\n",
    "Zoë Ünïcödé 李",
    "\\.",
    "  spaced  ",
    "O'Brien",
    "-",
    "=",
    "+1",
    "a\r\nb",
    '"',
    "plain",
    ",",
    "-1e-05",
    "1,000",
]
# Not -0.0: SQLite's JSON functions read it back as 0.0, PostgreSQL keeps the sign.
NUMBERS: list[Any] = [
    43.0,
    94.9,
    1e15,
    1234567890123456.5,
    1e16,
    1e-5,
    -1e-5,
    0.1 + 0.2,
    5,
    123456789012345.0,
    -7,
    2.5e-300,
    1.7976931348623157e308,
    None,
]
FIELDS = (
    ("score", "number", []),
    ("count", "integer", []),
    ("flag", "boolean", []),
    ("tags", "multi_enum", ["a", "b", "=c"]),
    ("note", "text", []),
    ("day", "date", []),
)


def _people(workspace_id: int) -> list[dict[str, Any]]:
    rows = []
    for i, name in enumerate(NAMES * 2):
        attributes: dict[str, Any] = {}
        number = NUMBERS[i % len(NUMBERS)]
        if number is not None:
            attributes["score"] = number
            attributes["count"] = int(i * 7)
        if i % 3:
            attributes["flag"] = bool(i % 2)
        if i % 4 == 1:
            attributes["tags"] = ["a", "=c"][: 1 + i % 2]
        elif i % 4 == 2:
            attributes["tags"] = []
        attributes["note"] = NAMES[(i * 5) % len(NAMES)]
        if i % 5 == 0:
            attributes["day"] = "2024-05-01"
        micro = 0 if i % 2 else 123456 + i
        rows.append(
            {
                "workspace_id": workspace_id,
                "id": 1 if i == 0 else (2**63 - 1 - i * 977_000_003),
                "full_name": name,
                "first_name": "" if i % 7 == 0 else None if i % 7 == 1 else name,
                "last_name": "=cmd|' /C calc'!A0" if i % 6 == 0 else "Smith",
                "nicknames": [],
                "phone": f"+1212555{i:04d}",
                "email": f"p{i}@example.com" if i % 2 else None,
                "whatsapp": None,
                "instagram": None,
                "external_id": f"x,{i}" if i % 3 == 0 else None,
                "primary_channel": "email",
                "source": "import",
                "source_ref": None,
                "last_activity_at": None
                if i % 4 == 3
                else datetime(2025, 1, 2, 3, 4, 5, micro, UTC),
                "attributes": attributes,
                "role": "none",
                "scoring_enabled": False,
                "roaming": False,
                "status": "active",
                "created_at": datetime(2024, 12, 31, 23, 59, 59, micro, UTC),
                "updated_at": datetime(2025, 1, 1, tzinfo=UTC),
            }
        )
    return rows


def _export(url: str, slug: str, module: Any = None) -> str:
    from sqlalchemy import delete, insert
    from sqlalchemy.orm import Session

    from coterie import actor, db
    from coterie.directory import export as current
    from coterie.directory import forms
    from coterie.directory.models import Field, User
    from coterie.directory.schemas import FieldCreate
    from coterie.rules import FieldType
    from coterie.workspaces import service as workspaces

    export = module or current
    engine = db.make_engine(url)
    with Session(engine) as session, session.begin():
        workspace = workspaces.find_by_slug(session, slug=slug)
        if workspace is None:
            workspace = workspaces.create(session, slug=slug, name="Export check")
        admin = actor.system(workspace.id, label="check")
        session.execute(delete(User).where(User.workspace_id == workspace.id))
        session.execute(delete(Field).where(Field.workspace_id == workspace.id))
        for key, kind, options in FIELDS:
            forms.create_field(
                session,
                actor=admin,
                data=FieldCreate(key=key, label=key, type=FieldType(kind), options=options),
            )
        session.execute(insert(User), _people(workspace.id))
    with Session(engine) as session:
        text = "".join(export.export_csv(session, actor=admin, sort="full_name", batch_size=7))
    engine.dispose()
    return text


def _load(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("other_export", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _diff(label: str, left: str, right: str) -> bool:
    if left == right:
        print(f"  {label}: identical ({len(left):,} characters, {left.count(chr(10))} LF)")
        return True
    for n, (a, b) in enumerate(zip(left.splitlines(True), right.splitlines(True), strict=False)):
        if a != b:
            print(f"  {label}: DIFFERENT at line {n}:\n    {a!r}\n    {b!r}")
            break
    else:
        print(f"  {label}: DIFFERENT lengths {len(left)} and {len(right)}")
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="another export.py to compare on PostgreSQL")
    args = parser.parse_args()
    sqlite_url = f"sqlite:///{_common.DATA / 'export_check.db'}"
    (_common.DATA / "export_check.db").unlink(missing_ok=True)
    from coterie import migrations

    migrations.upgrade(sqlite_url)
    postgres = _export(_common.database_url("postgresql"), "export-check")
    sqlite = _export(sqlite_url, "export-check")
    same = _diff("PostgreSQL (COPY) vs SQLite (Python)", postgres, sqlite)
    if args.against:
        other = _export(_common.database_url("postgresql"), "export-check", _load(args.against))
        same = _diff(f"PostgreSQL vs {args.against} on PostgreSQL", postgres, other) and same
    (_common.DATA / "export_check_postgresql.csv").write_text(postgres, newline="")
    (_common.DATA / "export_check_sqlite.csv").write_text(sqlite, newline="")
    raise SystemExit(0 if same else 1)


if __name__ == "__main__":
    main()
