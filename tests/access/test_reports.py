"""Team reports: members and resources per group, who can use what; the reporting capability."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import reports, resources
from coterie.access.schemas import ResourceCreate
from coterie.actor import Actor, Role
from coterie.directory.schemas import UserUpdate
from coterie.errors import Forbidden
from coterie.groups import people, service
from coterie.groups.schemas import GroupCreate
from tests.conftest import Api, make_user


@pytest.fixture
def team(session: Session, admin: Actor) -> dict[str, Any]:
    """EMEA > Sales Team (Ann, Bob), EMEA itself (Bob again), APAC (Cy, deactivated Dee).
    EMEA holds the bot Closer; Sales Team the persona CFO; APAC the bot Greeter."""

    def group(name: str, parent: Any = None) -> Any:
        parent_id = ids.encode(parent.id) if parent is not None else None
        return service.create(
            session, actor=admin, data=GroupCreate(name=name, parent_id=parent_id)
        )

    emea = group("EMEA")
    sales = group("Sales Team", emea)
    apac = group("APAC")
    ann, bob, cy, dee = (
        make_user(session, admin, full_name=n, email=f"{n.lower()}@x.org")
        for n in ("Ann", "Bob", "Cy", "Dee")
    )
    for where, who in ((sales, [ann, bob]), (emea, [bob]), (apac, [cy, dee])):
        service.add_members(session, actor=admin, group_id=where.id, user_ids=[p.id for p in who])
    people.update(session, actor=admin, user_id=dee.id, data=UserUpdate(status="deactivated"))

    def thing(kind: str, name: str, holder: Any) -> Any:
        made = resources.create(session, actor=admin, data=ResourceCreate(kind=kind, name=name))
        resources.assign(session, actor=admin, group_ids=[holder.id], resource_ids=[made.id])
        return made

    closer = thing("bot", "Closer", emea)
    cfo = thing("persona", "CFO", sales)
    greeter = thing("bot", "Greeter", apac)
    resources.create(session, actor=admin, data=ResourceCreate(kind="playbook", name="Unused"))
    return {
        "emea": emea,
        "sales": sales,
        "apac": apac,
        "closer": closer,
        "cfo": cfo,
        "greeter": greeter,
        "ann": ann,
        "bob": bob,
        "cy": cy,
    }


def test_groups_report_counts_members_and_resources(
    session: Session, admin: Actor, team: dict[str, Any]
) -> None:
    rows = {r.name: r for r in reports.groups_report(session, actor=admin)}
    assert [r.name for r in reports.groups_report(session, actor=admin)] == [
        "APAC",
        "EMEA",
        "Sales Team",
    ]
    assert rows["Sales Team"].path == "EMEA > Sales Team"
    assert rows["Sales Team"].level == 2
    assert (rows["EMEA"].members, rows["EMEA"].members_with_subgroups) == (1, 2)
    assert rows["EMEA"].subgroups == 1
    assert (rows["EMEA"].bots, rows["EMEA"].personas) == (1, 0)
    assert rows["Sales Team"].resources == ["CFO (persona)"]


def test_resources_report_counts_active_people_through_the_hierarchy(
    session: Session, admin: Actor, team: dict[str, Any]
) -> None:
    rows = {r.name: r for r in reports.resources_report(session, actor=admin)}
    assert rows["Closer"].people == 2  # Ann via Sales Team ← EMEA, Bob in both: once
    assert rows["Closer"].groups == ["EMEA"]
    assert rows["CFO"].people == 2
    assert rows["Greeter"].people == 1  # Dee is deactivated
    assert (rows["Unused"].people, rows["Unused"].groups) == (0, [])


def test_reports_need_the_capability_and_follow_the_scope(
    session: Session, admin: Actor, team: dict[str, Any]
) -> None:
    reader = replace(admin, role=Role.READ_ONLY)
    for report in (reports.groups_report, reports.resources_report, reports.access_csv):
        with pytest.raises(Forbidden, match="reporting capability"):
            report(session, actor=reader)
    with pytest.raises(Forbidden):
        reports.groups_report(
            session, actor=replace(admin, role=Role.IDENTIFIED_ONLY, capabilities=frozenset())
        )
    scoped = replace(
        reader, capabilities=frozenset({"reporting"}), scope=frozenset({team["apac"].id})
    )
    assert [r.name for r in reports.groups_report(session, actor=scoped)] == ["APAC"]
    counts = {r.name: (r.people, r.groups) for r in reports.resources_report(session, actor=scoped)}
    assert counts["Closer"] == (0, [])
    assert counts["Greeter"] == (1, ["APAC"])
    rows = list(csv.reader(io.StringIO("".join(reports.access_csv(session, actor=scoped)))))
    assert [(r[1], r[5]) for r in rows[1:]] == [("Cy", "Greeter")]


def test_reports_over_http_with_csv(api: Api, session: Session, team: dict[str, Any]) -> None:
    admin = api.as_role(Role.ADMIN)
    groups = admin.get("/api/v1/reports/groups").json()
    assert [g["name"] for g in groups] == ["APAC", "EMEA", "Sales Team"]
    assert groups[1]["group_id"] == ids.encode(team["emea"].id)
    answer = admin.get("/api/v1/reports/access.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    got = {(r["name"], r["resource"], r["member_of"], r["held_by"]) for r in rows}
    assert got == {
        ("Ann", "Closer", "Sales Team", "EMEA"),
        ("Ann", "CFO", "Sales Team", "Sales Team"),
        ("Bob", "Closer", "Sales Team", "EMEA"),
        ("Bob", "Closer", "EMEA", "EMEA"),
        ("Bob", "CFO", "Sales Team", "Sales Team"),
        ("Cy", "Greeter", "APAC", "APAC"),
    }
    resources_csv = admin.get("/api/v1/reports/resources.csv").text
    assert "Closer" in resources_csv
    assert "people" in resources_csv.splitlines()[0]
    groups_csv = list(csv.DictReader(io.StringIO(admin.get("/api/v1/reports/groups.csv").text)))
    assert {r["group"]: r["members_with_subgroups"] for r in groups_csv}["EMEA"] == "2"
    # API tokens carry every capability, so a read-only token reads reports; identified-only not.
    assert api.as_role(Role.READ_ONLY).get("/api/v1/reports/groups").status_code == 200
    refused = api.as_role(Role.IDENTIFIED_ONLY).get("/api/v1/reports/resources.csv")
    assert refused.status_code == 403
