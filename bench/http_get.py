"""`GET /api/v1/users/{id}` over HTTP on loopback: throughput and latency under load.

    .venv/bin/python bench/http_get.py --db postgresql [--workers 1 2] [--duration 20]
    .venv/bin/python bench/http_get.py --db postgresql --profile     # py-spy on one worker

Starts the app as `coterie serve` does (uvicorn, `coterie.app:create_app` factory) on a free
127.0.0.1 port against the bench database, makes a read-only API token, and drives it with wrk
(`apt-get install wrk`) over 5,000 random user ids for a bounded time. Client and server share
the machine's cores, so the figure is a floor for a dedicated server.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

TARGET_RPS = 1500.0
TARGET_P99_MS = 50.0
SAMPLE = 5000


_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    """CPU seconds of a live process and all its live descendants (uvicorn and its workers)."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0.0))[1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == pid)
    return total


def postgres_cpu(backend: str) -> float:
    """CPU seconds of the PostgreSQL backends serving the bench database (0 on SQLite).

    A lower bound: backends that the connection pool closes and opens during the run (it keeps 5
    and discards its overflow) are not counted.
    """
    if backend != "postgresql":
        return 0.0
    import psycopg

    with psycopg.connect(_common.psycopg_url(backend), autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            )
        ]
    return sum(tree_cpu(pid) for pid in pids)


