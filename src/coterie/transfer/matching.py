"""Who each row of a file is: a new person, someone already in the directory, a repeat of an
earlier row, or a row that cannot be placed, found by normalized identifiers (DESIGN.md section 2).

Memory stays flat whatever the file size: repeats inside a batch are found in the batch, repeats of
rows already imported by the same job are people that job already touched (asked of the database
through `touched`), and a dry run, which writes nothing, remembers 64-bit hashes of identifiers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from coterie.directory.models import IDENTIFIERS, User
from coterie.transfer.normalize import Normalized

Kind = Literal["new", "existing", "duplicate", "rejected"]
Touched = Callable[[Iterable[int]], set[int]]


@dataclass(frozen=True)
class Match:
    kind: Kind
    user: User | None = None  # existing, or a duplicate of a person already imported
    earlier: int | None = None  # duplicate of a row of the same batch: that row's index
    reason: str | None = None  # rejected: why


def _hash(kind: str, value: str) -> int:
    digest = hashlib.blake2b(f"{kind}\x00{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class Matcher:
    def __init__(
        self,
        session: Session,
        *,
        workspace_id: int,
        touched: Touched | None = None,
        remember_hashes: bool = False,
    ) -> None:
        self._session = session
        self._workspace_id = workspace_id
        self._touched = touched
        self._hashes: set[int] | None = set() if remember_hashes else None

    def match(self, rows: Sequence[Normalized]) -> list[Match]:
        """One match per row, in order; rows with errors are `rejected` with their first error."""
        existing = self._existing(rows)
        touched = self._touched({u.id for u in existing.values()}) if self._touched else set()
        in_batch: dict[tuple[str, str], int] = {}
        matches: list[Match] = []
        for index, normalized in enumerate(rows):
            if normalized.errors:
                header, message = normalized.errors[0]
                matches.append(Match("rejected", reason=f"{header}: {message}"))
                continue
            keys = list(normalized.identifiers.items())
            earlier = [in_batch[k] for k in keys if k in in_batch]
            found = {existing[k].id: existing[k] for k in keys if k in existing}
            if len(found) > 1:
                names = " and ".join(sorted(u.full_name for u in found.values()))
                reason = f"its contacts belong to different people ({names})"
                matches.append(Match("rejected", reason=reason))
                continue
            for key in keys:
                in_batch.setdefault(key, earlier[0] if earlier else index)
            user = next(iter(found.values()), None)
            if earlier:
                matches.append(Match("duplicate", earlier=min(earlier)))
            elif user is not None and user.id in touched:
                matches.append(Match("duplicate", user=user))
            elif self._seen_before(keys):
                matches.append(Match("duplicate"))
            elif user is not None:
                matches.append(Match("existing", user=user))
            else:
                matches.append(Match("new"))
        return matches

    def _seen_before(self, keys: list[tuple[str, str]]) -> bool:
        if self._hashes is None:
            return False
        hashes = [_hash(kind, value) for kind, value in keys]
        seen = any(h in self._hashes for h in hashes)
        self._hashes.update(hashes)
        return seen

    def _existing(self, rows: Sequence[Normalized]) -> dict[tuple[str, str], User]:
        wanted: dict[str, set[str]] = {kind: set() for kind in IDENTIFIERS}
        for normalized in rows:
            for kind, value in normalized.identifiers.items():
                wanted[kind].add(value)
        checks = [getattr(User, kind).in_(sorted(v)) for kind, v in wanted.items() if v]
        if not checks:
            return {}
        stmt = select(User).where(User.workspace_id == self._workspace_id, or_(*checks))
        found: dict[tuple[str, str], User] = {}
        for user in self._session.scalars(stmt):
            for kind in IDENTIFIERS:
                value = getattr(user, kind)
                if value is not None and value in wanted[kind]:
                    found[(kind, value)] = user
        return found
