"""The demo's team: a small group hierarchy with members, and the bots and personas it gives."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import resources
from coterie.access.schemas import ResourceCreate
from coterie.actor import Actor
from coterie.groups import service as groups
from coterie.groups.schemas import GroupCreate

RESOURCES: tuple[tuple[str, str, list[str]], ...] = (
    ("bot", "Closer", ["voice", "scoring"]),
    ("bot", "Greeter", ["chat"]),
    ("bot", "Coach", ["scoring", "analytics"]),
    ("persona", "Skeptical CFO", []),
    ("persona", "Busy Parent", []),
    ("persona", "First-time Buyer", []),
)
# (name, parent, billing fields, members, resources given)
TEAMS: tuple[tuple[str, str | None, dict[str, Any], int, tuple[str, ...]], ...] = (
    ("Support Org", None, {"billing_plan": "Team", "billing_seats": 25,
                           "billing_email": "billing@support.example"}, 0, ("Greeter",)),
    ("Tier 1", "Support Org", {}, 8, ("Busy Parent",)),
    ("Night Shift", "Tier 1", {}, 3, ("Coach",)),
    ("Tier 2", "Support Org", {}, 5, ("Skeptical CFO",)),
    ("Sales Org", None, {"billing_plan": "Enterprise", "billing_seats": 60,
                         "billing_email": "finance@sales.example"}, 0, ("Closer",)),
    ("EMEA Sales", "Sales Org", {}, 6, ("First-time Buyer",)),
    ("Enterprise Team", "EMEA Sales", {}, 4, ("Coach", "Skeptical CFO")),
)  # fmt: skip


def seed_teams(session: Session, *, author: Actor, people: list[int]) -> int:
    """Make the demo's team groups, give them resources and members; returns how many groups."""
    rng = random.Random(len(people))
    made_resources = {
        name: resources.create(
            session, actor=author, data=ResourceCreate(kind=kind, name=name, features=features)
        ).id
        for kind, name, features in RESOURCES
    }
    made: dict[str, int] = {}
    for name, parent, billing, members, given in TEAMS:
        parent_id = ids.encode(made[parent]) if parent else None
        data = GroupCreate(name=name, parent_id=parent_id, description="Demo team", **billing)
        group = groups.create(session, actor=author, data=data)
        made[name] = group.id
        if members and people:
            chosen = rng.sample(people, min(members, len(people)))
            groups.add_members(session, actor=author, group_id=group.id, user_ids=chosen)
        resources.assign(
            session,
            actor=author,
            group_ids=[group.id],
            resource_ids=[made_resources[r] for r in given],
        )
    return len(made)
