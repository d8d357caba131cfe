"""`coterie import FILE`: the import flow of the API and the web UI, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.cli._common import (
    OperatorOption,
    WorkspaceOption,
    cli_actor,
    fail,
    find_workspace,
    out,
    transaction,
)
from coterie.db import get_sessionmaker
from coterie.directory import forms
from coterie.transfer import mapping, runner
from coterie.transfer import service as imports
from coterie.transfer.schemas import DryRunRead, ImportConfigure, NewFieldInput, NewFormInput


def _mapping_options(values: list[str], headers: list[str]) -> dict[str, str | None]:
    chosen: dict[str, str | None] = {}
    for value in values:
        column, sep, target = value.partition("=")
        if not sep or not column.strip():
            fail(f"--map takes COLUMN=FIELD (or COLUMN= to ignore a column), got {value!r}")
        if column.strip() not in headers:
            fail(f"The file has no column {column.strip()!r}", [f"columns: {', '.join(headers)}"])
        chosen[column.strip()] = target.strip() or None
    return chosen


def _new_field_options(values: list[str], headers: list[str]) -> list[tuple[str, NewFieldInput]]:
    """`COLUMN=KEY:TYPE[:DESCRIPTION]`: the column kept in a new custom field, labelled by its
    header."""
    made: list[tuple[str, NewFieldInput]] = []
    for value in values:
        column, sep, spec = value.partition("=")
        key, _, rest = spec.partition(":")
        kind, _, description = rest.partition(":")
        if not sep or not column.strip() or not key.strip() or not kind.strip():
            fail(f"--new-field takes COLUMN=KEY:TYPE[:DESCRIPTION], got {value!r}")
        if column.strip() not in headers:
            fail(f"The file has no column {column.strip()!r}", [f"columns: {', '.join(headers)}"])
        field = NewFieldInput.model_validate(
            {"key": key, "label": column.strip(), "type": kind.strip(), "description": description}
        )
        made.append((column.strip(), field))
    return made


def _form_id(session: Session, actor: Actor, name: str | None) -> str | None:
    if name is None:
        return None
    found = [f for f in forms.list_forms(session, actor=actor) if f.name == name]
    if not found:
        names = [f.name for f in forms.list_forms(session, actor=actor)]
        fail(f"No form named {name!r}", [f"forms: {', '.join(names) or '(none)'}"])
    return ids.encode(found[0].id)


def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    workspace: WorkspaceOption = None,
    sheet: Annotated[str | None, typer.Option(help="The spreadsheet's sheet to read.")] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="COLUMN=FIELD, e.g. 'Mobile=phone' or 'Plan=attributes.plan' "
            "(repeatable; COLUMN= ignores a column). Unmapped columns keep the suggestion.",
        ),
    ] = None,
    new_field: Annotated[
        list[str] | None,
        typer.Option(
            "--new-field",
            help="COLUMN=KEY:TYPE[:DESCRIPTION]: keep a column in a new custom field "
            "(e.g. 'Plan tier=plan_tier:text:The tier asked about'; repeatable).",
        ),
    ] = None,
    group: Annotated[str | None, typer.Option(help="Name of the group the import makes.")] = None,
    form: Annotated[
        str | None,
        typer.Option(
            help="Attach this existing form (by name); custom columns it does not hold "
            "are not stored."
        ),
    ] = None,
    new_form: Annotated[
        str | None,
        typer.Option(help="Create a form of this name holding every custom column imported."),
    ] = None,
    merge: Annotated[
        str, typer.Option(help="For people already in the directory: fill, overwrite or skip.")
    ] = "fill",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the preview counts and write nothing.")
    ] = False,
    operator: OperatorOption = None,
) -> None:
    """Import people from a CSV, XLSX, XLS or ODS file into a new group."""
    console = out()
    if form is not None and new_form is not None:
        fail("Give --form (attach an existing form) or --new-form (create one), not both")
    stored: Path | None = None  # the uploaded copy, removed unless a queued job keeps it
    try:
        with transaction() as session, file.open("rb") as stream:
            found = find_workspace(session, workspace)
            actor = cli_actor(found, session=session, operator=operator)
            job = imports.upload(session, actor=actor, file_name=file.name, stream=stream)
            stored = imports.file_path(job)
            if sheet is not None:
                job = imports.configure(
                    session, actor=actor, job_id=job.id, data=ImportConfigure(sheet=sheet)
                )
            made = _new_field_options(new_field or [], job.headers)
            chosen = {**job.mapping, **_mapping_options(map_ or [], job.headers)}
            chosen |= {column: f"{mapping.ATTRIBUTE_PREFIX}{f.key}" for column, f in made}
            settings = ImportConfigure.model_validate(
                {
                    "mapping": chosen,
                    "new_fields": [f for _, f in made],
                    "merge_policy": merge,
                    "group_name": group or job.group_name,
                }
            )
            job = imports.configure(session, actor=actor, job_id=job.id, data=settings)
            if form is not None or new_form is not None:
                metadata = ImportConfigure(
                    form_id=_form_id(session, actor, form),
                    new_form=None if new_form is None else NewFormInput(name=new_form),
                )
                job = imports.configure(session, actor=actor, job_id=job.id, data=metadata)
            _print_mapping(job.headers, *imports.dropped_columns(session, job), job.mapping)
            _print_counts(imports.dry_run(session, actor=actor, job_id=job.id))
            if dry_run:
                session.rollback()
                console.print("Dry run: nothing was written.")
                return
            job = imports.start(session, actor=actor, job_id=job.id)
            workspace_id, job_id = job.workspace_id, job.id
        stored = None
    finally:
        if stored is not None:
            stored.unlink(missing_ok=True)
    with Progress(
        TextColumn("Importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as bar:
        task = bar.add_task("import", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        try:
            finished = runner.run(
                get_sessionmaker(), workspace_id=workspace_id, job_id=job_id, progress=progress
            )
        except Exception as exc:  # the job is marked failed with the reason; say it here too
            fail(f"The import failed: {exc}")
    if finished is None:
        fail("The import vanished")
    counts_done = ", ".join(f"{k} {v:,}" for k, v in sorted(finished.counts.items()))
    console.print(f"Imported into group [bold]{finished.group_name}[/]: {counts_done}")
    console.print(f"Import id {ids.encode(job_id)}")


def _print_mapping(
    headers: list[str], dropped: list[str], outside: list[str], chosen: dict[str, str | None]
) -> None:
    table = Table(title="Columns", show_header=True)
    table.add_column("column")
    table.add_column("stored as")
    for header in headers:
        target = chosen.get(header)
        label = mapping.SYSTEM_TARGETS.get(target or "", target or "")
        if header in outside:
            label = f"[dim](not stored: not in the form) {label}[/]"
        elif header in dropped:
            label = "[dim](not stored)[/]"
        table.add_row(header, label)
    out().print(table)


def _print_counts(counts: DryRunRead) -> None:
    console = out()
    table = Table(title="Preview", show_header=False)
    for name in ("rows", "valid", "invalid", "new", "existing", "duplicates"):
        table.add_row(name, f"{getattr(counts, name):,}")
    console.print(table)
    for reason, number in list(counts.reasons.items())[:10]:
        console.print(f"  [yellow]{number:,}[/] invalid: {reason}")
    if counts.dropped_columns:
        console.print(f"Not stored: {', '.join(counts.dropped_columns)}")
    if counts.outside_form:
        console.print(f"  (not in the form: {', '.join(counts.outside_form)})")
