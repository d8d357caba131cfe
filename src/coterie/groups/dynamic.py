"""One person changed: bring their dynamic memberships up to date in the same transaction.

The workspace's dynamic rules are compiled once into Python predicates, indexed by the fields
they read and the groups they name, and kept per process until the workspace's `rules_version`
moves (or, for time-relative rules, for `TIME_RELATIVE_TTL`). A write then evaluates only the
rules that read a field it changed, in dependency order, so `member_of` chains settle in one pass.

Among those, a rule whose include starts with an equality (`city eq "London" and ...`) can only
select people with that value: such rules are also indexed by the value, and a write evaluates
them only for the person's own value, or when the person is a member already (they may leave).
With thousands of segments over a few fields, that is a handful of rules instead of thousands.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, load_only

from coterie import errors
from coterie.actor import Actor
from coterie.db import Prepared, utcnow
from coterie.directory.models import User
from coterie.groups import graph
from coterie.groups.catalog import GroupRule, people_catalog, record, row_record
from coterie.groups.models import Group, Membership
from coterie.groups.moves import move_person
from coterie.rules import MEMBER_OF, FieldCatalog, FieldSpec, FieldType, Rule
from coterie.rules.membership import is_member_of
from coterie.rules.predicates import OneOf, Predicate, predicate
from coterie.rules.python import read
from coterie.rules.tree import AllOf, Condition
from coterie.workspaces.models import Workspace

TIME_RELATIVE_TTL = 60.0  # seconds a compiled within_last rule keeps its "now"


@dataclass(frozen=True)
class _Compiled:
    group_id: int
    rank: int
    selects: Callable[[Mapping[str, Any]], bool]


# Types whose equality test is `value in values` on a hashable str (`rules.python._holds`).
_GUARDED = frozenset(
    {FieldType.TEXT, FieldType.URL, FieldType.ENUM, FieldType.PHONE, FieldType.EMAIL}
)


@dataclass(frozen=True)
class _Guard:
    """`field eq/in values` at the top of an include rule: everyone it selects has one of them."""

    spec: FieldSpec
    fold_case: bool
    values: tuple[str, ...]


@dataclass
class _Index:
    """Guarded rules by the value their guard wants (lower-cased where the test folds case)."""

    spec: FieldSpec
    fold_case: bool
    rules: dict[str, list[_Compiled]] = field(default_factory=dict)

    def matching(self, person: Mapping[str, Any]) -> list[_Compiled]:
        value = read(self.spec, person)  # as the rule reads it: None when unset
        if value is None:
            return []
        return self.rules.get(value.lower() if self.fold_case else value, [])


@dataclass
class _Readers:
    """The rules to evaluate when some field changes: unguarded ones always, guarded ones for the
    person's own value, and those of the groups the person is in."""

    open: list[_Compiled] = field(default_factory=list)
    indexes: dict[str, _Index] = field(default_factory=dict)
    guarded: dict[int, _Compiled] = field(default_factory=dict)

    def add(self, compiled: _Compiled, guard: _Guard | None) -> None:
        if guard is None:
            self.open.append(compiled)
            return
        name = guard.spec.name
        index = self.indexes.setdefault(name, _Index(guard.spec, guard.fold_case))
        for value in guard.values:
            index.rules.setdefault(value, []).append(compiled)
        self.guarded[compiled.group_id] = compiled

    def candidates(self, person: Mapping[str, Any], current: set[int]) -> Iterator[_Compiled]:
        yield from self.open
        for index in self.indexes.values():
            yield from index.matching(person)
        for group_id in current:
            compiled = self.guarded.get(group_id)
            if compiled is not None:
                yield compiled


@dataclass
class _Rules:
    version: int
    expires: float
    by_field: dict[str, _Readers] = field(default_factory=dict)
    by_group: dict[int, list[_Compiled]] = field(default_factory=dict)
    every: _Readers = field(default_factory=_Readers)


_cache: dict[int, _Rules] = {}
_lock = threading.Lock()


def _guards(include: Rule, reduce: Callable[[Condition], Predicate]) -> list[_Guard]:
    """The equality tests an include rule requires of everyone it selects: its top conditions
    (the whole rule was checked already, by compiling its predicate)."""
    tops = include.all if isinstance(include, AllOf) else (include,)
    found: list[_Guard] = []
    for top in tops:
        if not isinstance(top, Condition) or is_member_of(top):
            continue
        reduced = reduce(top)
        test, spec = reduced.test, reduced.spec
        if reduced.negated or not isinstance(test, OneOf) or spec.type not in _GUARDED:
            continue
        if all(isinstance(value, str) for value in test.values):
            found.append(_Guard(spec, test.fold_case, tuple(map(str, test.values))))
    return found


def _reducer(catalog: FieldCatalog, now: datetime) -> Callable[[Condition], Predicate]:
    """`predicates.predicate` remembered per condition: thousands of segments share a few."""
    known: dict[Condition, Predicate] = {}

    def reduce(condition: Condition) -> Predicate:
        try:
            return known[condition]
        except KeyError:
            pass
        except TypeError:  # a list value: not hashable, not worth remembering
            return predicate(condition, catalog, now=now, at="include")
        found = known[condition] = predicate(condition, catalog, now=now, at="include")
        return found

    return reduce


