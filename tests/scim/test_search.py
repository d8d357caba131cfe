"""`POST /.search` at the server root: a filter over both resource types, sorting and paging
across them, and Bulk answered 501 as ServiceProviderConfig says it is unsupported."""

from __future__ import annotations

from typing import Any

from tests.scim.conftest import Scim

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def search(scim: Scim, **request: Any) -> Any:
    return scim.post("/.search", {"schemas": [SEARCH], **request})


def found(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [r.get("userName") or r["displayName"] for r in response.json()["Resources"]]


def team(scim: Scim) -> None:
    scim.user("ann", displayName="Ann Lee", externalId="e-3")
    scim.user("bob", displayName="Bob Ng", externalId="e-1")
    for name, external in (("Alpha", "e-2"), ("Zulu", None)):
        body: dict[str, Any] = {"displayName": name}
        if external:
            body["externalId"] = external
        assert scim.post("/Groups", body).status_code == 201


def test_without_a_filter_people_come_first_then_groups(scim: Scim) -> None:
    team(scim)
    everyone = search(scim)
    assert found(everyone) == ["ann", "bob", "Alpha", "Zulu"]
    assert everyone.json()["totalResults"] == 4
    assert found(search(scim, startIndex=2, count=2)) == ["bob", "Alpha"]


def test_a_filter_applies_to_each_type_that_has_its_attribute(scim: Scim) -> None:
    team(scim)
    assert found(search(scim, filter='displayName sw "A"')) == ["ann", "Alpha"]
    assert found(search(scim, filter='userName eq "bob"')) == ["bob"]  # people only
    assert found(search(scim, filter='externalId eq "e-2"')) == ["Alpha"]
    assert found(search(scim, filter="externalId pr", sortBy="externalId")) == [
        "bob",
        "Alpha",
        "ann",
    ]
    nowhere = search(scim, filter='nickname eq "x"')
    assert nowhere.status_code == 400
    assert nowhere.json()["scimType"] == "invalidFilter"


def test_sorting_and_paging_run_across_both_types(scim: Scim) -> None:
    team(scim)
    by_name = search(scim, sortBy="displayName")
    assert found(by_name) == ["Alpha", "ann", "bob", "Zulu"]
    down = search(scim, sortBy="displayName", sortOrder="descending", startIndex=2, count=2)
    assert found(down) == ["bob", "ann"]
    assert down.json()["totalResults"] == 4
    # an attribute only one type has: the other type's resources sort last, as missing values
    assert found(search(scim, sortBy="externalId")) == ["bob", "Alpha", "ann", "Zulu"]
    assert found(search(scim, sortBy="userName")) == ["ann", "bob", "Alpha", "Zulu"]
    bad = search(scim, sortBy="nickname")
    assert bad.status_code == 400
    assert bad.json()["scimType"] == "invalidValue"


def test_a_filtered_search_picks_attributes(scim: Scim) -> None:
    team(scim)
    picked = search(scim, filter='displayName sw "A"', attributes=["displayName"])
    resources = picked.json()["Resources"]
    assert [sorted(r) for r in resources] == [["displayName", "id", "schemas"]] * 2


def test_bulk_is_not_implemented_as_the_config_says(scim: Scim) -> None:
    config = scim.get("/ServiceProviderConfig").json()
    assert config["bulk"]["supported"] is False
    answer = scim.post("/Bulk", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]})
    assert answer.status_code == 501
    assert answer.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
