"""Importing a contact list (issue 4): a 1,000,000-row CSV and a 100,000-row XLSX, end to end.

    .venv/bin/python bench/imports.py --db postgresql            # seeds its own database first
    .venv/bin/python bench/imports.py --db sqlite --rows 100000 --skip-xlsx

Works on databases of its own (`COTERIE_BENCH_NAME=import`: PostgreSQL `coterie_bench_import`,
SQLite `bench/.data/import.db`), seeded with 1,000,000 people by `seed.py`, and on files it writes
under `bench/.data/`. The CSV has a name, a phone (E.164, `+44 7911 ...`, `(415) 555-0123` and
`415-555-0123`, the workspace's region being US), an email, and five custom columns (plan, city,
score, and company and signup date, which the import creates as new fields); every other row is a
person already in the directory, so half the rows match and each of those gets the two new
fields (fill policy). Two dynamic groups read the columns the import writes.

The product is timed from the upload (`service.upload`: file stored and checked) through
`service.configure` and `service.start` to the end of `runner.run` (rows parsed, normalized,
matched, upserted batch by batch, the group made and the dynamic groups refreshed). The
reference is measured before and after it, in the same run: on PostgreSQL a bare `COPY` of the
same file into a table made `LIKE users INCLUDING ALL` (the same indexes) plus five text columns;
on SQLite the file's rows read by `csv.reader` and inserted by one `executemany` in one transaction
into a table with the users table's definition and indexes. CPU seconds (this process, its worker
processes, and the PostgreSQL backends) and the peak resident memory of the importing process and
of its workers are printed with the wall times.

An import changes the people it matches, so the CSV is imported once per seeded database:
run again, the benchmark seeds the database again (`--no-reseed` to refuse instead).

The XLSX figure imports a 100,000-row workbook of new people into a new workspace, between two
reads of the same workbook by python-calamine alone (`iter_rows` over the sheet).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("COTERIE_BENCH_NAME", "import")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
import people

USERS = 1_000_000
HEADER = ("Name", "Phone", "Email", "Plan", "City", "Score", "Company", "Signup date")
COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Soylent")
NEW_FIELDS = [
    {"key": "company", "label": "Company", "type": "text"},
    {"key": "signup_date", "label": "Signup date", "type": "date"},
]
DYNAMIC = {
    "bench import: enterprise": 'attributes.plan eq "Enterprise"',
    "bench import: london by email": 'attributes.city eq "London" and primary_channel eq "email"',
}
PG_TARGET_ROWS_PER_S = 50_000
TARGET_RATIO = 0.5
XLSX_TARGET_RATIO = 0.8
MEMORY_TARGET_MB = 500
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


# --- the files --------------------------------------------------------------------------------


def _phone_text(e164: str, rng: random.Random) -> str:
    """The number as contact lists write it: E.164, spaced, or US national forms."""
    roll = rng.random()
    if e164.startswith("+1"):
        national = e164[2:]
        if roll < 0.4:
            return e164
        if roll < 0.7:
            return f"({national[:3]}) {national[3:6]}-{national[6:]}"
        return f"{national[:3]}-{national[3:6]}-{national[6:]}"
    if roll < 0.5:
        return e164
    code = e164[1:3]
    return f"+{code} {e164[3:7]} {e164[7:]}"


def contact_rows(
    count: int, *, workspace_id: int, users: int = USERS, new_only: bool = False
) -> Iterator[list[str]]:
    """`count` file rows: every other one a seeded person (row `2k` of the seed), the rest new."""
    rng = random.Random(4)
    seeded = people.generate(users, workspace_id=workspace_id, seed=1, new_id=lambda: 0)
    columns = {name: index for index, name in enumerate(people.COLUMNS)}
    plans = ("Free", "Pro", "Enterprise", "pro", "free")
    for row in range(count):
        if not new_only and row % 2 == 0 and row < users:
            person = next(seeded)
            next(seeded, None)  # the odd seed rows are not in the file
            name = person[columns["full_name"]]
            phone, email = person[columns["phone"]], person[columns["email"]]
        else:
            k = users + row  # identifiers derived as the seed does, past the seeded people
            first, last = rng.choice(people.FIRST), rng.choice(people.LAST)
            prefix, ranges = people.REGIONS[0 if k % 10 < 7 else 1 if k % 10 < 9 else 2]
            phone = f"{prefix}{ranges[k % len(ranges)]}{2_000_000 + (k * 7919) % 8_000_000}"
            local = f"{people._ascii(first)}.{people._ascii(last)}{k}"
            email = f"{local}@{people.DOMAINS[k % len(people.DOMAINS)]}"
            name = f"{first} {last}"
            roll = rng.random()
            phone, email = (None, email) if roll < 0.05 else (phone, None if roll > 0.9 else email)
        if email is not None and rng.random() < 0.2:
            email = email.title()
        score = round(rng.random() * 100, 1)
        day = 1 + row % 28
        yield [
            name,
            "" if phone is None else _phone_text(phone, rng),
            email or "",
            rng.choice(plans),
            rng.choice(people.CITIES),
            str(score) if row % 3 else str(score).replace(".", ","),
            rng.choice(COMPANIES),
            f"2024-{1 + row % 12:02d}-{day:02d}"
            if row % 4
            else f"{day:02d}/{1 + row % 12:02d}/2024",
        ]


def write_csv(path: Path, count: int, workspace_id: int, users: int) -> None:
    if path.exists():
        return
    start = time.perf_counter()
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        writer.writerows(contact_rows(count, workspace_id=workspace_id, users=users))
    partial.rename(path)
    size = path.stat().st_size / 2**20
    took = time.perf_counter() - start
    print(f"  wrote {path.name}: {count:,} rows, {size:.0f} MiB in {took:.0f} s", flush=True)


def write_xlsx(path: Path, count: int) -> None:
    import xlsxwriter  # type: ignore[import-untyped]

    if path.exists():
        return
    partial = path.with_suffix(".partial")
    book = xlsxwriter.Workbook(str(partial), {"constant_memory": True})
    sheet = book.add_worksheet("Contacts")
    sheet.write_row(0, 0, HEADER)
    for number, row in enumerate(contact_rows(count, workspace_id=0, new_only=True), 1):
        sheet.write_row(number, 0, row)
    book.close()
    partial.rename(path)


# --- measuring --------------------------------------------------------------------------------


def _rss(pid: int | str) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE
    except OSError:
        return 0


def process_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


class Monitor:
    """Samples, every 20 ms, the RSS of this process and its children (the peak of each and of
    their sum), their CPU, and the CPU of the PostgreSQL backends serving the bench database."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.peak_main = self.peak_total = 0
        self.children_cpu: dict[int, tuple[float, float]] = {}  # pid: (at the start, last seen)
        self.server_cpu: dict[int, tuple[float, float]] = {}  # pid: (first seen, last seen)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._backends: list[int] = []
        self._conn: Any = None

    def _server_pids(self) -> list[int]:
        rows = self._conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (_common.PG_DATABASE,),
        ).fetchall()
        return [row[0] for row in rows]

    def _sample(self) -> None:
        pid = os.getpid()
        main = _rss(pid)
        children = _common.descendants(pid)
        total = main + sum(_rss(child) for child in children)
        self.peak_main, self.peak_total = max(self.peak_main, main), max(self.peak_total, total)
        for child in children:
            cpu = process_cpu(child)
            first = self.children_cpu.get(child, (0.0, cpu))[0]
            self.children_cpu[child] = (first, cpu)

    def _run(self) -> None:
        ticks = 0
        while not self._stop.wait(0.02):
            self._sample()
            ticks += 1
            if self._conn is not None and ticks % 10 == 0:
                self._server()

    def _server(self) -> None:
        for pid in self._server_pids():
            cpu = process_cpu(pid)
            first = self.server_cpu.get(pid, (cpu, cpu))[0]
            self.server_cpu[pid] = (first, cpu)

    def __enter__(self) -> Monitor:
        if self.backend == "postgresql":
            import psycopg

            self._conn = psycopg.connect(_common.psycopg_url("postgresql"), autocommit=True)
            for pid in self._server_pids():
                cpu = process_cpu(pid)
                self.server_cpu[pid] = (cpu, cpu)
        for child in _common.descendants(os.getpid()):  # a forkserver left by an earlier import
            cpu = process_cpu(child)
            self.children_cpu[child] = (cpu, cpu)
        self._cpu = time.process_time()
        self._wall = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        self._sample()
        if self._conn is not None:
            self._server()
        self._stop.set()
        self._thread.join()
        if self._conn is not None:
            self._conn.close()

    def figures(self) -> dict[str, float]:
        workers = sum(last - first for first, last in self.children_cpu.values())
        server = sum(last - first for first, last in self.server_cpu.values())
        return {
            "seconds": self.wall,
            "cpu_s": self.cpu,
            "workers_cpu_s": workers,
            "server_cpu_s": server,
            "total_cpu_s": self.cpu + workers + server,
            "peak_rss_mb": self.peak_main / 2**20,
            "peak_rss_with_workers_mb": self.peak_total / 2**20,
        }


