"""Who each row of a file is: a new person, someone already in the directory, a repeat of an
earlier row, or a row that cannot be placed, found by normalized identifiers (DESIGN.md section 2).

Memory stays flat whatever the file size: repeats inside a batch are found in the batch, repeats of
rows already imported by the same job are people that job already touched (asked of the database
through `touched`), and a dry run, which writes nothing, remembers 64-bit hashes of identifiers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Integer,
    Row,
    Table,
    Text,
    any_,
    bindparam,
    func,
    select,
)
from sqlalchemy.orm import Session

from coterie.directory.models import IDENTIFIERS, User
from coterie.transfer.normalize import Normalized

Kind = Literal["new", "existing", "duplicate", "rejected"]
Touched = Callable[[Iterable[int]], set[int]]
# A matched person as a Core row of their id, name and identifiers: an import matches up to
# half a million people, and loading them whole (as ORM objects, then as rows with their custom
# fields) cost more than the rest of the match. The merge itself happens in SQL (`upserts`).
Person = Row[Any]
_USERS = cast(Table, User.__table__)
_MATCHED = (_USERS.c.id, _USERS.c.full_name, *(_USERS.c[kind] for kind in IDENTIFIERS))


@dataclass(frozen=True)
class Match:
    kind: Kind
    user: Person | None = None  # existing, or a duplicate of a person already imported
    earlier: int | None = None  # duplicate of a row of the same batch: that row's index
    reason: str | None = None  # rejected: why
    previous: int | None = None  # duplicate of a row of the batch before: its person's id


def among(
    session: Session, column: ColumnElement[Any], values: Sequence[Any]
) -> tuple[ColumnElement[bool], dict[str, Any]]:
    """`column IN values` with the values as one parameter (`values`), however many they are:
    an array on PostgreSQL, a JSON array on SQLite (whose statements take at most 32,766)."""
    if session.get_bind().dialect.name == "postgresql":
        kind = BigInteger if isinstance(column.type, BigInteger | Integer) else Text
        return column == any_(bindparam("values", type_=ARRAY(kind))), {"values": list(values)}
    each = func.json_each(bindparam("values")).table_valued("value")
    return column.in_(select(each.c.value)), {"values": json.dumps(list(values))}


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
        # The batches before, which may not be committed yet (`remember`, `settle`), merged:
        # identifier -> person; and the last of them alone.
        self._previous: dict[tuple[str, str], int] = {}
        self._previous_people: set[int] = set()
        self._last: tuple[dict[tuple[str, str], int], set[int]] = ({}, set())

    def remember(self, rows: Sequence[Normalized], people: Sequence[int | None]) -> None:
        """Keep a batch's identifiers and people (each row's person, None for a refused row)
        until `settle`: the batches matched after it treat them as rows of their own. The
        runner matches a batch while the one before is being written, and a transaction may
        take several batches."""
        batch: dict[tuple[str, str], int] = {}
        for normalized, person in zip(rows, people, strict=True):
            if person is not None:
                for key in normalized.identifiers.items():
                    batch.setdefault(key, person)
        self._last = (batch, {person for person in people if person is not None})
        for key, person in batch.items():
            self._previous.setdefault(key, person)
        self._previous_people |= self._last[1]

    def settle(self) -> None:
        """The batches remembered before the last one are committed (a match reads them from
        the database now): forget them."""
        self._previous, self._previous_people = dict(self._last[0]), set(self._last[1])

    def match(self, rows: Sequence[Normalized]) -> list[Match]:
        """One match per row, in order; rows with errors are `rejected` with their first error."""
        existing = self._existing(rows)
        touched = self._touched({u.id for u in existing.values()}) if self._touched else set()
        in_batch: dict[tuple[str, str], int] = {}
        people_in_batch: dict[int, int] = {}  # person matched by an earlier row: that row
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
            user = next(iter(found.values()), None)
            if user is not None and not earlier and user.id in people_in_batch:
                earlier = [people_in_batch[user.id]]  # another of the person's identifiers
            for key in keys:
                in_batch.setdefault(key, earlier[0] if earlier else index)
            if user is not None:
                people_in_batch.setdefault(user.id, earlier[0] if earlier else index)
            previous = next((self._previous[k] for k in keys if k in self._previous), None)
            if previous is None and user is not None and user.id in self._previous_people:
                previous = user.id
            if earlier:
                matches.append(Match("duplicate", earlier=min(earlier)))
            elif previous is not None:
                matches.append(Match("duplicate", previous=previous))
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

    def _existing(self, rows: Sequence[Normalized]) -> dict[tuple[str, str], Person]:
        wanted: dict[str, set[str]] = {kind: set() for kind in IDENTIFIERS}
        for normalized in rows:
            for kind, value in normalized.identifiers.items():
                wanted[kind].add(value)
        found: dict[tuple[str, str], Person] = {}
        # One query per kind of identifier: each one a walk of its unique index, where a single
        # query with OR made SQLite take 0.3 s a batch. A value that is already a found person's
        # (identifiers are unique in a workspace) is not asked again: a matched row's email and
        # phone usually belong to the same person, read once instead of once per kind.
        for kind, wanted_values in wanted.items():
            values = [value for value in wanted_values if (kind, value) not in found]
            if not values:
                continue
            clause, given = among(self._session, _USERS.c[kind], sorted(values))
            stmt = select(*_MATCHED).where(_USERS.c.workspace_id == self._workspace_id, clause)
            for user in self._session.execute(stmt, given):
                # By position: the identifiers follow id and name in `_MATCHED`.
                for each, value in zip(IDENTIFIERS, user[2:], strict=True):
                    if value is not None and value in wanted[each]:
                        found[(each, value)] = user
        return found
