"""SCIM Users: what scim2-tester does not check (filters, paging, sorting, ETags, 409), the
mapping onto Coterie people, and the token's workspace boundary."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie import ids
from coterie.access import scim as scim_tokens
from coterie.actor import Actor
from coterie.directory.forms import create_field
from coterie.directory.models import User
from coterie.directory.schemas import FieldCreate
from coterie.events.models import OutboxEvent
from coterie.workspaces import service as workspaces
from tests.conftest import make_user
from tests.scim.conftest import SCIM_JSON, Scim, scim_client

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
COTERIE = "urn:coterie:params:scim:schemas:extension:workspace:2.0:User"


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["userName"] for r in response.json()["Resources"]]


def crew(scim: Scim) -> None:
    scim.user(
        "ann",
        name={"givenName": "Ann", "familyName": "Lee"},
        emails=[
            {"value": "ann@work.example", "type": "work", "primary": True},
            {"value": "ann@home.example", "type": "home"},
        ],
        externalId="okta-1",
    )
    scim.user(
        "bob",
        name={"givenName": "Bob", "familyName": "Ng"},
        emails=[{"value": "bob@work.example", "type": "work"}],
        active=False,
    )
    scim.user(
        "cyd",
        name={"givenName": "Cyd", "familyName": "Abe"},
        emails=[{"value": "cyd@else.example", "type": "work"}],
    )


def test_a_user_maps_onto_a_person_and_reads_back_as_written(
    scim: Scim, session: Session, admin: Actor
) -> None:
    created = scim.user(
        "Ann.Lee",
        name={"givenName": "Ann", "familyName": "Lee", "middleName": "Q"},
        displayName="Ann Lee",
        nickName="Annie",
        emails=[{"value": "Ann@Work.example", "type": "work", "primary": True}],
        phoneNumbers=[{"value": "+44 20 7946 0958", "type": "work"}],
        ims=[{"value": "@ann.lee", "type": "instagram"}],
        title="Engineer",
        externalId="okta-1",
        **{ENTERPRISE: {"employeeNumber": "42", "department": "R&D"}},
    )
    person = session.get(User, (admin.workspace_id, ids.decode(created["id"])))
    assert person is not None
    assert (person.full_name, person.first_name, person.last_name) == ("Ann Lee", "Ann", "Lee")
    assert (person.email, person.phone, person.instagram) == (
        "ann@work.example",
        "+442079460958",
        "ann.lee",
    )
    assert (person.external_id, person.source, person.nicknames) == ("okta-1", "scim", ["Annie"])
    read = scim.get(f"/Users/{created['id']}")
    assert read.headers["content-type"] == SCIM_JSON
    body = read.json()
    assert body["emails"] == [{"value": "Ann@work.example", "type": "work", "primary": True}]
    assert body["name"]["middleName"] == "Q"
    assert body["title"] == "Engineer"
    assert body[ENTERPRISE] == {"employeeNumber": "42", "department": "R&D"}
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{created['id']}")


def test_active_false_deactivates_the_person_and_is_a_webhook_event(
    scim: Scim, session: Session, admin: Actor
) -> None:
    created = scim.user("ann", emails=[{"value": "ann@example.com"}])
    answer = scim.patch(
        f"/Users/{created['id']}", {"op": "replace", "path": "active", "value": False}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["active"] is False
    person = session.get(User, (admin.workspace_id, ids.decode(created["id"])))
    assert person is not None
    assert person.status == "deactivated"
    kinds = session.scalars(
        select(OutboxEvent.type).where(OutboxEvent.workspace_id == admin.workspace_id)
    ).all()
    assert "person.deactivated" in kinds


def test_patch_with_a_value_path(scim: Scim) -> None:
    created = scim.user(
        "ann",
        emails=[
            {"value": "ann@work.example", "type": "work", "primary": True},
            {"value": "ann@home.example", "type": "home"},
        ],
    )
    answer = scim.patch(
        f"/Users/{created['id']}",
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@work.example"},
    )
    assert answer.status_code == 200, answer.text
    assert [e["value"] for e in answer.json()["emails"]] == ["new@work.example", "ann@home.example"]


def test_filters_go_through_the_rule_engine(scim: Scim) -> None:
    crew(scim)
    assert names(scim.get("/Users", params={"filter": 'userName eq "ANN"'})) == ["ann"]
    assert names(scim.get("/Users", params={"filter": 'emails.value ew "work.example"'})) == [
        "ann",
        "bob",
    ]
    assert names(scim.get("/Users", params={"filter": 'emails[value sw "cyd"]'})) == ["cyd"]
    both = 'name.familyName sw "L" or (active eq false and not (externalId pr))'
    assert names(scim.get("/Users", params={"filter": both})) == ["ann", "bob"]
    assert names(scim.get("/Users", params={"filter": 'externalId eq "okta-1"'})) == ["ann"]


@pytest.mark.parametrize(
    "text",
    ['title eq "x"', 'nosuch eq "x"', 'userName zz "x"', 'userName eq "x" and', "emails["],
)
def test_a_filter_coterie_cannot_run_is_400_invalid_filter(scim: Scim, text: str) -> None:
    scim.user("ann")
    answer = scim.get("/Users", params={"filter": text})
    assert answer.status_code == 400
    assert answer.json()["scimType"] == "invalidFilter"
    assert answer.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_custom_fields_are_an_extension_that_filters(
    scim: Scim, session: Session, admin: Actor
) -> None:
    create_field(
        session,
        actor=admin,
        data=FieldCreate(key="plan", label="Plan", type="enum", options=["free", "pro"]),
    )
    session.commit()
    scim.user("ann", **{COTERIE: {"plan": "pro"}})
    scim.user("bob", **{COTERIE: {"plan": "free"}})
    found = scim.get("/Users", params={"filter": f'{COTERIE}:plan eq "pro"'})
    assert names(found) == ["ann"]
    assert found.json()["Resources"][0][COTERIE] == {"plan": "pro"}
    bad = scim.post("/Users", {"userName": "cyd", COTERIE: {"plan": "gold"}})
    assert bad.status_code == 400
    assert bad.json()["scimType"] == "invalidValue"


def test_paging_and_sorting(scim: Scim) -> None:
    crew(scim)
    ordered = {"sortBy": "name.familyName", "sortOrder": "descending"}
    assert names(scim.get("/Users", params=ordered)) == ["bob", "ann", "cyd"]
    page = scim.get("/Users", params={**ordered, "startIndex": 2, "count": 1}).json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (3, 2, 1)
    assert [r["userName"] for r in page["Resources"]] == ["ann"]
    assert scim.get("/Users", params={"count": 0}).json()["Resources"] == []
    assert names(scim.get("/Users", params={"sortBy": "userName"})) == ["ann", "bob", "cyd"]
    assert scim.get("/Users", params={"sortBy": "title"}).status_code == 400


def test_users_search_takes_the_list_parameters_in_its_body(scim: Scim) -> None:
    crew(scim)
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
    ordered = {**search, "sortBy": "name.familyName", "sortOrder": "descending"}
    assert names(scim.post("/Users/.search", ordered)) == ["bob", "ann", "cyd"]
    page = scim.post("/Users/.search", {**ordered, "startIndex": 2, "count": 1}).json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (3, 2, 1)
    picked = scim.post("/Users/.search", {**search, "attributes": ["userName"], "count": 1})
    assert set(picked.json()["Resources"][0]) == {"schemas", "id", "userName"}
    for wrong in ("2", True, 1.5):
        refused = scim.post("/Users/.search", {**search, "count": wrong})
        assert refused.status_code == 400, wrong
        assert refused.json()["detail"] == "count must be an integer"


def test_attributes_and_excluded_attributes(scim: Scim) -> None:
    crew(scim)
    only = scim.get("/Users", params={"attributes": "userName", "filter": 'userName eq "ann"'})
    resource = only.json()["Resources"][0]
    assert set(resource) == {"schemas", "id", "userName"}
    without = scim.get("/Users", params={"excludedAttributes": "emails,name"}).json()
    assert all(
        "emails" not in r and "name" not in r and "userName" in r for r in without["Resources"]
    )


def test_etags_and_if_match(scim: Scim) -> None:
    created = scim.user("ann")
    path = f"/Users/{created['id']}"
    tag = scim.get(path).headers["etag"]
    assert tag == created["meta"]["version"]
    assert scim.get(path, headers={"If-None-Match": tag}).status_code == 304
    changed = scim.put(path, {"userName": "ann", "displayName": "Ann"}, headers={"If-Match": tag})
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] != tag
    stale = scim.put(path, {"userName": "ann", "displayName": "X"}, headers={"If-Match": tag})
    assert stale.status_code == 412
    assert scim.delete(path, headers={"If-Match": tag}).status_code == 412
    assert scim.get(path).json()["displayName"] == "Ann"


def test_duplicates_are_409_uniqueness(scim: Scim) -> None:
    scim.user("ann", externalId="okta-1", emails=[{"value": "ann@example.com"}])
    for body in (
        {"userName": "ANN"},
        {"userName": "other", "externalId": "okta-1"},
        {"userName": "other", "emails": [{"value": "ANN@example.com"}]},
    ):
        answer = scim.post("/Users", body)
        assert answer.status_code == 409, body
        assert answer.json()["scimType"] == "uniqueness"


def test_a_taken_user_name_leaves_no_person_behind(scim: Scim, session: Session) -> None:
    """The person is written before their document, whose insert finds the name taken: the
    409 names the holder and the request's transaction is rolled back whole."""
    ann = scim.user("ann")
    people = select(func.count()).select_from(User)
    before = session.scalar(people)
    answer = scim.post("/Users", {"userName": "Ann", "emails": [{"value": "x@example.com"}]})
    assert answer.status_code == 409
    assert answer.json()["detail"] == f"userName Ann already belongs to {ann['id']}"
    assert session.scalar(people) == before
    assert scim.user("x", emails=[{"value": "x@example.com"}])["userName"] == "x"