def steal_percent(seconds: float = 1.0) -> float:
    """The share of CPU time the hypervisor gave to other machines, sampled over `seconds`."""

    def sample() -> list[int]:
        with open("/proc/stat") as stat:
            return [int(v) for v in stat.readline().split()[1:]]

    before = sample()
    time.sleep(seconds)
    after = sample()
    delta = [b - a for a, b in zip(before, after, strict=False)]
    return 100.0 * delta[7] / max(1, sum(delta))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(backend: str) -> tuple[str, list[str]]:
    """A new read-only token's secret and the paths of SAMPLE random people."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from coterie import actor as actors
    from coterie import db, ids
    from coterie.access import tokens
    from coterie.actor import Role
    from coterie.directory.models import User

    engine = db.make_engine(_common.database_url(backend))
    with Session(engine) as session, session.begin():
        workspace = _common.bench_workspace(session)
        admin = actors.system(workspace.id, label="bench")
        _, secret = tokens.create(
            session, actor=admin, name=f"bench-{secrets.token_hex(3)}", role=Role.READ_ONLY
        )
        chosen = session.scalars(
            select(User.id)
            .where(User.workspace_id == workspace.id)
            .order_by(func.random())
            .limit(SAMPLE)
        ).all()
    engine.dispose()
    return secret, [f"/api/v1/users/{ids.encode(i)}" for i in chosen]


def wrk_script(secret: str, paths: list[str], directory: Path) -> Path:
    script = directory / "get_users.lua"
    listed = ",\n".join(f'  "{p}"' for p in paths)
    script.write_text(
        f'wrk.headers["Authorization"] = "Bearer {secret}"\n'
        f"local paths = {{\n{listed}\n}}\n"
        "local n = #paths\n"
        "request = function()\n"
        "  return wrk.format(nil, paths[math.random(1, n)])\n"
        "end\n"
    )
    return script


class Server:
    """`uvicorn --factory coterie.app:create_app` in a subprocess; stopped on exit."""

    def __init__(self, backend: str, workers: int) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "COTERIE_DATABASE_URL": _common.database_url(backend),
            "PYTHONPATH": str(_common.SRC),
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "coterie.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(command, env=env, cwd=_common.ROOT)

    def wait_ready(self, path: str, secret: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={"Authorization": f"Bearer {secret}"}
        )
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("the server exited while starting")
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("the server did not answer in time")

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_: object) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(
    port: int, script: Path, seconds: int, connections: int, threads: int
) -> dict[str, Any]:
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "5s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    found: dict[str, Any] = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "90", "99"):
        found[f"p{pct}_ms"] = _ms(re.search(rf"\s{pct}%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    found["requests"] = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    found["non_2xx"] = int(errors.group(1)) if errors else 0
    found["socket_errors"] = socket_errors.group(1) if socket_errors else ""
    return found


_WAITING = (
    "Condition.wait",
    "EpollSelector.select",
    "_PollLikeSelector.select",
    "select ",
    "Connection.wait (psycopg",  # waiting for the database
)


def profile(server: Server, port: int, script: Path, seconds: int, connections: int) -> None:
    """py-spy on the (single-process) server while wrk loads it; prints the top costs."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    raw = Path(tempfile.mkdtemp()) / "profile.txt"
    recorder = subprocess.Popen(
        [
            spy,
            "record",
            "--format",
            "raw",
            "--rate",
            "100",
            "--nonblocking",
            "-d",
            str(seconds),
            "-o",
            str(raw),
            "-p",
            str(server.process.pid),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    result = run_wrk(port, script, seconds - 2, connections, 1)
    recorder.wait(timeout=seconds + 30)
    print(f"  under py-spy: {result['rps']:,.0f} req/s (sampling slows the server)")
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f for f in stack.split(";") if f]
        if not frames or frames[-1].startswith(_WAITING):
            continue  # an idle worker thread or the event loop waiting for work
        n = int(count)
        total += n
        names = [re.sub(r" \((.*?)(/site-packages/|/src/)", r" (", f) for f in frames]
        for name in set(names):
            inclusive[name] += n
        leaf[names[-1]] += n
    print(f"  {total} busy samples (all threads); top by inclusive time:")
    for name, n in inclusive.most_common(40):
        print(f"    {100 * n / total:5.1f}%  {name[:120]}")
    print("  top by self time:")
    for name, n in leaf.most_common(15):
        print(f"    {100 * n / total:5.1f}%  {name[:120]}")


def run(
    backend: str, workers_list: list[int], seconds: int, connections: int, do_profile: bool = False
) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    secret, paths = prepare(backend)
    results: dict[str, Any] = {
        "duration_s": seconds,
        "connections": connections,
        "ids": len(paths),
        "steal_percent_before": steal_percent(),
        "loadavg_before": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory() as tmp:
        script = wrk_script(secret, paths, Path(tmp))
        print(
            f"http_get on {backend}: GET /api/v1/users/{{id}} over {len(paths):,} random ids, "
            f"wrk -t1 -c{connections}, {seconds} s per run",
            flush=True,
        )
        for workers in workers_list:
            with Server(backend, workers) as server:
                server.wait_ready(paths[0], secret)
                if do_profile:
                    profile(server, server.port, script, seconds, connections)
                    continue
                run_wrk(server.port, script, 3, connections, 1)  # warm every worker
                app_cpu, db_cpu = tree_cpu(server.process.pid), postgres_cpu(backend)
                found = run_wrk(server.port, script, seconds, connections, 1)
                app_cpu = tree_cpu(server.process.pid) - app_cpu
                db_cpu = postgres_cpu(backend) - db_cpu
            found["app_cpu_ms_per_request"] = 1000 * app_cpu / found["requests"]
            found["db_cpu_ms_per_request"] = 1000 * db_cpu / found["requests"]
            found["met"] = (
                found["rps"] >= TARGET_RPS
                and found["p99_ms"] < TARGET_P99_MS
                and found["non_2xx"] == 0
            )
            results[f"workers_{workers}"] = found
            _common.line(
                f"--workers {workers}",
                f"{found['rps']:8,.0f} req/s   p50 {found['p50_ms']:6.1f} ms   p90 "
                f"{found['p90_ms']:6.1f} ms   p99 {found['p99_ms']:6.1f} ms   non-2xx "
                f"{found['non_2xx']}   target {'met' if found['met'] else 'MISSED'}",
            )
            _common.line(
                "",
                f"server CPU per request: app {found['app_cpu_ms_per_request']:.2f} ms, "
                f"database (live backends only) {found['db_cpu_ms_per_request']:.2f} ms",
            )
    if not do_profile:
        _common.record(backend, "http_get", results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--profile", action="store_true", help="py-spy one worker under load")
    args = parser.parse_args()
    workers = [1] if args.profile else args.workers
    run(args.db, workers, args.duration, args.connections, args.profile)


if __name__ == "__main__":
    main()