def show(label: str, rows: int, figures: dict[str, float]) -> None:
    rate = rows / figures["seconds"]
    cpu = f"CPU {figures['cpu_s']:.1f} s"
    if figures.get("workers_cpu_s"):
        cpu += f" + workers {figures['workers_cpu_s']:.1f} s"
    if figures.get("server_cpu_s"):
        cpu += f" + server {figures['server_cpu_s']:.1f} s"
    _common.line(label, f"{figures['seconds']:7.1f} s  {rate:9,.0f} rows/s  {cpu}")


# --- the references ---------------------------------------------------------------------------

EXTRA = ("plan", "city", "score", "company", "signup_date")


def copy_csv(conn: Any, table: str, columns: str, path: Path) -> None:
    """`COPY` the CSV file at `path` (its header skipped) into `columns` of `table`."""
    copy_sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, HEADER true)"
    with conn.cursor().copy(copy_sql) as copy, path.open("rb") as file:
        while block := file.read(1 << 20):
            copy.write(block)


def reference_postgres(path: Path, workspace_id: int) -> dict[str, float]:
    """A bare COPY of the file into an empty table with the users table's indexes."""
    import psycopg

    with psycopg.connect(_common.psycopg_url("postgresql"), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_import_copy")
        conn.execute("CREATE TABLE bench_import_copy (LIKE users INCLUDING ALL)")
        conn.execute("CREATE SEQUENCE IF NOT EXISTS bench_import_copy_id")
        defaults = {
            "workspace_id": str(int(workspace_id)),
            "id": "nextval('bench_import_copy_id')",
            "nicknames": "'[]'",
            "attributes": "'{}'",
            "source": "'import'",
            "role": "'none'",
            "status": "'active'",
            "scoring_enabled": "false",
            "roaming": "false",
            "created_at": "now()",
            "updated_at": "now()",
        }
        for column, value in defaults.items():
            conn.execute(f"ALTER TABLE bench_import_copy ALTER {column} SET DEFAULT {value}")
        conn.execute("ALTER TABLE bench_import_copy " + ", ".join(f"ADD {c} text" for c in EXTRA))
        columns = ", ".join(("full_name", "phone", "email", *EXTRA))
        server = conn.info.backend_pid
        with Monitor("sqlite") as monitor:  # the COPY's backend is counted below
            before = process_cpu(server)
            with conn.transaction():
                copy_csv(conn, "bench_import_copy", columns, path)
            server_cpu = process_cpu(server) - before
        figures = monitor.figures()
        figures["server_cpu_s"] = server_cpu
        figures["total_cpu_s"] += server_cpu
        figures["rows"] = conn.execute("SELECT count(*) FROM bench_import_copy").fetchone()[0]
        conn.execute("DROP TABLE bench_import_copy")
        conn.execute("DROP SEQUENCE bench_import_copy_id")
    return figures


def reference_sqlite(path: Path, workspace_id: int) -> dict[str, float]:
    """The file's rows by csv.reader and one executemany, in one transaction, into a table with
    the users table's definition and indexes (the product's connection settings)."""
    import sqlite3

    database = _common.database_url("sqlite").removeprefix("sqlite:///")
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    definitions = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'users' AND sql IS NOT NULL"
        " ORDER BY type DESC"  # the table first
    ).fetchall()
    conn.execute("DROP TABLE IF EXISTS bench_import_copy")
    for kind, name, sql in definitions:
        if kind == "table":
            sql = sql.replace("CREATE TABLE users", "CREATE TABLE bench_import_copy", 1)
        else:
            sql = sql.replace(f"INDEX {name} ON users", f"INDEX bench_{name} ON bench_import_copy")
        conn.execute(sql)
    for column in EXTRA:
        conn.execute(f"ALTER TABLE bench_import_copy ADD {column} TEXT")
    columns = ("workspace_id", "id", "full_name", "phone", "email", *EXTRA)
    constants = {
        "nicknames": "[]",
        "attributes": "{}",
        "source": "import",
        "role": "none",
        "status": "active",
        "scoring_enabled": 0,
        "roaming": 0,
        "created_at": "2026-12-01 00:00:00.000000",
        "updated_at": "2026-12-01 00:00:00.000000",
    }
    names = (*columns, *constants)
    insert = (
        f"INSERT INTO bench_import_copy ({', '.join(names)})"
        f" VALUES ({', '.join('?' for _ in names)})"
    )
    fixed = tuple(constants.values())

    def rows(file: Any) -> Iterator[tuple[Any, ...]]:
        reader = csv.reader(file)
        next(reader)
        for number, (name, phone, email, *rest) in enumerate(reader, 1):
            yield (workspace_id, number, name, phone or None, email or None, *rest, *fixed)

    with Monitor("sqlite") as monitor, path.open(encoding="utf-8", newline="") as file:
        conn.execute("BEGIN")
        conn.executemany(insert, rows(file))
        conn.execute("COMMIT")
    figures = monitor.figures()
    figures["rows"] = conn.execute("SELECT count(*) FROM bench_import_copy").fetchone()[0]
    conn.execute("DROP TABLE bench_import_copy")
    conn.close()
    return figures


