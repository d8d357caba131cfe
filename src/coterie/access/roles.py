"""Which role a route needs: the one rule every adapter (API, web UI) applies before anything else.

A route names the least role it needs in its OpenAPI extension `x-coterie-role` (see
`needs`); without one, reading needs any dashboard role and writing needs `standard`. Services
still check what depends on the record (a scope, a role change), but the role comes first, so a
forbidden caller gets 403 whatever the body it sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from coterie.actor import Actor, Role
from coterie.errors import Forbidden

ROLE_KEY = "x-coterie-role"
# A route marked so authenticates its callers itself (a member token, a SCIM token...).
OWN_AUTH = "own"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RANK = {
    Role.NONE: 0,
    Role.IDENTIFIED_ONLY: 1,
    Role.READ_ONLY: 2,
    Role.STANDARD: 3,
    Role.ADMIN: 4,
}


def needs(role: Role | str) -> dict[str, Any]:
    """`openapi_extra` for a route that needs at least `role` (or `OWN_AUTH`)."""
    return {ROLE_KEY: role.value if isinstance(role, Role) else role}


def required(extra: Mapping[str, Any] | None, method: str) -> Role | None:
    """The least role a route needs; None when the route authenticates its callers itself."""
    named = (extra or {}).get(ROLE_KEY)
    if named == OWN_AUTH:
        return None
    if named is not None:
        return Role(named)
    return Role.STANDARD if method.upper() in MUTATING else Role.IDENTIFIED_ONLY


def allows(actor: Actor, role: Role) -> bool:
    return RANK[actor.role] >= RANK[role]


def require(actor: Actor, role: Role) -> None:
    if not allows(actor, role):
        if role is Role.ADMIN:
            raise Forbidden("Only admins can do this")
        if role is Role.STANDARD:
            raise Forbidden(f"The {actor.role.value} role cannot change data")
        raise Forbidden(f"The {actor.role.value} role cannot do this; it needs {role.value}")
