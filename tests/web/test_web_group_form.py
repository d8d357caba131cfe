"""The group draft the wizard carries between steps, and where each error is shown."""

from __future__ import annotations

from starlette.datastructures import FormData

from coterie.errors import Conflict, FieldError, Invalid
from coterie.web.group_form import GroupDraft, Problems

BUILDER = [{"name": "attributes.score", "label": "Score"}]


def test_the_draft_survives_a_round_trip_through_its_token() -> None:
    draft = GroupDraft(
        name="VIP",
        tags=["a", "b"],
        selection="rule",
        include='{"all":[{"field":"attributes.score","op":"gt","value":5}]}',
        excluded=["0abc"],
        attributes=[["owner", "Growth"]],
    )
    assert GroupDraft.from_token(draft.token()) == draft


def test_a_tampered_token_keeps_only_well_typed_values() -> None:
    token = '{"name": 5, "tags": ["x", 3], "attributes": [["k", "v"], ["bad"]], "evil": 1}'
    draft = GroupDraft.from_token(token)
    assert draft.name == ""
    assert draft.tags == ["x"]
    assert draft.attributes == [["k", "v"]]
    assert GroupDraft.from_token("not json") == GroupDraft()
    assert GroupDraft.from_token("[1, 2]") == GroupDraft()


def test_each_step_reads_only_its_own_inputs() -> None:
    draft = GroupDraft(name="Kept", selection="manual")
    form = FormData(
        [
            ("name", "Ignored here"),
            ("status", "inactive"),
            ("attr_key", "owner"),
            ("attr_value", " Growth "),
            ("attr_key", ""),
            ("attr_value", ""),  # a blank row is dropped
            ("attr_key", ""),
            ("attr_value", "orphan"),  # kept, so the step can say it needs a name
        ]
    )
    draft.read(form, "metadata")
    assert draft.name == "Kept"
    assert draft.status == "inactive"
    assert draft.attributes == [["owner", "Growth"], ["", "orphan"]]

    draft.read(FormData([("tags", " a, b ,, a "), ("form_id", "f1"), ("form_id", "f1")]), "details")
    assert draft.tags == ["a", "b"]
    assert draft.form_ids == ["f1"]
    assert draft.name == ""  # the details step owns the name

    draft.read(FormData([("member", "p1"), ("member", "p2"), ("include", "x")]), "selection")
    assert draft.members == ["p1", "p2"]
    assert draft.include == ""  # a manual group has no rule


def test_errors_land_on_their_input_and_step() -> None:
    problems = Problems()
    problems.add(
        Invalid(
            "bad",
            errors=[
                FieldError("include.all[1].value", "gt on 'attributes.score' needs a number"),
                FieldError("excluded_user_ids[0]", "No person with id 'x'"),
            ],
        ),
        BUILDER,
    )
    (row,) = problems.rules["include"]
    assert (row.row, row.part) == (1, "value")
    assert row.message.startswith("“Score greater than” needs a number")
    assert problems.fields == {"excluded": "No person with id 'x'"}
    assert problems.step() == "selection"

    taken = Problems()
    taken.add(Conflict("A group named 'VIP' already exists", field="name"), BUILDER)
    assert taken.fields == {"name": "A group named 'VIP' already exists"}
    assert taken.step() == "details"

    attributes = Problems(fields={"attributes[2]": "Give this attribute a name."})
    assert attributes.step() == "metadata"
    assert not Problems()