# --- the product ------------------------------------------------------------------------------


def _engine(backend: str) -> Any:
    from coterie import db

    if backend == "postgresql" and os.environ.get("BENCH_LOG_SLOW_MS"):  # profiling aid
        options = f"-c log_min_duration_statement={int(os.environ['BENCH_LOG_SLOW_MS'])}"
        return db.make_engine(_common.database_url(backend), connect_args={"options": options})
    return db.make_engine(_common.database_url(backend))


def import_file(
    engine: Any, path: Path, workspace_id: int, group: str, backend: str
) -> tuple[dict[str, float], dict[str, int]]:
    """Upload, configure, start and run an import as an adapter does; the figures and counts."""
    from sqlalchemy.orm import sessionmaker

    from coterie import actor as actors
    from coterie.transfer import runner, service
    from coterie.transfer.schemas import ImportConfigure

    make_session = sessionmaker(engine, expire_on_commit=False)
    admin = actors.system(workspace_id, label="bench import")
    done = [0.0]

    def progress(rows: int, total: int | None) -> None:
        if time.perf_counter() - done[0] > 10:
            done[0] = time.perf_counter()
            print(f"    {rows:,} of {total or 0:,} rows", flush=True)

    with Monitor(backend) as monitor:
        with make_session() as session:
            with path.open("rb") as file:
                job = service.upload(session, actor=admin, file_name=path.name, stream=file)
            mapping = dict(job.mapping)
            mapping.update(
                {"Company": "attributes.company", "Signup date": "attributes.signup_date"}
            )
            data = ImportConfigure.model_validate(
                {"mapping": mapping, "new_fields": NEW_FIELDS, "group_name": group}
            )
            service.configure(session, actor=admin, job_id=job.id, data=data)
            service.start(session, actor=admin, job_id=job.id)
            session.commit()
            job_id = job.id
        finished = runner.run(
            make_session, workspace_id=workspace_id, job_id=job_id, progress=progress
        )
    if finished is None or finished.status != "done":
        raise SystemExit(f"the import did not finish: {finished and finished.error}")
    return monitor.figures(), dict(finished.counts)


