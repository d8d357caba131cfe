"""The group being made or edited, as the wizard and the edit page carry and check it.

The wizard writes nothing before Save: every step posts the whole draft back (a JSON token in a
hidden field) with that step's inputs, so Back, Next and a rejected step keep everything typed.
The edit page reads the same draft from one form. Checks reuse the services' own rules (the rule
engine through `preview`), so a step says exactly what Save would say, next to the right input.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from coterie import ids
from coterie.directory import forms
from coterie.directory.models import User
from coterie.errors import CoterieError, FieldError, Invalid, NotFound
from coterie.groups import hierarchy, preview
from coterie.groups import service as groups
from coterie.groups.catalog import people_catalog
from coterie.groups.models import Group
from coterie.web import filters
from coterie.web.deps import Operator

# The wizard's steps, in order; the edit page shows details, rule and metadata on one page.
STEPS = ("details", "configuration", "selection", "metadata", "preview")
STEP_TITLES = ("Name and details", "Configuration", "User selection", "Metadata", "Preview")
# Which step an error about a field belongs to.
_FIELD_STEP = {
    "name": "details",
    "parent_id": "details",
    "description": "details",
    "tags": "details",
    "form_ids": "details",
    "selection": "configuration",
    "behaviour": "configuration",
    "include": "selection",
    "exclude": "selection",
    "excluded": "selection",
    "excluded_user_ids": "selection",
    "members": "selection",
    "user_ids": "selection",
    "status": "metadata",
    "attributes": "metadata",
}
MAX_TAGS = 50


@dataclass
class GroupDraft:
    name: str = ""
    parent_id: str = ""  # encoded id of the parent group; "" for a level-1 group
    description: str = ""
    tags: list[str] = field(default_factory=list)
    form_ids: list[str] = field(default_factory=list)
    selection: str = ""  # "manual" or "rule"
    behaviour: str = "dynamic"
    include: str = ""  # the builder's JSON tree (or SCIM text), as posted
    exclude: str = ""
    excluded: list[str] = field(default_factory=list)  # people left out by name (encoded ids)
    members: list[str] = field(default_factory=list)  # a manual group's first members
    status: str = "active"
    attributes: list[list[str]] = field(default_factory=list)  # [key, value] rows, as typed

    def token(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_token(cls, text: object) -> GroupDraft:
        """The draft a step posted back; anything malformed is dropped, never trusted."""
        try:
            data = json.loads(text) if isinstance(text, str) and text else {}
        except json.JSONDecodeError:
            data = {}
        draft = cls()
        if not isinstance(data, dict):
            return draft
        for item in fields(cls):
            value = data.get(item.name)
            current = getattr(draft, item.name)
            if isinstance(current, str) and isinstance(value, str):
                setattr(draft, item.name, value)
            elif isinstance(current, list) and isinstance(value, list):
                if item.name == "attributes":
                    value = [
                        [str(p[0]), str(p[1])] for p in value if isinstance(p, list) and len(p) == 2
                    ]
                else:
                    value = [str(v) for v in value if isinstance(v, str)]
                setattr(draft, item.name, value)
        return draft

    @classmethod
    def of_group(cls, group: Group, form_ids: list[int]) -> GroupDraft:
        def tree(value: dict[str, Any] | None) -> str:
            return json.dumps(value, separators=(",", ":")) if value else ""

        return cls(
            name=group.name,
            description=group.description,
            tags=list(group.tags),
            form_ids=[ids.encode(f) for f in form_ids],
            selection=group.selection,
            behaviour=group.behaviour or "dynamic",
            include=tree(group.include_rule),
            exclude=tree(group.exclude_rule),
            excluded=[ids.encode(u) for u in group.excluded_user_ids],
            status=group.status,
            attributes=[[k, str(v)] for k, v in group.attributes.items()],
        )

    def read(self, form: FormData, part: str) -> None:
        """Take one step's inputs from a posted form (absent checkboxes mean none chosen)."""

        def text(name: str) -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else ""

        def texts(name: str) -> list[str]:
            values = [v.strip() for v in form.getlist(name) if isinstance(v, str)]
            return list(dict.fromkeys(v for v in values if v))

        if part == "details":
            self.name = text("name")
            self.parent_id = text("parent_id")[:40]
            self.description = text("description")
            self.tags = list(dict.fromkeys(t.strip() for t in text("tags").split(",") if t.strip()))
            self.form_ids = texts("form_id")
        elif part == "configuration":
            self.selection = text("selection")
            self.behaviour = text("behaviour") or "dynamic"
        elif part == "selection":
            if self.selection == "manual":
                self.members = texts("member")
            else:
                self.include = text("include")
                self.exclude = text("exclude")
                self.excluded = texts("excluded")
        elif part == "metadata":
            self.status = text("status") or "active"
            keys = [k if isinstance(k, str) else "" for k in form.getlist("attr_key")]
            values = [v if isinstance(v, str) else "" for v in form.getlist("attr_value")]
            rows = [[k.strip(), v.strip()] for k, v in zip(keys, values, strict=False)]
            self.attributes = [r for r in rows if r[0] or r[1]]

    @property
    def is_rule(self) -> bool:
        return self.selection == "rule"

    def attributes_dict(self) -> dict[str, str]:
        return {row[0]: row[1] for row in self.attributes}

    def rule_fields(self) -> dict[str, Any]:
        """include, exclude and excluded_user_ids as `GroupCreate`/`GroupUpdate` take them."""
        return {
            "include": rule_input(self.include, at="include"),
            "exclude": rule_input(self.exclude, at="exclude"),
            "excluded_user_ids": list(self.excluded),
        }


