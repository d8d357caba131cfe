"""The schema stays ready for Citus (DESIGN.md section 7): keys lead with `workspace_id`."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint

from coterie.migrations.metadata import target_metadata

# Tables looked up before the workspace is known: the tenant itself, and tokens by their hash
# (Citus keeps these as reference tables; see docs/scaling.md).
GLOBAL = {"workspaces": set(), "api_tokens": {"secret_hash"}}


def test_primary_and_unique_keys_lead_with_workspace_id() -> None:
    problems = []
    for table in target_metadata().sorted_tables:
        if table.name == "workspaces":
            continue
        if table.primary_key.columns.keys()[0] != "workspace_id":
            problems.append(f"{table.name}: primary key {table.primary_key.columns.keys()}")
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint):
                columns = constraint.columns.keys()
                if columns[0] != "workspace_id" and set(columns) - GLOBAL.get(table.name, set()):
                    problems.append(f"{table.name}: unique {columns}")
        for index in table.indexes:
            columns = [c.name for c in index.columns]
            if index.unique and columns[0] != "workspace_id":
                problems.append(f"{table.name}: unique index {columns}")
    assert problems == []