def prepare_workspace(engine: Any, backend: str) -> int:
    """The seeded workspace with a roomy upload limit and the two dynamic groups."""
    from sqlalchemy.orm import Session

    from coterie import actor as actors
    from coterie.groups import service as groups
    from coterie.groups.schemas import GroupCreate

    with Session(engine) as session:
        workspace = _common.bench_workspace(session)
        workspace.upload_limit_bytes = 2 * 1024**3
        admin = actors.system(workspace.id, label="bench import")
        for name, rule in DYNAMIC.items():
            if groups.find_by_name(session, workspace_id=workspace.id, name=name) is None:
                data = GroupCreate(name=name, selection="rule", include=rule)
                groups.create(session, actor=admin, data=data)
        session.commit()
        return int(workspace.id)


def already_imported(engine: Any, workspace_id: int) -> bool:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from coterie.transfer.models import ImportJob

    with Session(engine) as session:
        jobs = select(func.count()).where(ImportJob.workspace_id == workspace_id)
        return bool(session.scalar(jobs))


def calamine_read(path: Path) -> dict[str, float]:
    import python_calamine

    with (
        Monitor("sqlite") as monitor,
        python_calamine.CalamineWorkbook.from_path(str(path)) as book,
    ):
        rows = sum(1 for _ in book.get_sheet_by_index(0).iter_rows())
    figures = monitor.figures()
    figures["rows"] = rows - 1
    return figures