@dataclass
class Problems:
    """What is wrong with a draft: messages by input, rule errors by builder row."""

    fields: dict[str, str] = field(default_factory=dict)
    rules: dict[str, list[filters.RowError]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fields or self.rules)

    def step(self) -> str:
        """The first wizard step that has a problem."""
        names = [*self.fields, *self.rules]
        found = {_FIELD_STEP.get(n.split(".")[0].split("[")[0], "details") for n in names}
        return next((s for s in STEPS if s in found), "details")

    def add(self, exc: CoterieError, builder: list[dict[str, Any]]) -> None:
        """File a service's error under the input it names (rule errors under their row)."""
        found = exc.errors if isinstance(exc, Invalid) and exc.errors else []
        if not found:
            found = [FieldError(str(exc.extra.get("field", "form")), exc.detail)]
        for error in found:
            head = error.field.split(".")[0].split("[")[0]
            if head in ("include", "exclude"):
                shifted = FieldError("filter" + error.field[len(head) :], error.message)
                self.rules.setdefault(head, []).extend(filters.row_errors([shifted], builder))
            elif head in ("excluded_user_ids", "excluded"):
                self.fields.setdefault("excluded", error.message)
            elif head == "user_ids":
                self.fields.setdefault("members", error.message)
            else:
                self.fields.setdefault(head, error.message)

    def add_invalid(self, exc: ValidationError, builder: list[dict[str, Any]]) -> None:
        """File a schema's validation errors as `add` files a service's."""
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "name"
            self.add(Invalid(error["msg"], errors=[FieldError(where, error["msg"])]), builder)


def rule_input(text: str, *, at: str) -> Any:
    """The builder's JSON tree as a mapping; SCIM text stays text; empty is no rule."""
    if not text:
        return None
    if not text.startswith("{"):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(f"The rule is not valid JSON: {exc.msg}", field=at) from exc


def check_details(
    session: Session, op: Operator, draft: GroupDraft, problems: Problems, group_id: int | None
) -> None:
    if not draft.name:
        problems.fields["name"] = "Give the group a name."
    elif len(draft.name) > 200:
        problems.fields["name"] = "A name has at most 200 characters."
    else:
        existing = groups.find_by_name(session, workspace_id=op.actor.workspace_id, name=draft.name)
        if existing is not None and existing.id != group_id:
            problems.fields["name"] = f"A group named “{draft.name}” already exists."
    if len(draft.description) > 5000:
        problems.fields["description"] = "A description has at most 5,000 characters."
    if len(draft.tags) > MAX_TAGS:
        problems.fields["tags"] = f"A group has at most {MAX_TAGS} tags."
    known = {ids.encode(f.id) for f in forms.list_forms(session, actor=op.actor)}
    if any(f not in known for f in draft.form_ids):
        problems.fields["form_ids"] = "A chosen form no longer exists; choose again."
    if group_id is None:
        check_parent(session, op, draft, problems)


def parent_choices(session: Session, op: Operator) -> list[hierarchy.Node]:
    """The groups a new group may go under: in the operator's scope, above the depth limit."""
    limit = op.workspace.hierarchy_depth
    return [n for n in hierarchy.tree(session, actor=op.actor) if n.level < limit]


