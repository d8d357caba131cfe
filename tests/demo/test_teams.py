"""The demo workspace's team: hierarchy, billing fields, resources and the access they give."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import demo
from coterie.access import grants
from coterie.access.models import Resource
from coterie.groups import hierarchy
from coterie.groups.models import Group, Membership


def test_demo_team_hierarchy_gives_bots_and_personas(session: Session) -> None:
    seeded = demo.seed_workspace(session, slug="teams-demo", people=40)
    ws = seeded.workspace.id
    found = {g.name: g for g in session.scalars(select(Group).where(Group.workspace_id == ws))}
    night, support = found["Night Shift"], found["Support Org"]
    assert [g.name for g in hierarchy.chain(session, workspace_id=ws, group_id=night.id)] == [
        "Night Shift",
        "Tier 1",
        "Support Org",
    ]
    assert support.billing_plan == "Team"
    assert support.subtree_member_count > 0
    kinds = set(session.scalars(select(Resource.kind).where(Resource.workspace_id == ws)))
    assert kinds == {"bot", "persona"}
    member = session.scalar(
        select(Membership.user_id).where(
            Membership.workspace_id == ws, Membership.group_id == night.id
        )
    )
    assert member is not None
    given = {
        g.resource.name: grants.via(g.path)
        for g in grants.of_user(session, workspace_id=ws, user_id=member)
    }
    assert given["Coach"] == "Night Shift"
    assert given["Greeter"] == "Night Shift ← Tier 1 ← Support Org"
