"""Who is making a change: every writing service takes one, for permissions and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    NONE = "none"
    IDENTIFIED_ONLY = "identified_only"
    READ_ONLY = "read_only"
    STANDARD = "standard"
    ADMIN = "admin"


class Origin(StrEnum):
    API = "api"
    WEB = "web"
    CLI = "cli"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    workspace_id: int
    role: Role
    label: str
    origin: Origin
    user_id: int | None = None  # the signed-in person, when there is one
    token_id: int | None = None  # the API token, when that is how the call came
    # The groups (subgroups included) an operator may see and manage; None = the whole workspace.
    scope: frozenset[int] | None = None
    # Feature flags of the operator (`coterie.access.roles.CAPABILITIES`); admins have them all.
    capabilities: frozenset[str] = frozenset()
    # An identified-only operator's people: the members of the groups assigned to them (their
    # scope). Besides themselves, the only people they may see.
    assigned: frozenset[int] = frozenset()

    @property
    def can_write(self) -> bool:
        return self.role in (Role.STANDARD, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def sees_group(self, group_id: int) -> bool:
        return self.scope is None or group_id in self.scope

    def sees_own(self, user_id: int) -> bool:
        """For an identified-only operator: themselves or someone assigned to them."""
        return user_id == self.user_id or user_id in self.assigned

    @property
    def own_people(self) -> frozenset[int]:
        own = {self.user_id} if self.user_id is not None else set()
        return self.assigned | own

    def can(self, capability: str) -> bool:
        return self.is_admin or capability in self.capabilities


def system(workspace_id: int, label: str = "system", origin: Origin = Origin.SYSTEM) -> Actor:
    return Actor(workspace_id=workspace_id, role=Role.ADMIN, label=label, origin=origin)
