"""Yearly enrolment of hamlets in the programme."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.text import SafeMultiline, SafeText
from binhyen.registry.api.common import PROBLEMS, ContextDep, IfMatch, expected_version, set_etag
from binhyen.registry.domain.enrolments import Enrolment
from binhyen.registry.service import enrolments as service

router = APIRouter(prefix="/api/v1", tags=["enrolments"])


class EnrolmentCreate(BaseModel):
    """The Party cell's resolution and the hamlet's registration for a year."""

    model_config = ConfigDict(extra="forbid")

    resolution_date: date = Field(description="Date the Party cell adopted its resolution.")
    registered_on: date = Field(
        description="Date the hamlet registered to strive for the standard."
    )
    note: SafeMultiline = Field("", max_length=1000)


class EnrolmentRead(BaseModel):
    """A hamlet's enrolment for a year."""

    id: str
    unit_id: str
    year: int
    resolution_date: date
    registered_on: date
    resolution_in_first_quarter: bool = Field(
        description="Criterion 1 asks for the resolution in the first quarter."
    )
    note: str
    status: str
    version: int

    @classmethod
    def of(cls, e: Enrolment) -> EnrolmentRead:
        """Build the response from the domain object."""
        return cls(
            id=e.id,
            unit_id=e.unit_id,
            year=e.year,
            resolution_date=e.resolution_date,
            registered_on=e.registered_on,
            resolution_in_first_quarter=e.resolution_in_first_quarter,
            note=e.note,
            status=e.status,
            version=e.version,
        )


@router.put(
    "/units/{unit_id}/enrolments/{year}",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrolmentRead,
    responses=PROBLEMS,
    summary="Enrol a hamlet for a year",
)
async def enrol(
    unit_id: str,
    year: int,
    body: EnrolmentCreate,
    response: Response,
    ctx: ContextDep,
    principal: CurrentPrincipal,
) -> EnrolmentRead:
    """Enrol a hamlet for a year (once per hamlet and year)."""
    enrolment = await service.enrol(
        unit_id,
        year=year,
        resolution_date=body.resolution_date,
        registered_on=body.registered_on,
        note=body.note,
        principal=principal,
        ctx=ctx,
    )
    set_etag(response, enrolment.version)
    return EnrolmentRead.of(enrolment)


@router.get("/units/{unit_id}/enrolments/{year}", response_model=EnrolmentRead, responses=PROBLEMS)
async def read_enrolment(
    unit_id: str, year: int, response: Response, ctx: ContextDep, principal: CurrentPrincipal
) -> EnrolmentRead:
    """A hamlet's enrolment for a year."""
    enrolment = await service.get_enrolment(unit_id, year=year, principal=principal, ctx=ctx)
    set_etag(response, enrolment.version)
    return EnrolmentRead.of(enrolment)


@router.post(
    "/units/{unit_id}/enrolments/{year}/withdraw",
    response_model=EnrolmentRead,
    responses=PROBLEMS,
)
async def withdraw(
    unit_id: str,
    year: int,
    response: Response,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> EnrolmentRead:
    """Withdraw a hamlet's enrolment for a year."""
    enrolment = await service.withdraw(
        unit_id,
        year=year,
        expected_version=expected_version(if_match),
        principal=principal,
        ctx=ctx,
    )
    set_etag(response, enrolment.version)
    return EnrolmentRead.of(enrolment)


@router.get("/enrolments", response_model=list[EnrolmentRead], responses=PROBLEMS)
async def list_enrolments(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[
        SafeText | None, Query(description="A unit; its subtree is searched.")
    ] = None,
    year: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[EnrolmentRead]:
    """Enrolments in the caller's scope."""
    found = await service.list_enrolments(
        principal=principal, ctx=ctx, unit_id=unit_id, year=year, limit=limit
    )
    return [EnrolmentRead.of(e) for e in found]