def test_people_made_elsewhere_are_users_too(scim: Scim, session: Session, admin: Actor) -> None:
    person = make_user(session, admin, full_name="Dee Day", email="dee@example.com")
    session.commit()
    body = scim.get(f"/Users/{ids.encode(person.id)}").json()
    assert (body["userName"], body["displayName"], body["active"]) == (
        "dee@example.com",
        "Dee Day",
        True,
    )


def test_a_token_sees_only_its_workspace(scim: Scim, session: Session) -> None:
    created = scim.user("ann")
    other = workspaces.create(session, slug=f"o-{secrets.token_hex(3)}", name="Other")
    theirs = scim_client(session, actors.system(other.id))
    assert theirs.get(f"/Users/{created['id']}").status_code == 404
    assert theirs.get("/Users").json()["totalResults"] == 0
    assert theirs.delete(f"/Users/{created['id']}").status_code == 404


def test_no_or_revoked_token_is_401_with_a_scim_error(
    scim: Scim, session: Session, admin: Actor
) -> None:
    scim.client.headers.pop("Authorization")
    answer = scim.get("/Users")
    assert answer.status_code == 401
    assert answer.json()["status"] == "401"
    token, secret = scim_tokens.create(session, actor=admin, name="gone")
    scim_tokens.revoke(session, actor=admin, token_id=token.id)
    session.commit()
    answer = scim.get("/Users", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 401


def test_discovery_is_read_only_and_unknown_urls_are_scim_404s(scim: Scim) -> None:
    config = scim.get("/ServiceProviderConfig").json()
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert config["etag"]["supported"] is True
    assert config["bulk"]["supported"] is False
    types = {t["id"] for t in scim.get("/ResourceTypes").json()["Resources"]}
    assert types == {"User", "Group"}
    assert scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").status_code == 200
    for path in ("/ServiceProviderConfig", "/Schemas", "/ResourceTypes"):
        refused = scim.post(path, {})
        assert refused.status_code == 405
        assert refused.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    missing = scim.get("/Nope")
    assert missing.status_code == 404
    assert missing.json()["status"] == "404"


def test_the_indexed_user_name_lookup_agrees_with_the_rule_engine(
    scim: Scim, session: Session, admin: Actor
) -> None:
    scim.user("Ann.Lee", emails=[{"value": "ann@example.com"}])
    by_email = make_user(session, admin, full_name="Dee Day", email="dee@example.com")
    by_phone = make_user(session, admin, full_name="Pat Phone", phone="+442079460958")
    session.commit()
    for name, expected in (("ann.lee", ["Ann.Lee"]), ("DEE@example.com", ["dee@example.com"])):
        quick = names(scim.get("/Users", params={"filter": f'userName eq "{name}"'}))
        general = f'userName eq "{name}" and userName pr'  # not the indexed shape
        assert quick == names(scim.get("/Users", params={"filter": general})) == expected
    assert names(scim.get("/Users", params={"filter": 'userName eq "ann@example.com"'})) == []
    pat = ids.encode(by_phone.id)
    assert names(scim.get("/Users", params={"filter": f'userName eq "{pat}"'})) == [pat]
    assert by_email.id != by_phone.id
