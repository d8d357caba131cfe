"""Realistic demo data: people from several cultures, and a seeded demo workspace.

`generate_people` is cheap (no per-row validation, about 20 µs of CPU a person) so benchmarks can
make a million people with it; `seed_workspace` checks each one with the directory's normalizers
and inserts them in bulk, then makes groups through the groups service.
"""

from coterie.demo.people import (
    ADMIN_EMAIL,
    DEFAULT_PASSWORD,
    FIELDS,
    INTERESTS,
    OPERATOR_EMAIL,
    PLANS,
    as_row,
    generate_people,
)
from coterie.demo.workspace import DemoLogin, SeedResult, demo_login, seed_workspace

__all__ = [
    "ADMIN_EMAIL",
    "DEFAULT_PASSWORD",
    "FIELDS",
    "INTERESTS",
    "OPERATOR_EMAIL",
    "PLANS",
    "DemoLogin",
    "SeedResult",
    "as_row",
    "demo_login",
    "generate_people",
    "seed_workspace",
]
