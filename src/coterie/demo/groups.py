"""The demo's groups: manual ones with members, a static snapshot and dynamic ones."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.groups import service as groups
from coterie.groups.schemas import GroupCreate


def _cond(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def _picks(
    rng: random.Random,
    people: list[tuple[int, dict[str, Any]]],
    share: float,
    keep: Callable[[dict[str, Any]], bool],
) -> list[int]:
    """About `share` of the people that `keep` accepts (at least one when any qualify)."""
    fitting = [person_id for person_id, values in people if keep(values)]
    return rng.sample(fitting, max(min(len(fitting), 1), round(len(fitting) * share)))


def seed_groups(
    session: Session, *, author: Actor, people: list[tuple[int, dict[str, Any]]], form_id: int
) -> int:
    """Manual groups with members, a static snapshot and dynamic groups, made as an operator
    would (through the groups service, so rule groups are evaluated and counts kept)."""
    rng = random.Random(len(people))
    importer = replace(author, label="Import: event-signups.xlsx")
    made = 0

    def group(maker: Actor = author, **spec: Any) -> int:
        nonlocal made
        made += 1
        return groups.create(session, actor=maker, data=GroupCreate.model_validate(spec)).id

    def fill(
        group_id: int, members: list[int], maker: Actor = author, source: str = "manual"
    ) -> None:
        if members:
            groups.add_members(
                session, actor=maker, group_id=group_id, user_ids=members, source=source
            )

    ltv = sorted((v.get("lifetime_value", 0) for _, v in people), reverse=True)
    top = ltv[min(len(ltv) - 1, len(ltv) // 50)] if ltv else 0
    vip = group(
        name="VIP customers",
        tags=["vip", "sales"],
        form_ids=[ids.encode(form_id)],
        description="Key accounts the sales team looks after personally.",
    )
    fill(vip, _picks(rng, people, 0.9, lambda v: v.get("lifetime_value", 0) >= top))
    beta = group(
        name="Beta testers",
        tags=["product"],
        description="Early access to new features; asked for feedback monthly.",
    )
    fill(beta, _picks(rng, people, 0.15, lambda v: "Technology" in v.get("interests", ())))
    meetup = group(
        importer,
        name="Spring meetup attendees",
        tags=["events"],
        source="import",
        source_ref="event-signups.xlsx",
        status="inactive",
        description="Signed up at the spring meetup; imported from the sign-up sheet.",
    )
    fill(meetup, _picks(rng, people, 0.03, lambda v: True), importer, "import")
    rules: list[dict[str, Any]] = [
        {"name": "Newsletter launch list", "behaviour": "static", "tags": ["marketing"],
         "description": "Everyone subscribed when the newsletter launched (a snapshot).",
         "include": _cond("attributes.newsletter", "eq", True)},
        {"name": "Enterprise accounts", "tags": ["sales"],
         "include": _cond("attributes.plan", "eq", "Enterprise")},
        {"name": "WhatsApp first", "tags": ["support", "channels"],
         "description": "People who prefer WhatsApp; support answers them there.",
         "include": _cond("primary_channel", "eq", "whatsapp")},
        {"name": "Active this month", "tags": ["engagement"],
         "include": _cond("last_activity_at", "within_last", 30)},
        {"name": "Travel offers audience", "tags": ["marketing", "campaigns"],
         "description": "Travel lovers, minus anyone who turned the newsletter off.",
         "include": _cond("attributes.interests", "any", ["Travel"]),
         "exclude": _cond("attributes.newsletter", "eq", False)},
        {"name": "VIPs gone quiet", "tags": ["vip", "retention"],
         "description": "VIP customers with no activity for 60 days: call them.",
         "include": {"all": [_cond("member_of", "eq", ids.encode(vip)),
                             _cond("last_activity_at", "not_within_last", 60)]}},
    ]  # fmt: skip
    for spec in rules:
        group(selection="rule", **spec)
    return made