def _compile(session: Session, workspace_id: int, version: int) -> _Rules:
    catalog = people_catalog(session, workspace_id=workspace_id)
    now = utcnow()
    stmt = select(Group).where(
        Group.workspace_id == workspace_id,
        Group.selection == "rule",
        Group.behaviour == "dynamic",
    )
    used = load_only(
        *(Group.name, Group.include_rule, Group.exclude_rule, Group.excluded_user_ids),
        *(Group.fields_read, Group.references, Group.time_relative),
    )
    groups = session.scalars(stmt.options(used)).all()
    nodes = {g.id: graph.Node(g.id, g.name, True, tuple(g.references or ())) for g in groups}
    rank = graph.ranks(nodes)
    relative = any(g.time_relative for g in groups)
    rules = _Rules(version, time.monotonic() + TIME_RELATIVE_TTL if relative else float("inf"))
    compiled: list[tuple[Group, _Compiled, list[_Guard]]] = []
    reduce = _reducer(catalog, now)
    for group in groups:
        try:
            rule = GroupRule.of(group)
            selects = rule.predicate(catalog, now=now)
            guards = _guards(rule.include, reduce)
        except errors.Invalid:
            continue  # a field it reads was deleted; the group shows the error when evaluated
        compiled.append((group, _Compiled(group.id, rank[group.id], selects), guards))
    # Each rule is indexed by its most telling guard: the field with the most distinct values.
    distinct: dict[str, set[str]] = {}
    for _, _, guards in compiled:
        for guard in guards:
            distinct.setdefault(guard.spec.name, set()).update(guard.values)
    for group, one, guards in compiled:
        best = max(guards, key=lambda g: len(distinct[g.spec.name]), default=None)
        rules.every.add(one, best)
        for name in group.fields_read:
            if name != MEMBER_OF:
                rules.by_field.setdefault(name, _Readers()).add(one, best)
        for target in group.references:
            rules.by_group.setdefault(target, []).append(one)
        if group.excluded_user_ids:
            rules.by_field.setdefault("id", _Readers()).add(one, best)
    return rules


# The workspace's rules version and the person's groups, in one round trip (every write to a
# person runs it: a prebuilt statement on the driver's connection).
_STATE = Prepared(
    select(Workspace.rules_version, Membership.group_id)
    .select_from(Workspace)
    .outerjoin(
        Membership,
        (Membership.workspace_id == Workspace.id) & (Membership.user_id == bindparam("user")),
    )
    .where(Workspace.id == bindparam("ws"))
)


def _state(session: Session, workspace_id: int, user_id: int) -> tuple[int, set[int]]:
    """The workspace's rules version and the person's groups."""
    rows = _STATE.rows(session, {"ws": workspace_id, "user": user_id})
    version = rows[0][0] if rows else 0
    return version, {group_id for _, group_id in rows if group_id is not None}


def _rules(session: Session, workspace_id: int, version: int) -> _Rules:
    with _lock:
        rules = _cache.get(workspace_id)
    if rules is None or rules.version != version or rules.expires < time.monotonic():
        rules = _compile(session, workspace_id, version)
        with _lock:
            _cache[workspace_id] = rules
    return rules


def changed_fields(values: Mapping[str, Any]) -> set[str]:
    """The rule field names a write of `values` (UserUpdate-shaped) may change."""
    names = {name for name in values if name != "attributes"}
    names.update(f"attributes.{key}" for key in values.get("attributes") or {})
    names.add("updated_at")
    return names


def person_changed(
    session: Session,
    *,
    actor: Actor,
    user: User,
    fields: Iterable[str] | None,
    groups: Iterable[int] = (),
    created: int | None = None,
) -> tuple[list[int], list[int]]:
    """Re-evaluate one person against the dynamic rules reading `fields` (None: every rule)
    or naming `groups`; returns the ids of the groups they joined and left. `created`: the
    person was just created, and their insert read this rules version; they are in no group
    yet, so nothing is read."""
    if created is None:
        version, current = _state(session, user.workspace_id, user.id)
    else:
        version, current = created, set()
    person = partial(record, user, current)
    joined, left = _evaluated(session, user.workspace_id, person, version, current, fields, groups)
    move_person(session, actor=actor, user=user, joined=joined, left=left)
    return joined, left


def joins_when_created(session: Session, *, person: Mapping[str, Any], version: int) -> list[int]:
    """The dynamic groups a person about to be created (their row: in none yet) joins by the
    rules of `version`; nothing is written."""
    record_of = partial(row_record, person, set())
    return _evaluated(session, person["workspace_id"], record_of, version, set(), None, ())[0]


def _evaluated(
    session: Session,
    workspace_id: int,
    person_record: Callable[[], dict[str, Any]],
    version: int,
    current: set[int],
    fields: Iterable[str] | None,
    groups: Iterable[int],
) -> tuple[list[int], list[int]]:
    """The groups a person in `current` joins and leaves by the rules of `version` that read
    `fields` (None: every rule) or name `groups`; the person as the rules read them is asked of
    `person_record` only when a rule is to be evaluated."""
    rules = _rules(session, workspace_id, version)
    if fields is None:
        readers = [rules.every]
    else:
        readers = [rules.by_field[name] for name in fields if name in rules.by_field]
    named = [c for g in groups for c in rules.by_group.get(g, ())]
    if not named and not any(r.open or r.guarded for r in readers):
        return [], []
    person = person_record()
    queue = named + [c for r in readers for c in r.candidates(person, current)]
    heap = [(c.rank, c.group_id, c) for c in queue]
    heapq.heapify(heap)
    seen: set[int] = set()
    joined: list[int] = []
    left: list[int] = []
    while heap:
        _, group_id, compiled = heapq.heappop(heap)
        if group_id in seen:
            continue
        seen.add(group_id)
        wanted = compiled.selects(person)
        if wanted == (group_id in current):
            continue
        (joined if wanted else left).append(group_id)
        if wanted:
            current.add(group_id)
        else:
            current.discard(group_id)
        for reader in rules.by_group.get(group_id, ()):
            heapq.heappush(heap, (reader.rank, reader.group_id, reader))
    return joined, left
