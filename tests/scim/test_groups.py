"""SCIM Groups: members written as `scim` memberships, member value paths, rule groups listed
read-only, large groups not inlined, and filters, sorting and 409 on groups."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import grants, resources
from coterie.access.schemas import ResourceCreate
from coterie.actor import Actor
from coterie.events.models import OutboxEvent
from coterie.groups import service as groups
from coterie.groups.models import Membership
from coterie.groups.schemas import GroupCreate
from coterie.scim import protocol
from tests.scim.conftest import Scim

COTERIE_GROUP = "urn:coterie:params:scim:schemas:extension:group:2.0:Group"


def group(scim: Scim, name: str, *members: str, **extra: Any) -> dict[str, Any]:
    body = {"displayName": name, "members": [{"value": m} for m in members], **extra}
    answer = scim.post("/Groups", body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def member_values(body: dict[str, Any]) -> list[str]:
    return sorted(m["value"] for m in body.get("members", []))


def test_members_are_memberships_from_scim(scim: Scim, session: Session, admin: Actor) -> None:
    ann, bob = scim.user("ann")["id"], scim.user("bob")["id"]
    created = group(scim, "Sales", ann, externalId="okta-g1")
    assert member_values(created) == [ann]
    assert created["externalId"] == "okta-g1"
    stored = session.scalars(
        select(Membership).where(Membership.workspace_id == admin.workspace_id)
    ).all()
    assert [(ids.encode(m.user_id), m.source) for m in stored] == [(ann, "scim")]
    path = f"/Groups/{created['id']}"
    added = scim.patch(path, {"op": "add", "path": "members", "value": [{"value": bob}]})
    assert member_values(added.json()) == sorted([ann, bob])
    removed = scim.patch(path, {"op": "remove", "path": f'members[value eq "{ann}"]'})
    assert removed.status_code == 200, removed.text
    assert member_values(removed.json()) == [bob]
    replaced = scim.put(path, {"displayName": "Sales EU", "members": [{"value": ann}]})
    assert (replaced.json()["displayName"], member_values(replaced.json())) == ("Sales EU", [ann])
    events = session.execute(
        select(OutboxEvent.type, OutboxEvent.data)
        .where(
            OutboxEvent.workspace_id == admin.workspace_id, OutboxEvent.type.like("membership.%")
        )
        .order_by(OutboxEvent.seq)
    ).all()
    assert [(kind, data["reason"]) for kind, data in events] == [
        ("membership.added", "scim"),
        ("membership.added", "scim"),
        ("membership.removed", "scim"),
        ("membership.removed", "scim"),
        ("membership.added", "scim"),
    ]


def test_rule_groups_are_listed_but_their_members_are_read_only(
    scim: Scim, session: Session, admin: Actor
) -> None:
    ann = scim.user("ann", emails=[{"value": "ann@example.com"}])["id"]
    rule = groups.create(
        session,
        actor=admin,
        data=GroupCreate(name="Everyone", selection="rule", include="email pr"),
    )
    session.commit()
    body = scim.get(f"/Groups/{ids.encode(rule.id)}").json()
    assert member_values(body) == [ann]
    assert body[COTERIE_GROUP]["selection"] == "rule"
    refused = scim.patch(
        f"/Groups/{ids.encode(rule.id)}", {"op": "remove", "path": f'members[value eq "{ann}"]'}
    )
    assert refused.status_code == 400
    assert refused.json()["scimType"] == "mutability"


def test_a_large_group_does_not_inline_its_members(
    scim: Scim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(protocol, "MEMBERS_INLINE", 1)
    people = [scim.user(name)["id"] for name in ("ann", "bob")]
    created = group(scim, "Big", *people)
    assert "members" not in created
    assert created[COTERIE_GROUP]["membersInlined"] is False
    assert created[COTERIE_GROUP]["memberCount"] == 2
    assert created[COTERIE_GROUP]["membersUrl"] == f"/api/v1/groups/{created['id']}/members"
    path = f"/Groups/{created['id']}"
    scim.patch(path, {"op": "remove", "path": f'members[value eq "{people[0]}"]'})
    assert member_values(scim.get(path).json()) == [people[1]]


def test_group_filters_sorting_paging_and_409(scim: Scim) -> None:
    for name in ("Beta", "alpha", "Gamma"):
        group(scim, name, externalId=f"ext-{name.lower()}")
    listed = scim.get("/Groups", params={"sortBy": "displayName", "count": 2}).json()
    assert listed["totalResults"] == 3
    assert [g["displayName"] for g in listed["Resources"]] == ["alpha", "Beta"]
    found = scim.get(
        "/Groups", params={"filter": 'externalId eq "ext-gamma" or displayName sw "al"'}
    )
    assert sorted(g["displayName"] for g in found.json()["Resources"]) == ["Gamma", "alpha"]
    unknown = scim.get("/Groups", params={"filter": 'members.value eq "x"'})
    assert unknown.status_code == 400
    assert unknown.json()["scimType"] == "invalidFilter"
    duplicate = scim.post("/Groups", {"displayName": "Beta"})
    assert duplicate.status_code == 409
    assert duplicate.json()["scimType"] == "uniqueness"


def test_group_etag_and_delete(scim: Scim) -> None:
    created = group(scim, "Temp")
    path = f"/Groups/{created['id']}"
    assert scim.delete(path, headers={"If-Match": 'W/"nope"'}).status_code == 412
    assert scim.delete(path, headers={"If-Match": created["meta"]["version"]}).status_code == 204
    assert scim.get(path).status_code == 404


def test_deactivating_through_scim_takes_group_given_access_away_at_once(
    scim: Scim, session: Session, admin: Actor
) -> None:
    ann = scim.user("ann")["id"]
    team = group(scim, "Support", ann)
    bot = resources.create(session, actor=admin, data=ResourceCreate(kind="bot", name="Helper"))
    resources.assign(
        session, actor=admin, group_ids=[ids.decode(team["id"])], resource_ids=[bot.id]
    )
    session.commit()
    person = ids.decode(ann)
    ws = admin.workspace_id
    assert grants.check(session, workspace_id=ws, user_id=person, resource_id=bot.id) is not None
    answer = scim.patch(f"/Users/{ann}", {"op": "replace", "path": "active", "value": False})
    assert answer.status_code == 200, answer.text
    assert grants.check(session, workspace_id=ws, user_id=person, resource_id=bot.id) is None
