"""Rows normalized by worker processes come back as the importing process would make them."""

from __future__ import annotations

import pytest

from coterie.directory.models import Field
from coterie.settings import get_settings
from coterie.transfer import workers
from coterie.transfer.mapping import NewField
from coterie.transfer.readers import Row

HEADERS = ["Name", "Phone", "Email", "Plan", "Joined", "Notes"]
MAPPING: dict[str, str | None] = {
    "Name": "full_name",
    "Phone": "phone",
    "Email": "email",
    "Plan": "attributes.plan",
    "Joined": "attributes.joined",
    "Notes": None,
}
FIELDS = [Field(key="plan", label="Plan", type="enum", options=["Free", "Pro"])]
NEW = [NewField(key="joined", label="Joined", type="date")]


def rows(count: int) -> list[Row]:
    made = []
    for n in range(1, count + 1):
        cells = (
            f"Person {n}" if n % 7 else None,
            ["+44 7911 123456", "07911 123457", "(415) 555-0100", "12", None][n % 5],
            [f"P{n}@Example.com", "not an email", None][n % 3],
            ["pro", "Free", "Gold", None][n % 4],
            ["2024-01-31", "31/01/2024", "yesterday"][n % 3],
            "ignored",
        )
        made.append(Row(n, cells, None))
    return made


def test_workers_give_the_in_process_results_in_file_order() -> None:
    plan = workers.Plan.of(MAPPING, HEADERS, FIELDS, NEW, region="GB")
    data = rows(1_050)
    alone = list(workers.normalized_batches(data, plan, size=100, workers=0))
    pooled = list(workers.normalized_batches(data, plan, size=100, workers=2))
    assert [len(batch) for batch, _ in pooled] == [100] * 10 + [50]
    assert [[row.number for row in batch] for batch, _ in pooled] == [
        [row.number for row in batch] for batch, _ in alone
    ]
    assert [result for _, results in pooled for result in results] == [
        result for _, results in alone for result in results
    ]
    errors = [result.errors for _, results in pooled for result in results]
    assert any(errors)  # the sample holds bad cells, so the comparison covers errors too
    assert any(not e for e in errors)


def test_small_imports_stay_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COTERIE_IMPORT_PARALLEL_FROM", "1000")
    monkeypatch.setenv("COTERIE_IMPORT_WORKERS", "3")
    get_settings.cache_clear()
    try:
        assert workers.worker_count(999) == 0
        assert workers.worker_count(1000) == 3
        assert workers.worker_count(None) == 3
    finally:
        get_settings.cache_clear()