def check_parent(session: Session, op: Operator, draft: GroupDraft, problems: Problems) -> None:
    """A scoped operator must put a new group under a group of their scope (the service's rule)."""
    if not draft.parent_id:
        if op.actor.scope is not None:
            problems.fields["parent_id"] = (
                "Your group scope is limited: choose a parent group inside it."
            )
        return
    if draft.parent_id not in {ids.encode(n.id) for n in parent_choices(session, op)}:
        problems.fields["parent_id"] = "That group cannot take a subgroup here; choose another."


def check_configuration(draft: GroupDraft, problems: Problems) -> None:
    if draft.selection not in ("manual", "rule"):
        problems.fields["selection"] = "Choose how members are selected."
    elif draft.is_rule and draft.behaviour not in ("static", "dynamic"):
        problems.fields["behaviour"] = "Choose static or dynamic."


def check_rule(
    session: Session,
    op: Operator,
    draft: GroupDraft,
    problems: Problems,
    builder: list[dict[str, Any]],
    *,
    group_id: int | None = None,
    sample_size: int = 10,
) -> preview.Preview | None:
    """Whom the draft's rule selects (and, for a group, would add and remove), or its errors."""
    if not draft.include:
        message = "Add at least one condition: it says who is in this group."
        problems.rules["include"] = [filters.RowError(None, None, message)]
        return None
    excluded = []
    for value in draft.excluded:
        try:
            excluded.append(ids.decode(value, what="person"))
        except NotFound:
            problems.fields["excluded"] = "Someone excluded by name is no longer in the directory."
            return None
    try:
        rule = draft.rule_fields()
        return preview.preview(
            session,
            actor=op.actor,
            include=rule["include"],
            exclude=rule["exclude"],
            excluded_user_ids=tuple(excluded),
            group_id=group_id,
            sample_size=sample_size,
        )
    except Invalid as exc:
        problems.add(exc, builder)
        return None


def check_metadata(draft: GroupDraft, problems: Problems) -> None:
    if draft.status not in ("active", "inactive"):
        problems.fields["status"] = "Choose active or inactive."
    seen: set[str] = set()
    for index, (key, _value) in enumerate(draft.attributes):
        if not key:
            problems.fields[f"attributes[{index}]"] = "Give this attribute a name."
        elif key in seen:
            problems.fields[f"attributes[{index}]"] = f"“{key}” is already used above."
        elif len(key) > 100:
            problems.fields[f"attributes[{index}]"] = "A name has at most 100 characters."
        seen.add(key)
    if len(draft.attributes) > 100:
        problems.fields["attributes"] = "A group has at most 100 attributes."


def builder_fields(
    session: Session, op: Operator, *, without: int | None = None
) -> list[dict[str, Any]]:
    """The filter builder's fields for rules over people, with group membership last."""
    catalog = people_catalog(session, workspace_id=op.actor.workspace_id)
    result = filters.field_options(catalog)
    names = group_names(session, op)
    if without is not None:
        names.pop(ids.encode(without), None)
    if names:
        result.append(
            {
                "name": "member_of",
                "label": "Group",
                "type": "enum",
                "options": list(names),
                "option_labels": names,
                "ops": ["eq", "ne", "in", "not_in"],
                "custom": False,
                "section": "Groups",
            }
        )
    return result


def group_names(session: Session, op: Operator) -> dict[str, str]:
    """Every group of the workspace by encoded id, by name."""
    rows = session.execute(
        select(Group.id, Group.name)
        .where(Group.workspace_id == op.actor.workspace_id)
        .order_by(Group.name)
    )
    return {ids.encode(row.id): row.name for row in rows}


def rule_labels(builder: list[dict[str, Any]]) -> dict[str, str]:
    """Field labels and group names, as `rule_words` reads them."""
    labels = {f["name"]: f["label"] for f in builder}
    for spec in builder:
        labels.update(spec.get("option_labels", {}))
    return labels


def people(session: Session, op: Operator, encoded: list[str]) -> list[User]:
    """The people behind encoded ids, in that order; ids that name no one are left out."""
    wanted: list[int] = []
    for value in encoded:
        try:
            wanted.append(ids.decode(value, what="person"))
        except NotFound:
            continue
    if not wanted:
        return []
    found = {
        user.id: user
        for user in session.scalars(
            select(User).where(User.workspace_id == op.actor.workspace_id, User.id.in_(wanted))
        )
    }
    return [found[i] for i in wanted if i in found]
