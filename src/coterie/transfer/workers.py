"""Normalizing an import's rows in worker processes, so that a large file uses every core.

Reading phones, emails, dates and numbers costs more than everything else an import does per row
(`bench/imports.py`), and it is pure: each batch of rows is sent to a worker while the importing
process matches and writes the batches before it. Batches come back in file order, and only a
few are in flight, so memory stays flat whatever the file size. The workers are forked from a
fresh server process (`forkserver`), never from the importing process, whose threads (a web
server's, a job consumer's) and open connections a fork must not copy; they exit when the
importing process dies, even by SIGKILL, because their pipes close.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any

from coterie.directory.models import Field
from coterie.settings import get_settings
from coterie.transfer.mapping import Mapping, NewField
from coterie.transfer.normalize import Normalized, RowNormalizer
from coterie.transfer.readers import Cell, Row


@dataclass(frozen=True)
class Plan:
    """What a worker needs to build the import's `RowNormalizer` (picklable: no ORM objects)."""

    mapping: Mapping
    headers: tuple[str, ...]
    fields: tuple[tuple[str, str, str, tuple[str, ...]], ...]  # key, label, type, options
    new_fields: tuple[NewField, ...]
    region: str

    @classmethod
    def of(
        cls,
        mapping: Mapping,
        headers: Sequence[str],
        fields: Sequence[Field],
        new_fields: Sequence[NewField],
        *,
        region: str,
    ) -> Plan:
        return cls(
            dict(mapping),
            tuple(headers),
            tuple((f.key, f.label, f.type, tuple(f.options or ())) for f in fields),
            tuple(new_fields),
            region,
        )

    def normalizer(self) -> RowNormalizer:
        fields = [
            Field(key=key, label=label, type=kind, options=list(options))
            for key, label, kind, options in self.fields
        ]
        return RowNormalizer(
            self.mapping, self.headers, fields, self.new_fields, region=self.region
        )


_worker: RowNormalizer | None = None


def _start(plan: Plan, importer: int) -> None:
    global _worker
    _worker = plan.normalizer()
    threading.Thread(target=_exit_with, args=(importer,), daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _exit_with(importer: int) -> None:
    """Ends the worker when the importing process is gone (killed, even by SIGKILL): a worker
    waiting for work would wait forever, and keep the fork server alive too (every worker holds
    the pipe whose end tells the server its clients are gone)."""
    while _alive(importer):
        time.sleep(0.5)
    os._exit(1)


def _normalize(cells: list[tuple[Cell, ...]]) -> list[Normalized]:
    assert _worker is not None
    return [_worker(row) for row in cells]


def worker_count(rows_left: int | None) -> int:
    """How many worker processes an import of `rows_left` rows gets (0: none, work in-process).

    Below `COTERIE_IMPORT_PARALLEL_FROM` rows, starting the workers (a second or two) costs more
    than they save; `COTERIE_IMPORT_WORKERS` overrides the one-per-core default.
    """
    settings = get_settings()
    if rows_left is not None and rows_left < settings.import_parallel_from:
        return 0
    if settings.import_workers is not None:
        return settings.import_workers
    return os.cpu_count() or 1


def normalized_batches(
    rows: Iterable[Row], plan: Plan, *, size: int, workers: int, first: int | None = None
) -> Iterator[tuple[list[Row], list[Normalized]]]:
    """The rows in batches of `size` (the first one of `first`, so that writing starts as soon
    as a few rows are read), each with its rows normalized, in file order."""
    rows_iter = iter(rows)
    opening = list(islice(rows_iter, first or size))
    rest = iter(lambda: list(islice(rows_iter, size)), [])
    batches = chain([opening] if opening else [], rest)
    if workers < 1:
        normalize = plan.normalizer()
        for batch in batches:
            yield batch, [normalize(row.cells) for row in batch]
        return
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["coterie.transfer.normalize"])
    importer = os.getpid()
    with ProcessPoolExecutor(workers, context, _start, (plan, importer)) as pool:
        pending: deque[tuple[list[Row], Future[Any]]] = deque()
        try:
            for batch in batches:
                pending.append((batch, pool.submit(_normalize, [row.cells for row in batch])))
                if len(pending) >= max(2, workers):  # one normalized ahead of the writer
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
        finally:
            for _, future in pending:
                future.cancel()
