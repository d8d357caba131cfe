"""SCIM `filter=` and `sortBy=` through Coterie's rule engine.

The filter text is parsed with scim2-models' grammar, its attribute paths are mapped to rule
fields (a catalog of SCIM names over Coterie's columns), and the tree compiles to SQL like every
other rule. An attribute Coterie cannot filter on is a 400 `invalidFilter`, never "match all".
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    bindparam,
    case,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access.provisioning import ScimGroup, ScimUser
from coterie.db import utcnow
from coterie.directory.models import Field, User
from coterie.errors import CoterieError, Invalid
from coterie.groups.models import Group
from coterie.rules import FieldCatalog, FieldSpec, FieldType, Operator, parse_tree, to_sql

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
COTERIE_USER = "urn:coterie:params:scim:schemas:extension:workspace:2.0:User"

_OPS = {
    CompareOperator.eq: Operator.EQ,
    CompareOperator.ne: Operator.NE,
    CompareOperator.co: Operator.CONTAINS,
    CompareOperator.sw: Operator.STARTS_WITH,
    CompareOperator.ew: Operator.ENDS_WITH,
    CompareOperator.gt: Operator.GT,
    CompareOperator.ge: Operator.GTE,
    CompareOperator.lt: Operator.LT,
    CompareOperator.le: Operator.LTE,
}

_U = User.__table__.c
_G = Group.__table__.c


def _profile(*columns: Any) -> Any:
    return (
        select(*columns)
        .where(ScimUser.workspace_id == _U.workspace_id, ScimUser.user_id == _U.id)
        .correlate(User.__table__)
    )


def user_name_column() -> ColumnElement[Any]:
    """A person's SCIM userName: the one SCIM gave, else their email (else their id, which SQL
    cannot spell: such people match `userName` filters only through `user_name_equals`)."""
    return func.coalesce(_profile(ScimUser.user_name).scalar_subquery(), _U.email)


_USER_NAME_EQ = re.compile(r'^\s*userName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


def is_user_name_equals(text: str) -> bool:
    return _USER_NAME_EQ.match(text) is not None


def user_name_params(text: str) -> dict[str, Any] | None:
    """The parameters of `user_name_lookup` for a `userName eq "..."` filter (`id` is None when
    the name is no person's id), or None for any other filter."""
    matched = _USER_NAME_EQ.match(text)
    if matched is None:
        return None
    value = json.loads(f'"{matched.group(1)}"')
    try:
        person = ids.decode(value, what="User")
    except CoterieError:  # not an id: nobody is named by it
        person = None
    return {"key": value.casefold(), "email": value.lower(), "id": person}


def user_name_equals(session: Session, text: str, *, workspace_id: int) -> list[int] | None:
    """`userName eq "..."`, the lookup every identity provider makes before it creates someone,
    on indexes: the SCIM name, else the email of people SCIM never named, else their id. The ids
    of the people it names (each at most once), or None for any other filter (the rule engine
    compiles those)."""
    params = user_name_params(text)
    if params is None:
        return None
    lookup = _user_name_lookup(params["id"] is not None)
    return list(session.scalars(lookup, {"ws": workspace_id, **params}))


@cache
def _user_name_lookup(by_id: bool) -> Select[tuple[int]]:
    return user_name_lookup(by_id, bindparam("ws"))


def user_name_lookup(by_id: bool, ws: ColumnElement[int]) -> Select[tuple[int]]:
    """The ids `userName eq` names in workspace `ws` (a bound parameter, or the workspace of
    the request's token: `scim.reads`), with the bound parameters `key`, `email` and `id` of
    `user_name_params` (`id` only `by_id`). Each branch is an index lookup; the few ids they
    find are then read by primary key (an OR of the branches, or an IN over their union, made
    SQLite walk the workspace in sort order)."""
    named = select(ScimUser.user_id).where(
        ScimUser.workspace_id == ws, ScimUser.user_name_key == bindparam("key")
    )
    unnamed = ~_profile(literal(1)).exists()
    mine = _U.workspace_id == ws
    branches = [named, select(_U.id).where(mine, _U.email == bindparam("email"), unnamed)]
    if by_id:
        person = _U.id == bindparam("id")
        branches.append(select(_U.id).where(mine, person, _U.email.is_(None), unnamed))
    own = (User.__table__, ScimUser.__table__)  # never the enclosing statement's people
    return union_all(*(b.correlate_except(*own) for b in branches))  # type: ignore[return-value]


def user_ids_in(found: list[int]) -> ColumnElement[bool]:
    return _U.id.in_(found)


def group_external_id_column() -> ColumnElement[Any]:
    return (
        select(ScimGroup.external_id)
        .where(ScimGroup.workspace_id == _G.workspace_id, ScimGroup.group_id == _G.id)
        .correlate(Group.__table__)
        .scalar_subquery()
    )


def _lower(value: str) -> str:
    return value.lower()


def user_catalog(custom: Sequence[Field]) -> FieldCatalog:
    """The SCIM attribute paths a User filter may name, each over a Coterie column."""
    active = case((_U.status == "active", True), else_=False)
    specs = [
        FieldSpec("userName", FieldType.TEXT, user_name_column()),
        FieldSpec("displayName", FieldType.TEXT, _U.full_name),
        FieldSpec("name.formatted", FieldType.TEXT, _U.full_name),
        FieldSpec("name.givenName", FieldType.TEXT, _U.first_name),
        FieldSpec("name.familyName", FieldType.TEXT, _U.last_name),
        FieldSpec("emails", FieldType.TEXT, _U.email, normalize=_lower),
        FieldSpec("emails.value", FieldType.TEXT, _U.email, normalize=_lower),
        FieldSpec("phoneNumbers", FieldType.TEXT, _U.phone),
        FieldSpec("phoneNumbers.value", FieldType.TEXT, _U.phone),
        FieldSpec("externalId", FieldType.TEXT, _U.external_id),
        FieldSpec("active", FieldType.BOOLEAN, active),
        FieldSpec("meta.created", FieldType.DATETIME, _U.created_at),
        FieldSpec("meta.lastModified", FieldType.DATETIME, _U.updated_at),
    ]
    for field in custom:
        kind = FieldType(field.type)
        options = tuple(field.options) if kind in (FieldType.ENUM, FieldType.MULTI_ENUM) else ()
        specs.append(
            FieldSpec(
                f"{COTERIE_USER}:{field.key}",
                kind,
                _U.attributes,
                options,
                json_key=field.key,
            )
        )
    return FieldCatalog(specs)


def group_catalog() -> FieldCatalog:
    return FieldCatalog(
        [
            FieldSpec("displayName", FieldType.TEXT, _G.name),
            FieldSpec("externalId", FieldType.TEXT, group_external_id_column()),
            FieldSpec("meta.created", FieldType.DATETIME, _G.created_at),
            FieldSpec("meta.lastModified", FieldType.DATETIME, _G.updated_at),
        ]
    )


def where(session: Session, text: str, catalog: FieldCatalog, *, core: str) -> ColumnElement[bool]:
    """The SQL condition of a SCIM filter; `Invalid` (400 invalidFilter) for what cannot be."""
    try:
        ast = ScimFilter(text).ast
    except InvalidFilterException as exc:
        raise Invalid(f"invalid filter: {exc.detail}", field="filter") from None
    tree = parse_tree(_tree(ast, catalog, core=core, prefix=""), at="filter")
    dialect = session.get_bind().dialect.name
    return to_sql(tree, catalog, dialect=dialect, now=utcnow())


def _tree(node: FilterNode, catalog: FieldCatalog, *, core: str, prefix: str) -> dict[str, Any]:
    if isinstance(node, LogicalExpr):
        key = "all" if node.op is LogicalOperator.and_ else "any"
        return {key: [_tree(t, catalog, core=core, prefix=prefix) for t in node.terms]}
    if isinstance(node, Not):
        return {"not": _tree(node.expr, catalog, core=core, prefix=prefix)}
    if isinstance(node, ValuePath):
        inner = _name(node.attr_path, core=core)
        return _tree(node.val_filter, catalog, core=core, prefix=f"{inner}.")
    if isinstance(node, Present):
        return {"field": _field(node.attr_path, catalog, core, prefix), "op": Operator.IS_SET}
    if isinstance(node, Comparison):
        field = _field(node.attr_path, catalog, core, prefix)
        if node.value is None and node.op in (CompareOperator.eq, CompareOperator.ne):
            op = Operator.IS_NOT_SET if node.op is CompareOperator.eq else Operator.IS_SET
            return {"field": field, "op": op}
        return {"field": field, "op": _OPS[node.op], "value": node.value}
    raise Invalid(f"unsupported filter expression: {node}", field="filter")


def _name(path: AttrPath, *, core: str) -> str:
    name = path.attr + (f".{path.sub_attr}" if path.sub_attr else "")
    uri = str(path.uri) if path.uri else None
    if uri and uri.casefold() != core.casefold():
        return f"{uri}:{name}"
    return name


def _field(path: AttrPath, catalog: FieldCatalog, core: str, prefix: str) -> str:
    name = prefix + _name(path, core=core)
    if name not in catalog:
        raise Invalid(f"cannot filter on {name!r}", field="filter")
    return name


def sort_column(sort_by: str, *, resource: str, custom: Sequence[Field]) -> ColumnElement[Any]:
    """The column `sortBy` names; `Invalid` for an attribute that cannot be sorted on.

    Text sorts case-insensitively (lower()), so SQLite and PostgreSQL agree."""
    name = sort_by.removeprefix(CORE_USER + ":").removeprefix(CORE_GROUP + ":").casefold()
    column = _sort_columns(resource).get(name)
    if column is None:
        raise Invalid(f"cannot sort by {sort_by!r}", field="sortBy")
    return column


@cache
def _sort_columns(resource: str) -> dict[str, ColumnElement[Any]]:
    """What each resource sorts by, built once."""
    if resource == "Group":
        return {
            "displayname": func.lower(_G.name),
            "externalid": group_external_id_column(),
            "meta.created": _G.created_at,
            "meta.lastmodified": _G.updated_at,
            "id": _G.id,
        }
    return {
        "username": func.lower(user_name_column().cast(String)),
        "displayname": func.lower(_U.full_name),
        "name.formatted": func.lower(_U.full_name),
        "name.givenname": func.lower(_U.first_name),
        "name.familyname": func.lower(_U.last_name),
        "emails": _U.email,
        "emails.value": _U.email,
        "externalid": _U.external_id,
        "meta.created": _U.created_at,
        "meta.lastmodified": _U.updated_at,
        "id": _U.id,
    }
