"""SCIM over HTTP: Coterie (persisting to a real database) beside scim2-server (in memory).

    .venv/bin/python bench/scim.py --db sqlite [--users 5000] [--duration 10] [--clients 4]
    .venv/bin/python bench/scim.py --db postgresql --clients 1,4,16 --rounds 8

Both servers run under uvicorn (one worker; Coterie in `--workers` processes if asked, while
scim2-server keeps its data in one process's memory; Coterie's application and HTTP protocol
as `coterie serve` runs them, waking webhook deliveries after its commits) on a free loopback
port, each holding the same N users, and are driven by the same load generator: `--clients`
processes (or each of several counts in turn), each one keep-alive connection in a closed loop,
for `--duration` seconds per figure:
`GET /Users/{id}` (random ids), `GET /Users?filter=userName eq "..."` (random names), and
`POST /Users` (new names). Reported: requests/s, p50/p99 latency and the server's CPU time per
request (Coterie's with its PostgreSQL backends), and Coterie's ratio to scim2-server; each
figure is taken from both servers back to back (`--rounds` times in turn: each ratio is then the
median of the rounds', the figures the medians of each server's; from six rounds on, a 95%
confidence interval of the median ratio is printed with it). First, the time of the cheapest
durable write on Coterie's database (`commit_floor`): with one client, a create's least wait;
then a fixed answer to the same POST under the same uvicorn (`http_floor`): what a served
create costs before any work of its own.
With several client counts, each server's throughput is its highest rate over them (a server's
rate at a count that does not keep it busy is its latency, not its throughput), and the two
are compared. Client and servers share the machine's cores: compare the ratios, not the
counts.
Coterie uses its own database (`coterie_bench_scim` / `bench/.data/scim.db`), never the others.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

DATA = Path(__file__).resolve().parent / ".data"
PG_DATABASE = "coterie_bench_scim"
SCIM_SERVER_APP = """
import secrets
from scim2_models import ScimProvider
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.service import ScimService
from scim2_server.utils import (
    load_default_resource_types, load_default_schemas, load_default_service_provider_config,
)

