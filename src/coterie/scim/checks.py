"""SCIM resource models whose per-request context checks are planned once per class.

scim2-models checks a resource against the context it is read in (RFC 7643 §7: read-only
attributes dropped from a create, required ones present, one primary per multi-valued one,
attributes returned "always" present in a response and those returned "never" absent) by
walking every field of the model on every validation and looking up each field's annotations:
for a User with its extensions, 27 fields and about 60 look-ups, three quarters of a create
body's validation (docs/performance.md, SCIM). Most fields have nothing to check. `planned`
gives the model a subclass that runs the same checks, by the same methods in the same order,
over only the fields that have one, found once per class.
"""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple, Self, TypeVar, cast

from pydantic import ValidationInfo, model_validator
from scim2_models import Context, Mutability, Required, Resource, Returned

R = TypeVar("R", bound=type[Resource[Any]])

_CREATE_OR_REPLACE = (
    Context.RESOURCE_CREATION_REQUEST,
    Context.RESOURCE_REPLACEMENT_REQUEST,
    Context.BULK_REQUEST,
)


class Checked(NamedTuple):
    """A field with something to check, and what: its mutability (read-only or write-only),
    necessity, returnability ("always" or "never"), multiplicity."""

    name: str
    mutability: bool
    required: bool
    returned: bool
    multiple: bool


def checked_fields(model: type[Resource[Any]]) -> tuple[Checked, ...]:
    """The fields of `model` that scim2-models' context checks can refuse or change, in the
    model's order: on every other field each check does nothing."""
    found = []
    for name in model.model_fields:
        checked = Checked(
            name,
            model.get_field_annotation(name, Mutability)
            in (Mutability.read_only, Mutability.write_only),
            model.get_field_annotation(name, Required) == Required.true,
            model.get_field_annotation(name, Returned) in (Returned.always, Returned.never),
            bool(model.get_field_multiplicity(name)),
        )
        if any(checked[1:]):
            found.append(checked)
    return tuple(found)


def planned(model: R) -> R:
    """`model` (same name, schemas and extensions) with its context checks planned once."""
    base: Any = model

    class Planned(base):  # type: ignore[misc]
        @model_validator(mode="after")
        def _enforce_scim_context(self, info: ValidationInfo) -> Self:
            """scim2-models' `BaseModel._enforce_scim_context`, over the checked fields."""
            context = info.context.get("scim") if info.context else None
            if not context or context == Context.DEFAULT:
                return self
            request = Context.is_request(context)
            create_or_replace = context in _CREATE_OR_REPLACE
            in_bulk = bool(info.context.get("scim_bulk")) if info.context else False
            fields_set = self.model_fields_set
            for field in _checked(type(self)):
                value = getattr(self, field.name)
                if request:
                    if field.mutability and field.name in fields_set:
                        self._check_mutability(field.name, context)
                    if (
                        field.required
                        and create_or_replace
                        and not self._is_unresolved_bulk_reference(field.name, in_bulk)
                    ):
                        self._check_necessity(field.name, value)
                elif field.returned:
                    self._check_returnability(field.name, value)
                if field.multiple and value is not None:
                    self._check_primary_uniqueness(field.name, value)
            return self

    Planned.__name__, Planned.__qualname__ = model.__name__, model.__qualname__
    Planned.__module__ = model.__module__
    return cast(R, Planned)


# Per planned class: a workspace's User model is made again when its fields change.
_CHECKED: weakref.WeakKeyDictionary[type[Any], tuple[Checked, ...]] = weakref.WeakKeyDictionary()


def _checked(model: type[Resource[Any]]) -> tuple[Checked, ...]:
    found = _CHECKED.get(model)
    if found is None:
        found = _CHECKED[model] = checked_fields(model)
    return found
