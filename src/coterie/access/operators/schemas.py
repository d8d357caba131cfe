"""API shapes of operators: permissions (scope and capabilities), passwords, moves, agents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from coterie.inputs import Input

Capability = Literal["group_access", "reporting", "audio_scoring"]


class PermissionsUpdate(Input):
    group_ids: list[str] = Field(
        default_factory=list,
        max_length=200,
        description="groups (with their subgroups) in scope; empty = the whole workspace",
    )
    capabilities: list[Capability] = Field(default_factory=list, max_length=3)


class PermissionsRead(BaseModel):
    user_id: str
    role: str
    group_ids: list[str]
    group_names: list[str]
    capabilities: list[str]


class PasswordSet(Input):
    password: str = Field(min_length=8, max_length=200)


class PasswordChange(Input):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


class MoveInput(Input):
    from_group_id: str = Field(min_length=1, max_length=20)
    to_group_id: str = Field(min_length=1, max_length=20)
    transfer_records: bool = Field(
        False, description="timeline entries owned by the old group move to the new one"
    )


class MoveRead(BaseModel):
    user_id: str
    from_group_id: str
    to_group_id: str
    moved_records: int
    warning: str