provider = ScimProvider.from_discovery(
    load_default_schemas().values(),
    load_default_resource_types().values(),
    config=load_default_service_provider_config(),
)
app = ASGIApplication(
    AsyncInMemoryStorage(), provider, ScimService(provider, secret=secrets.token_urlsafe(32))
)
"""

# The least a served create could cost: the same uvicorn, an application that reads the body and
# answers every request with a fixed 201 of a created user's size (`http_floor`).
HTTP_FLOOR_APP = """
import json
BODY = json.dumps({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1xgs3c3j57xzq",
    "userName": "new-0-1-0123456789ab", "active": True,
    "meta": {"resourceType": "User", "created": "2026-12-07T17:00:00.000000+00:00",
             "lastModified": "2026-12-07T17:00:00.000000+00:00", "version": 'W/"0123456789"',
             "location": "http://127.0.0.1:8000/scim/v2/Users/1xgs3c3j57xzq"},
}).encode()
HEAD = [(b"content-type", b"application/scim+json"), (b"content-length", str(len(BODY)).encode())]

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 201, "headers": HEAD})
    await send({"type": "http.response.body", "body": BODY})
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(backend: str) -> str:
    if backend == "postgresql":
        server = _common.PG_SERVER
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
        return f"{server}/{PG_DATABASE}"
    DATA.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (DATA / f"scim.db{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{DATA / 'scim.db'}"


def seed_coterie(url: str, users: int) -> str:
    """A workspace, its SCIM token, and `users` people with a SCIM userName; the token."""
    os.environ["COTERIE_DATABASE_URL"] = url
    from coterie import actor as actors
    from coterie import db, migrations
    from coterie.access import provisioning
    from coterie.access import scim as scim_tokens
    from coterie.directory.schemas import UserCreate
    from coterie.groups import people
    from coterie.workspaces import service as workspaces

    migrations.upgrade(url)
    with db.get_sessionmaker()() as session:
        workspace = workspaces.create(session, slug="scim-bench", name="SCIM bench")
        admin = actors.system(workspace.id)
        _, secret = scim_tokens.create(session, actor=admin, name="bench")
        for n in range(users):
            name = f"user{n:07d}"
            data = UserCreate(full_name=f"User {n}", email=f"{name}@example.com", source="scim")
            person = people.create(session, actor=admin, data=data)
            provisioning.save_user(
                session,
                workspace_id=workspace.id,
                user_id=person.id,
                user_name=name,
                document={"userName": name, "emails": [{"value": f"{name}@example.com"}]},
            )
            if n % 1000 == 999:
                session.commit()
        session.commit()
    if url.startswith("postgresql"):  # fresh tables: plans from statistics, as autovacuum gives
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")
    db.get_engine().dispose()
    return secret


def latencies(times: list[float]) -> dict[str, float]:
    """The p50 and p99, in ms, of `times` (seconds, sorted)."""
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return {"p50_ms": statistics.median(times) * 1000, "p99_ms": p99 * 1000}


def commit_floor(url: str, count: int = 2000) -> dict[str, float]:
    """The p50 and p99 (ms) of the cheapest durable write: one row of a table of its own,
    inserted and committed alone the way Coterie's connections commit (PostgreSQL: autocommit,
    one round trip of a prepared statement; SQLite: Coterie's pragmas, WAL and
    synchronous=NORMAL). With one client every create waits at least this long on top of its
    own work, and scim2-server's create, kept in memory, does not."""
    rows = [(secrets.randbits(62),) for _ in range(count)]
    times = []
    if url.startswith("postgresql"):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_floor (id bigint PRIMARY KEY)")
            for row in rows:
                began = time.perf_counter()
                conn.execute("INSERT INTO bench_floor VALUES (%s)", row, prepare=True)
                times.append(time.perf_counter() - began)
            conn.execute("DROP TABLE bench_floor")
    else:
        from coterie import db

        engine = db.make_engine(url)
        conn = engine.raw_connection()
        try:
            conn.execute("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY)")
            conn.commit()
            for row in rows:
                began = time.perf_counter()
                conn.execute("INSERT INTO bench_floor VALUES (?)", row)
                conn.commit()
                times.append(time.perf_counter() - began)
            conn.execute("DROP TABLE bench_floor")
            conn.commit()
        finally:
            conn.close()
            engine.dispose()
    return latencies(sorted(times))


def http_floor(uvicorn: list[str], folder: str, env: dict[str, str]) -> dict[str, float]:
    """`POST /Users` with one client for 3 s against `HTTP_FLOOR_APP` under `uvicorn`: the
    latency and server CPU a create has before it does anything (reading the request, writing
    a fixed answer), which every server of the bench pays."""
    (Path(folder) / "http_floor.py").write_text(HTTP_FLOOR_APP)
    port = free_port()
    command = [*uvicorn, "--port", str(port), "--app-dir", folder, "http_floor:app"]
    server = start(command, env, port, folder)
    try:
        return load("post", (port, "/v2", "-", server.pid, None), [], [], 3.0, 1)
    finally:
        server.terminate()
        server.wait(timeout=10)


def start(command: list[str], env: dict[str, str], port: int, cwd: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env, cwd=cwd)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{command[0]} did not start")


def _request(
    conn: http.client.HTTPConnection, method: str, path: str, body: Any, token: str
) -> int:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    payload = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def _client(args: tuple[str, int, str, str, list[str], list[str], float, int]) -> list[float]:
    kind, port, prefix, token, ids, names, duration, seed = args
    rnd = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times: list[float] = []
    stop = time.monotonic() + duration
    n = 0
    while time.monotonic() < stop:
        n += 1
        if kind == "get":
            method, path, body = "GET", f"{prefix}/Users/{rnd.choice(ids)}", None
        elif kind == "filter":
            query = f'userName eq "{rnd.choice(names)}"'.replace(" ", "%20").replace('"', "%22")
            method, path, body = "GET", f"{prefix}/Users?filter={query}", None
        else:
            name = f"new-{seed}-{n}-{secrets.token_hex(6)}"  # unique over many rounds
            body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}
            method, path = "POST", f"{prefix}/Users"
        began = time.perf_counter()
        status = _request(conn, method, path, body, token)
        times.append(time.perf_counter() - began)
        if status >= 400:
            raise RuntimeError(f"{method} {path} answered {status}")  # pool.map raises it
    return times


def backends(url: str | None) -> list[int]:
    """The PostgreSQL backends serving Coterie's bench database (none on SQLite)."""
    if url is None or not url.startswith("postgresql"):
        return []
    return _common.backend_pids(PG_DATABASE)


def load(
    kind: str,
    target: tuple[int, str, str, int, str | None],
    ids: list[str],
    names: list[str],
    duration: float,
    clients: int,
) -> dict[str, float]:
    port, prefix, token, pid, url = target
    jobs = [(kind, port, prefix, token, ids, names, duration, i) for i in range(clients)]
    pids = [pid, *_common.descendants(pid)]  # with --workers, uvicorn's worker processes
    before = _common.cpu_seconds(pids), {b: _common.cpu_seconds([b]) for b in backends(url)}
    with multiprocessing.Pool(clients) as pool:
        times = sorted(t for chunk in pool.map(_client, jobs) for t in chunk)
    server_cpu = _common.cpu_seconds(pids) - before[0]
    db_cpu = sum(_common.cpu_seconds([b]) - before[1].get(b, 0.0) for b in backends(url))
    return {
        "rps": len(times) / duration,
        **latencies(times),
        "server_cpu_ms": server_cpu * 1000 / len(times),
        "db_cpu_ms": db_cpu * 1000 / len(times),
    }