def product_read(path: Path) -> dict[str, float]:
    """The import's own reading of the workbook at each stage: at upload `readers.detect`
    (format, sheet, header), then in the job one `readers.Table` counted and read."""
    from coterie.transfer import readers

    with Monitor("sqlite") as monitor:
        source, _ = readers.detect(path, file_name=path.name, max_expanded_bytes=2**30)
    upload = monitor.figures()
    with Monitor("sqlite") as monitor:
        table = readers.Table(path, source)
        total = table.count()
        rows = sum(1 for _ in table.rows())
    figures = monitor.figures()
    assert rows == total
    figures["rows"] = rows
    figures["upload_seconds"] = upload["seconds"]
    figures["upload_cpu_s"] = upload["cpu_s"]
    return figures


def bench_xlsx(engine: Any, backend: str, rows: int) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    import seed
    from coterie import actor as actors
    from coterie.directory import forms
    from coterie.directory.schemas import FieldCreate
    from coterie.rules import FieldType
    from coterie.workspaces import service as workspaces

    path = _common.DATA / f"import-{rows}.xlsx"
    write_xlsx(path, rows)
    with Session(engine) as session:
        slug = f"xlsx-{int(time.time())}"
        workspace = workspaces.create(session, slug=slug, name="XLSX", default_region="US")
        admin = actors.system(workspace.id)
        for key, label, kind, options in seed.FIELDS:
            data = FieldCreate(key=key, label=label, type=FieldType(kind), options=options)
            forms.create_field(session, actor=admin, data=data)
        session.commit()
        workspace_id = workspace.id
    print(f"\nXLSX: {rows:,} rows of new people into a new workspace ({backend})")
    before = calamine_read(path)
    show("python-calamine reads it", rows, before)
    product, counts = import_file(engine, path, workspace_id, f"xlsx {workspace_id}", backend)
    show("product: import end to end", rows, product)
    after = calamine_read(path)
    show("python-calamine reads it (again)", rows, after)
    reader = product_read(path)
    show("the import's reader in the job (count + rows)", rows, reader)
    _common.line("  and at upload (detect)", f"{reader['upload_seconds']:.1f} s")
    reference = min(before["seconds"], after["seconds"])
    ratio = reference / product["seconds"]
    _common.line("product / calamine (rows/s)", f"{ratio:.3f}x (target >= {XLSX_TARGET_RATIO}x)")
    reader_ratio = reference / reader["seconds"]
    reader_cpu_ratio = min(before["cpu_s"], after["cpu_s"]) / reader["cpu_s"]
    _common.line(
        "the import's reader / calamine (rows/s)",
        f"{reader_ratio:.3f}x wall, {reader_cpu_ratio:.3f}x CPU",
    )
    return {
        "reader": reader,
        "reader_ratio": reader_ratio,
        "reader_cpu_ratio": reader_cpu_ratio,
        "rows": rows,
        "counts": counts,
        "product": product,
        "reference": {"before": before, "after": after},
        "ratio": ratio,
        "met": ratio >= XLSX_TARGET_RATIO,
    }


