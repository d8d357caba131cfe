"""Team reports over HTTP (`reporting` capability): members and resources per group, who can
use what; each as JSON and as CSV."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from coterie import ids
from coterie.access import reports, roles
from coterie.actor import Role
from coterie.api.deps import ActorDep, SessionDep
from coterie.api.users import csv_response

router = APIRouter(prefix="/reports", tags=["reports"])
READER = roles.needs(Role.READ_ONLY)


class GroupReportRow(BaseModel):
    group_id: str
    name: str
    path: str = Field(description="the group's ancestors and itself, 'EMEA > Sales'")
    level: int
    members: int = Field(description="people in the group itself")
    members_with_subgroups: int = Field(description="distinct people in it and its subgroups")
    subgroups: int
    bots: int
    personas: int
    other_resources: int
    resources: list[str] = Field(description="what the group holds directly, 'Closer (bot)'")


class ResourceReportRow(BaseModel):
    resource_id: str
    kind: str
    name: str
    features: list[str]
    groups: list[str] = Field(description="the groups holding it directly")
    people: int = Field(description="distinct active people who may use it")


@router.get("/groups", response_model=list[GroupReportRow], openapi_extra=READER)
def groups_report(session: SessionDep, actor: ActorDep) -> list[GroupReportRow]:
    """Every group in the caller's scope, depth-first: members, subgroups and resources."""
    return [
        GroupReportRow(
            group_id=ids.encode(row.id),
            **{k: v for k, v in row._asdict().items() if k != "id"},
        )
        for row in reports.groups_report(session, actor=actor)
    ]


@router.get("/groups.csv", openapi_extra=READER)
def groups_csv(session: SessionDep, actor: ActorDep) -> StreamingResponse:
    return csv_response(reports.groups_csv(session, actor=actor), filename="groups-report.csv")


@router.get("/resources", response_model=list[ResourceReportRow], openapi_extra=READER)
def resources_report(session: SessionDep, actor: ActorDep) -> list[ResourceReportRow]:
    """Every resource: the groups holding it and how many active people may use it."""
    return [
        ResourceReportRow(
            resource_id=ids.encode(row.id),
            **{k: v for k, v in row._asdict().items() if k != "id"},
        )
        for row in reports.resources_report(session, actor=actor)
    ]


@router.get("/resources.csv", openapi_extra=READER)
def resources_csv(session: SessionDep, actor: ActorDep) -> StreamingResponse:
    chunks = reports.resources_csv(session, actor=actor)
    return csv_response(chunks, filename="resources-report.csv")


@router.get("/access.csv", openapi_extra=READER)
def access_csv(session: SessionDep, actor: ActorDep) -> StreamingResponse:
    """Who can use what: a row per active person, resource and group that gives it."""
    return csv_response(reports.access_csv(session, actor=actor), filename="access-report.csv")