def _line(figures: dict[str, float]) -> str:
    database = figures["db_cpu_ms"]
    return (
        f"{figures['rps']:8.0f} req/s  p50 {figures['p50_ms']:6.1f} ms  "
        f"p99 {figures['p99_ms']:6.1f} ms  server CPU {figures['server_cpu_ms']:.2f} ms/req"
        + (f" + database {database:.2f}" if database else "")
    )


def _counts(text: str) -> list[int]:
    """`--clients`: one count or several, comma-separated, each a whole number from 1."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not whole numbers: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"each count must be at least 1: {text!r}")
    return counts


def _ratios(
    rates: dict[str, dict[str, dict[int, list[float]]]], kind: str, ours: int, theirs: int
) -> list[float]:
    """Each round's ratio of Coterie's rate with `ours` clients to scim2-server's with `theirs`
    (round i over round i)."""
    pairs = zip(rates["coterie"][kind][ours], rates["scim2-server"][kind][theirs], strict=True)
    return [a / b for a, b in pairs]


def _interval_text(interval: tuple[float, float] | None, label: str) -> str:
    return f", {label} x{interval[0]:.2f}-x{interval[1]:.2f}" if interval else ""


def _summary(
    results: dict[str, dict[str, dict[int, dict[str, float]]]],
    kind: str,
    clients: int,
    ratios: dict[str, dict[int, list[float]]],
    intervals: dict[str, dict[int, tuple[float, float] | None]],
) -> str:
    """A figure's line: the median ratio (with each round's and the interval), p99 and CPU."""
    ours, theirs = results["coterie"][kind][clients], results["scim2-server"][kind][clients]
    each, interval = ratios[kind][clients], intervals[kind][clients]
    return (
        f"{clients:3} clients: throughput x{statistics.median(each):.2f}"
        + (f" (median of {', '.join(f'x{r:.2f}' for r in each)})" if len(each) > 1 else "")
        + _interval_text(interval, "95% interval of the median")
        + f", p99 {ours['p99_ms']:.1f} vs {theirs['p99_ms']:.1f} ms, server CPU "
        f"{ours['server_cpu_ms'] + ours['db_cpu_ms']:.2f} vs {theirs['server_cpu_ms']:.2f} ms/req"
    )


def _peaks(
    results: dict[str, dict[str, dict[int, dict[str, float]]]],
    rates: dict[str, dict[str, dict[int, list[float]]]],
    kind: str,
) -> str:
    """Each server's throughput (its highest median rate over the client counts), compared;
    the interval is that of the median of the rounds' ratios at those two counts, round i of
    one server over round i of the other."""
    at = {
        name: max(results[name][kind], key=lambda count: results[name][kind][count]["rps"])
        for name in ("coterie", "scim2-server")
    }
    ours, theirs = (results[n][kind][at[n]]["rps"] for n in ("coterie", "scim2-server"))
    interval = _common.median_interval(_ratios(rates, kind, at["coterie"], at["scim2-server"]))
    return (
        f"throughput (the highest rate of each): x{ours / theirs:.2f}"
        + _interval_text(interval, "95% interval")
        + f"; {ours:.0f} req/s at {at['coterie']} clients vs {theirs:.0f} at {at['scim2-server']}"
    )


def list_users(port: int, prefix: str, token: str, count: int) -> list[tuple[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    found: list[tuple[str, str]] = []
    start_index = 1
    while len(found) < count:
        path = f"{prefix}/Users?count=200&startIndex={start_index}&attributes=userName"
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        body = json.loads(conn.getresponse().read())
        page = [(r["id"], r["userName"]) for r in body.get("Resources", [])]
        if not page:
            break
        found += page
        start_index += len(page)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument(
        "--clients",
        type=_counts,
        default=[4],
        help="client processes, or several counts comma-separated",
    )
    parser.add_argument("--figures", default="get,filter,post", help="which, comma-separated")
    parser.add_argument("--workers", type=int, default=1, help="Coterie's server processes")
    parser.add_argument(
        "--rounds", type=int, default=1, help="figures taken from each server in turn, per kind"
    )
    args = parser.parse_args()
    kinds = [k for k in ("get", "filter", "post") if k in args.figures.split(",")]
    counts: list[int] = args.clients

    url = database_url(args.db)
    print(f"Seeding {args.users} users into Coterie ({args.db})...", flush=True)
    token = seed_coterie(url, args.users)
    floor = commit_floor(url)
    print(
        f"One row inserted and committed alone (what a create waits for at the least): p50"
        f" {floor['p50_ms']:.2f} ms, p99 {floor['p99_ms']:.2f} ms",
        flush=True,
    )
    root = str(Path(__file__).resolve().parent.parent)
    folder = tempfile.mkdtemp()
    env = {**os.environ, "COTERIE_DATABASE_URL": url, "COTERIE_DATA_DIR": folder}
    env["COTERIE_ENVIRONMENT"] = "production"
    env.setdefault("COTERIE_SECRET_KEY", secrets.token_urlsafe(32))
    uvicorn = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--host", "127.0.0.1"]
    answer = http_floor(uvicorn, folder, env)
    print(
        f"A fixed answer under the same uvicorn, one client (what a create costs at the least"
        f" before its own work): p50 {answer['p50_ms']:.2f} ms, p99 {answer['p99_ms']:.2f} ms,"
        f" server CPU {answer['server_cpu_ms']:.2f} ms/req",
        flush=True,
    )
    coterie_port, ref_port = free_port(), free_port()
    workers = ["--workers", str(args.workers), "--http", "coterie.cli.served:Protocol", "--factory"]
    app_file = Path(folder) / "scim_reference.py"
    app_file.write_text(SCIM_SERVER_APP)
    servers = [
        start(
            [*uvicorn, "--port", str(coterie_port), *workers, "coterie.cli.served:create_app"],
            env,
            coterie_port,
            root,
        ),
        start(
            [*uvicorn, "--port", str(ref_port), "--app-dir", folder, "scim_reference:app"],
            env,
            ref_port,
            root,
        ),
    ]
    try:
        print(f"Seeding {args.users} users into scim2-server (memory)...", flush=True)
        ref_conn = http.client.HTTPConnection("127.0.0.1", ref_port, timeout=30)
        for n in range(args.users):
            body = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"user{n:07d}",
                "emails": [{"value": f"user{n:07d}@example.com"}],
            }
            _request(ref_conn, "POST", "/v2/Users", body, token)
        targets = {
            "coterie": (coterie_port, "/scim/v2", token, servers[0].pid, url),
            "scim2-server": (ref_port, "/v2", token, servers[1].pid, None),
        }
        people = {name: list_users(t[0], t[1], t[2], args.users) for name, t in targets.items()}
        known = {
            name: ([p[0] for p in found], [p[1] for p in found]) for name, found in people.items()
        }
        # server -> kind -> client count -> figures (the medians of the rounds')
        results: dict[str, dict[str, dict[int, dict[str, float]]]] = {n: {} for n in targets}
        rates: dict[str, dict[str, dict[int, list[float]]]] = {n: {} for n in targets}
        # Each figure is taken from both servers back to back, `--rounds` times in turn, so
        # that a change in the machine's load between figures touches both.
        for kind in kinds:
            for clients in counts:
                rounds: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
                for _ in range(args.rounds):
                    for name, target in targets.items():
                        ids, names = known[name]
                        figures = load(kind, target, ids, names, args.duration, clients)
                        rounds[name].append(figures)
                        print(f"  {name:13} {kind:6} {clients:3} {_line(figures)}", flush=True)
                for name in targets:
                    results[name].setdefault(kind, {})[clients] = {
                        key: statistics.median(r[key] for r in rounds[name])
                        for key in rounds[name][0]
                    }
                    rates[name].setdefault(kind, {})[clients] = [r["rps"] for r in rounds[name]]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    clients_text = ",".join(map(str, counts))
    print(f"\nCoterie / scim2-server ({args.db}, {args.users} users, {clients_text} clients):")
    ratios = {kind: {c: _ratios(rates, kind, c, c) for c in counts} for kind in kinds}
    intervals = {
        kind: {c: _common.median_interval(r) for c, r in by_count.items()}
        for kind, by_count in ratios.items()
    }
    for kind in kinds:
        for clients in counts:
            print(f"  {kind:6} {_summary(results, kind, clients, ratios, intervals)}")
        if len(counts) > 1:
            print(f"  {kind:6} {_peaks(results, rates, kind)}")
    print(f"Load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    DATA.mkdir(exist_ok=True)
    out = DATA / f"scim-{args.db}.json"
    out.write_text(
        json.dumps(
            {
                "args": vars(args),
                "results": results,
                "ratios": ratios,
                "intervals": intervals,
                "rates": rates,
                "commit_floor": floor,
                "http_floor": answer,
            },
            indent=2,
        )
    )
    print(f"Wrote {out}")


if __name__ == "__main__":
    main()
