"""The SCIM models' context checks, planned once per class (`scim.checks`): the same outcome as
scim2-models' own for every context, without its per-field walk."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scim2_models import Context, Group, Resource, User

from coterie.directory.models import Field
from coterie.scim import checks, groups, people

ENTERPRISE = people.ENTERPRISE
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
CUSTOM = people.COTERIE_USER


def _user_model() -> Any:
    field = Field(key="tier", label="Tier", type="text", options=[], description="")
    return people.model(people.field_key([field]))


USER, GROUP = _user_model(), groups.model()


def outcome(model: type[Resource[Any]], body: dict[str, Any], context: Context, bulk: bool) -> Any:
    """What validating `body` gives: its dump, or the errors (type, place, message)."""
    extra = {"context": {"scim_bulk": True}} if bulk else {}
    try:
        found = model.model_validate(body, scim_ctx=context, **extra)
    except ValidationError as exc:
        return "refused", [(e["type"], e["loc"], e["msg"]) for e in exc.errors()]
    return "valid", found.model_dump(mode="json")


_EMAIL = st.fixed_dictionaries(
    {"value": st.sampled_from(["a@example.com", "b@example.com"])},
    optional={"primary": st.booleans(), "type": st.sampled_from(["work", "home"])},
)
_META = {"resourceType": "User", "created": "2026-01-01T00:00:00Z", "version": 'W/"1"'}
USER_BODIES = st.fixed_dictionaries(
    {},
    optional={
        "schemas": st.sampled_from(
            [[CORE], [CORE, ENTERPRISE], [CORE, CUSTOM], [CORE, "urn:example:unknown"], []]
        ),
        "id": st.sampled_from(["abc", "bulkId:x", ""]),
        "meta": st.just(_META),
        "userName": st.sampled_from(["bob", "", None]),
        "password": st.just("secret"),
        "active": st.booleans(),
        "emails": st.lists(_EMAIL, max_size=3),
        "phoneNumbers": st.lists(
            st.fixed_dictionaries(
                {"value": st.just("+15551234")}, optional={"primary": st.booleans()}
            ),
            max_size=2,
        ),
        "groups": st.just([{"value": "g1", "display": "One"}]),
        ENTERPRISE: st.fixed_dictionaries(
            {},
            optional={
                "department": st.just("Sales"),
                "manager": st.sampled_from([{"value": "bulkId:m"}, {"value": "m1"}]),
            },
        ),
        CUSTOM: st.fixed_dictionaries({}, optional={"tier": st.sampled_from(["gold", None])}),
    },
)
GROUP_BODIES = st.fixed_dictionaries(
    {},
    optional={
        "schemas": st.sampled_from([["urn:ietf:params:scim:schemas:core:2.0:Group"], []]),
        "id": st.just("g1"),
        "displayName": st.sampled_from(["Sales", "", None]),
        "members": st.lists(
            st.fixed_dictionaries({"value": st.sampled_from(["u1", "u2"])}), max_size=2
        ),
        "meta": st.just({**_META, "resourceType": "Group"}),
    },
)


@pytest.mark.parametrize(("model", "bodies"), [(USER, USER_BODIES), (GROUP, GROUP_BODIES)])
@settings(max_examples=250, deadline=None)
@given(data=st.data(), context=st.sampled_from(list(Context)), bulk=st.booleans())
def test_a_resource_is_checked_as_scim2_models_checks_it(
    model: type[Any],
    bodies: st.SearchStrategy[dict[str, Any]],
    data: st.DataObject,
    context: Context,
    bulk: bool,
) -> None:
    body = data.draw(bodies)
    stock = model.__bases__[0]
    assert outcome(model, body, context, bulk) == outcome(stock, body, context, bulk)


@pytest.mark.parametrize(
    ("body", "context", "refusal"),
    [
        ({"schemas": [CORE]}, Context.RESOURCE_CREATION_REQUEST, "required_error"),
        ({"userName": "bob", "password": "x"}, Context.RESOURCE_QUERY_REQUEST, "mutability_error"),
        (
            {"userName": "bob", "emails": [{"value": "a@x.io", "primary": True}] * 2},
            Context.RESOURCE_REPLACEMENT_REQUEST,
            "primary_uniqueness_error",
        ),
        ({"userName": "bob"}, Context.RESOURCE_QUERY_RESPONSE, "returned_error"),
    ],
)
def test_each_kind_of_check_still_refuses(body: Any, context: Context, refusal: str) -> None:
    found = outcome(USER, body, context, bulk=False)
    assert found[0] == "refused"
    assert found[1][0][0] == refusal


def test_a_create_drops_read_only_attributes() -> None:
    body = {"schemas": [CORE], "userName": "bob", "id": "mine", "groups": [{"value": "g1"}]}
    found = USER.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    assert (found.id, found.groups, found.user_name) == (None, None, "bob")


def test_the_planned_model_keeps_the_stock_models_name_and_extensions() -> None:
    stock = USER.__bases__[0]
    assert USER.__name__ == stock.__name__
    assert USER.get_extension_models() == stock.get_extension_models()
    assert issubclass(USER, User)
    assert issubclass(GROUP, Group)


def test_only_fields_with_something_to_check_are_walked() -> None:
    names = [field.name for field in checks.checked_fields(USER)]
    assert names[:4] == ["schemas", "id", "meta", "user_name"]
    assert "display_name" not in names
    assert "title" not in names
    assert {"password", "emails", "groups"} <= set(names)


def test_validation_looks_up_no_annotation_once_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    """scim2-models' own check looks up every field's annotations on every validation."""
    body = {"schemas": [CORE], "userName": "bob", "emails": [{"value": "a@x.io"}]}
    USER.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)  # planned now
    looked_up: list[str] = []
    original = USER.get_field_annotation.__func__

    def counting(cls: Any, name: str, annotation: Any) -> Any:
        looked_up.append(name)
        return original(cls, name, annotation)

    monkeypatch.setattr(USER, "get_field_annotation", classmethod(counting))
    USER.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    assert "display_name" not in looked_up
    assert "title" not in looked_up