def bench_csv(
    engine: Any, backend: str, rows: int, workspace_id: int, users: int
) -> dict[str, Any]:
    path = _common.DATA / f"import-{rows}-of-{users}.csv"
    write_csv(path, rows, workspace_id, users)
    reference = reference_postgres if backend == "postgresql" else reference_sqlite
    label = "bare COPY" if backend == "postgresql" else "raw executemany"
    print(f"\nCSV: {rows:,} rows, half of them people already there ({backend})")
    before = reference(path, workspace_id)
    show(f"reference: {label}", rows, before)
    product, counts = import_file(engine, path, workspace_id, f"csv {time.time():.0f}", backend)
    show("product: import end to end", rows, product)
    after = reference(path, workspace_id)
    show(f"reference: {label} (again)", rows, after)
    ref_seconds = (before["seconds"] + after["seconds"]) / 2
    ref_cpu = (before["total_cpu_s"] + after["total_cpu_s"]) / 2
    ratio = ref_seconds / product["seconds"]
    cpu_ratio = ref_cpu / product["total_cpu_s"]
    rate = rows / product["seconds"]
    _common.line("outcomes", ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    _common.line("product / reference (rows/s)", f"{ratio:.3f}x wall, {cpu_ratio:.3f}x CPU")
    _common.line(
        "peak RSS, importing process (+ workers)",
        f"{product['peak_rss_mb']:.0f} MiB ({product['peak_rss_with_workers_mb']:.0f} MiB)",
    )
    met = ratio >= TARGET_RATIO and (backend != "postgresql" or rate >= PG_TARGET_ROWS_PER_S)
    return {
        "rows": rows,
        "counts": counts,
        "rows_per_s": rate,
        "product": product,
        "reference": {"name": label, "before": before, "after": after},
        "ratio": ratio,
        "cpu_ratio": cpu_ratio,
        "met": met,
        "memory_met": product["peak_rss_with_workers_mb"] < MEMORY_TARGET_MB,
    }


def reseed(backend: str, users: int) -> None:
    """Seed in a child process: the SQLite seed's 4 GB page cache, freed but not given back to
    the system, would otherwise count in this process's peak RSS during the import."""
    import subprocess

    name = _common.PG_DATABASE if backend == "postgresql" else _common.SQLITE_FILE
    print(f"seeding {name} with {users:,} people", flush=True)
    script = Path(__file__).resolve().parent / "seed.py"
    subprocess.run(
        [sys.executable, str(script), "--db", backend, "--users", str(users)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=USERS, help="people seeded")
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--skip-csv", action="store_true")
    parser.add_argument("--skip-xlsx", action="store_true")
    parser.add_argument("--no-reseed", action="store_true", help="refuse a used database")
    args = parser.parse_args()
    os.environ.setdefault("COTERIE_DATA_DIR", str(_common.DATA / "import-files"))
    os.environ["COTERIE_DATABASE_URL"] = _common.database_url(args.db)
    seeded = _common.DATA / f"seed-{_common.TAG}{args.db}.json"
    if not seeded.exists() or json.loads(seeded.read_text()).get("users") != args.users:
        reseed(args.db, args.users)
    from coterie import migrations

    migrations.upgrade(_common.database_url(args.db))  # the schema may have moved on since
    engine = _engine(args.db)
    workspace_id = prepare_workspace(engine, args.db)
    if not args.skip_csv and already_imported(engine, workspace_id):
        if args.no_reseed:
            raise SystemExit("this database has had its import: seed it again")
        engine.dispose()
        reseed(args.db, args.users)
        workspace_id = prepare_workspace(engine, args.db)
    results: dict[str, Any] = {}
    if not args.skip_csv:
        results["csv"] = bench_csv(engine, args.db, args.rows, workspace_id, args.users)
        _common.record(args.db, "imports_csv", results["csv"])
    if not args.skip_xlsx:
        results["xlsx"] = bench_xlsx(engine, args.db, args.xlsx_rows)
        _common.record(args.db, "imports_xlsx", results["xlsx"])
    engine.dispose()


if __name__ == "__main__":
    main()
