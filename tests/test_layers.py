"""The layer order of DESIGN.md section 4, checked with import-linter's contract in pyproject."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_layers_are_kept() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(linter), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken" in result.stdout


def test_rules_and_shared_base_import_no_domain() -> None:
    """A stricter reading of the same rule: the bottom layers name no domain at all."""
    domains = ("directory", "groups", "access", "transfer", "engagement", "events", "workspaces")
    src = ROOT / "src" / "coterie"
    bottom = [*src.joinpath("rules").glob("*.py")] + [
        src / f"{name}.py"
        for name in ("settings", "db", "errors", "ids", "pagination", "actor", "inputs", "uploads")
    ]
    offenders = [
        f"{path.name}: {line.strip()}"
        for path in bottom
        for line in path.read_text().splitlines()
        if line.startswith(("from coterie.", "import coterie."))
        and any(f"coterie.{d}" in line for d in domains)
    ]
    assert offenders == []
