"""Webhook events of an import (issue 7): a 10,000-person import with endpoints registered, against
the same import with none, in the same run.

    .venv/bin/python bench/import_events.py --db sqlite [--people 10000] [--rounds 2]
    .venv/bin/python bench/import_events.py --db postgresql [--endpoints 3]

The issue asks that "a 10,000-person import produces its events without slowing the import by more
than 20%". Every import writes its events to the outbox in its own transactions whether or not
anyone listens; with endpoints registered the delivery worker also fans them out to every endpoint
and posts them, on the same machine, while the import runs. So the bench imports 10,000 new people
(a CSV of name, email and plan, through the import service: `upload`, `configure`, `start`,
`runner.run`) into two workspaces of one database, taking turns, `--rounds` times each:

- "none": a workspace without webhook endpoints,
- "webhooks": a workspace with `--endpoints` active endpoints subscribed to every event, each
  posting to a local receiver (a threaded HTTP server answering 200 at once) that checks every
  signature.

A delivery worker (a separate process, as `coterie worker` is, calling `delivery.deliver_due`
every 0.2 s) runs throughout both. Reported per variant: the import's wall time (median of the
rounds), CPU time of the importing process, the worker and (PostgreSQL) the backends, the events
the import wrote, and for "webhooks" the deliveries posted and how long after the import the last
one arrived. The figure the issue asks about is the ratio of the medians, webhooks / none.

Uses databases of its own: PostgreSQL `coterie_bench_import_events`, SQLite
`bench/.data/import_events.db`, both made anew on each run.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import hmac
import json
import multiprocessing
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg

os.environ.setdefault("COTERIE_BENCH_NAME", "import_events")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

PLANS = ("Free", "Pro", "Enterprise")


def fresh_database(backend: str) -> str:
    url = _common.database_url(backend)
    if backend == "postgresql":
        with psycopg.connect(f"{_common.PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{_common.PG_DATABASE}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{_common.PG_DATABASE}"')
    else:
        _common.DATA.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    return url


def backends(backend: str) -> list[int]:
    return _common.backend_pids(_common.PG_DATABASE) if backend == "postgresql" else []


# --- the receiver and the worker ---------------------------------------------------------------


class Receiver:
    """A local webhook receiver: answers 200 at once, counts what it got, checks signatures."""

    def __init__(self) -> None:
        self.secrets: dict[str, bytes] = {}  # path -> key
        self.received = 0
        self.bad_signatures = 0
        self.last_at = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                content = self.rfile.read(int(self.headers.get("content-length") or 0))
                signed = f"{self.headers['webhook-id']}.{self.headers['webhook-timestamp']}."
                key = receiver.secrets.get(self.path, b"")
                digest = hmac.new(key, signed.encode() + content, hashlib.sha256).digest()
                good = "v1," + base64.b64encode(digest).decode()
                with receiver.lock:
                    receiver.received += 1
                    receiver.bad_signatures += good not in self.headers["webhook-signature"]
                    receiver.last_at = time.perf_counter()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def worker(url: str, stop: Any) -> None:
    """What `coterie worker` does for webhooks, without waiting for a wake-up: deliver what is
    due, every 0.2 s."""
    os.environ["COTERIE_DATABASE_URL"] = url
    from coterie import db
    from coterie.events import delivery
    from coterie.migrations import metadata  # every model, for the mappers

    assert metadata.DOMAIN_MODELS
    sessions = db.get_sessionmaker()
    while not stop.is_set():
        delivery.deliver_due(sessions)
        stop.wait(0.2)
    delivery.deliver_due(sessions)


# --- the import ---------------------------------------------------------------------------------


def write_csv(path: Path, people: int, tag: str) -> None:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(("Name", "Email", "Plan"))
        for n in range(people):
            name = f"Person {tag} {n}"
            writer.writerow((name, f"p{n}.{tag}@example.com", PLANS[n % len(PLANS)]))


def import_file(path: Path, workspace_id: int) -> None:
    """Upload, configure, start and run the import, as an adapter and the worker do."""
    from coterie import actor as actors
    from coterie import db
    from coterie.transfer import runner, service
    from coterie.transfer.schemas import ImportConfigure

    admin = actors.system(workspace_id, label="bench import")
    sessions = db.get_sessionmaker()
    with sessions() as session:
        with path.open("rb") as file:
            job = service.upload(session, actor=admin, file_name=path.name, stream=file)
        data = ImportConfigure.model_validate(
            {"mapping": {"Name": "full_name", "Email": "email", "Plan": "attributes.plan"}}
        )
        service.configure(session, actor=admin, job_id=job.id, data=data)
        service.start(session, actor=admin, job_id=job.id)
        session.commit()
        job_id = job.id
    finished = runner.run(sessions, workspace_id=workspace_id, job_id=job_id)
    if finished is None or finished.status != "done":
        raise SystemExit(f"the import did not finish: {finished and finished.error}")


def setup(url: str, endpoints: int, receiver: Receiver) -> dict[str, int]:
    """Two workspaces with a `plan` field and a dynamic group on it; endpoints in one."""
    os.environ["COTERIE_DATABASE_URL"] = url
    from coterie import actor as actors
    from coterie import db, migrations
    from coterie.directory.forms import create_field
    from coterie.directory.schemas import FieldCreate
    from coterie.events import webhooks
    from coterie.events.schemas import EndpointCreate
    from coterie.groups import service as groups
    from coterie.groups.schemas import GroupCreate
    from coterie.workspaces import service as workspaces

    migrations.upgrade(url)
    found = {}
    with db.get_sessionmaker()() as session:
        for variant in ("none", "webhooks"):
            workspace = workspaces.create(session, slug=f"events-{variant}", name=variant)
            admin = actors.system(workspace.id)
            field = FieldCreate(key="plan", label="Plan", type="enum", options=list(PLANS))
            create_field(session, actor=admin, data=field)
            rule = GroupCreate(name="Pro", selection="rule", include='attributes.plan eq "Pro"')
            groups.create(session, actor=admin, data=rule)
            if variant == "webhooks":
                for n in range(endpoints):
                    data = EndpointCreate(url=f"{receiver.url}/hook{n}")
                    hook = webhooks.create(session, actor=admin, data=data)
                    receiver.secrets[f"/hook{n}"] = base64.b64decode(
                        hook.secret.removeprefix("whsec_")
                    )
            found[variant] = workspace.id
        session.commit()
    return found


def counts(workspace_id: int) -> tuple[int, int]:
    """Outbox events and deliveries of a workspace so far."""
    from sqlalchemy import func, select

    from coterie import db
    from coterie.events.models import Delivery, OutboxEvent

    with db.get_sessionmaker()() as session:
        events = session.scalar(
            select(func.count()).where(OutboxEvent.workspace_id == workspace_id)
        )
        sent = session.scalar(
            select(func.count()).where(
                Delivery.workspace_id == workspace_id, Delivery.status == "delivered"
            )
        )
    return int(events or 0), int(sent or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--endpoints", type=int, default=3)
    args = parser.parse_args()

    url = fresh_database(args.db)
    folder = tempfile.mkdtemp()
    os.environ["COTERIE_DATA_DIR"] = folder
    os.environ.setdefault("COTERIE_SECRET_KEY", secrets.token_urlsafe(32))
    receiver = Receiver()
    workspaces = setup(url, args.endpoints, receiver)
    spawn = multiprocessing.get_context("spawn")
    stop = spawn.Event()
    process = spawn.Process(target=worker, args=(url, stop))
    process.start()
    runs: dict[str, list[dict[str, float]]] = {"none": [], "webhooks": []}
    try:
        for variant in ("none", "webhooks"):  # warm-up, untimed: imports, caches, first plans
            path = Path(folder) / f"warm-up-{variant}.csv"
            write_csv(path, 200, f"warm{variant}")
            import_file(path, workspaces[variant])
        for round_ in range(args.rounds):
            for variant in ("none", "webhooks"):
                path = Path(folder) / f"people-{variant}-{round_}.csv"
                write_csv(path, args.people, f"{variant}{round_}")
                events_before, sent_before = counts(workspaces[variant])
                watched = [os.getpid(), process.pid or 0]
                db_pids = backends(args.db)
                cpu_before = _common.cpu_seconds(watched)
                db_before = {p: _common.cpu_seconds([p]) for p in db_pids}
                began = time.perf_counter()
                import_file(path, workspaces[variant])
                ended = time.perf_counter()
                figures = {
                    "wall_s": ended - began,
                    "cpu_s": _common.cpu_seconds(watched) - cpu_before,
                    "db_cpu_s": sum(
                        _common.cpu_seconds([p]) - db_before.get(p, 0.0) for p in backends(args.db)
                    ),
                    "events": counts(workspaces[variant])[0] - events_before,
                }
                if variant == "webhooks":
                    wanted = sent_before + figures["events"] * args.endpoints
                    deadline = time.monotonic() + 120
                    while counts(workspaces[variant])[1] < wanted:
                        if time.monotonic() > deadline:
                            raise SystemExit("the deliveries did not arrive within 120 s")
                        time.sleep(0.2)
                    figures["delivered_after_s"] = max(0.0, receiver.last_at - ended)
                runs[variant].append(figures)
                print(
                    f"  round {round_ + 1} {variant:8} {figures['wall_s']:6.2f} s wall, "
                    f"CPU {figures['cpu_s']:6.2f} s (importer + worker)"
                    + (
                        f" + {figures['db_cpu_s']:.2f} s database"
                        if args.db == "postgresql"
                        else ""
                    )
                    + f", {figures['events']:.0f} events"
                    + (
                        f", last delivery {figures['delivered_after_s']:.1f} s after the import"
                        if variant == "webhooks"
                        else ""
                    ),
                    flush=True,
                )
    finally:
        stop.set()
        process.join(timeout=60)
        receiver.server.shutdown()
    median = {v: statistics.median(r["wall_s"] for r in runs[v]) for v in runs}
    cpu = {v: statistics.median(r["cpu_s"] + r["db_cpu_s"] for r in runs[v]) for v in runs}
    ratio = median["webhooks"] / median["none"]
    print(
        f"\n{args.people:,}-person import ({args.db}, {args.endpoints} endpoints, "
        f"{args.rounds} rounds): none {median['none']:.2f} s, webhooks {median['webhooks']:.2f} s "
        f"(x{ratio:.2f}; target at most x1.20); CPU {cpu['none']:.2f} vs {cpu['webhooks']:.2f} s; "
        f"{receiver.received:,} deliveries received, {receiver.bad_signatures} bad signatures"
    )
    print(f"Load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    out = _common.DATA / f"import_events-{args.db}.json"
    out.write_text(json.dumps({"args": vars(args), "runs": runs, "ratio": ratio}, indent=2))
    print(f"Wrote {out}")


if __name__ == "__main__":
    main()
