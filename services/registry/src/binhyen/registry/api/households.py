"""Households: register with residents, read, edit, move, pledge, dissolve, search."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.text import SafeText
from binhyen.registry.api.common import (
    PROBLEMS,
    ContextDep,
    IdempotencyKey,
    IfMatch,
    expected_version,
    set_etag,
)
from binhyen.registry.api.people import PersonFields, PersonRead
from binhyen.registry.domain.households import COMMITMENTS, Household
from binhyen.registry.domain.people import Person
from binhyen.registry.service import households as service

router = APIRouter(prefix="/api/v1", tags=["households"])


class HouseholdCreate(BaseModel):
    """A new household of a hamlet, with its residents."""

    model_config = ConfigDict(extra="forbid")

    unit_id: SafeText = Field(max_length=64, description="The hamlet (thôn, xóm, tổ dân phố).")
    address: SafeText = Field(
        min_length=1, max_length=300, description="e.g. 'Xóm 3, thôn Tân Thành'."
    )
    registration_code: SafeText | None = Field(
        None, max_length=40, description="Household registration number, if known."
    )
    members: list[PersonFields] = Field(default_factory=list, max_length=40)
    head_index: int | None = Field(
        None, ge=0, description="Which member is head of household (default: the first)."
    )
    registered_on: date | None = Field(
        None,
        description=(
            "The day the household was registered in the hamlet, for one that lived there "
            "before it was entered here (default: today, Vietnam time; not after today)."
        ),
    )


class HouseholdUpdate(BaseModel):
    """Fields to change; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    address: SafeText | None = Field(None, min_length=1, max_length=300)
    registration_code: SafeText | None = Field(None, max_length=40)
    head_person_id: SafeText | None = Field(None, max_length=64)


class HouseholdMove(BaseModel):
    """Move a household to another hamlet."""

    model_config = ConfigDict(extra="forbid")

    unit_id: SafeText = Field(max_length=64)


class PledgeWrite(BaseModel):
    """A household's signed pledge (bản cam kết) for a year."""

    model_config = ConfigDict(extra="forbid")

    signed_on: date = Field(description="Date the household signed.")
    commitments: list[SafeText] = Field(
        default_factory=lambda: ["no_drugs", "no_gambling", "no_traffic_violations"],
        max_length=len(COMMITMENTS),
        description="Default: the Three No's (Ba Không). One of: " + ", ".join(COMMITMENTS),
    )


class PledgeRead(BaseModel):
    """A recorded pledge."""

    year: int
    signed_on: date
    collected_by: str
    commitments: list[str]
    ba_khong: bool


class HouseholdRead(BaseModel):
    """A household; members are listed for roles that may read residents."""

    id: str
    unit_id: str
    address: str
    registration_code: str | None
    head_person_id: str | None
    status: str
    pledges: list[PledgeRead]
    registered_on: date | None = Field(None, description="Day registered (None: not recorded).")
    dissolved_on: date | None = Field(None, description="Day dissolved (None while active).")
    version: int
    members: list[PersonRead] | None = None

    @classmethod
    def of(cls, household: Household, members: list[Person] | None = None) -> HouseholdRead:
        """Build the response from the domain objects."""
        return cls(
            id=household.id,
            unit_id=household.unit_id,
            address=household.address,
            registration_code=household.registration_code,
            head_person_id=household.head_person_id,
            status=household.status,
            pledges=[
                PledgeRead(
                    year=p.year,
                    signed_on=p.signed_on,
                    collected_by=p.collected_by,
                    commitments=list(p.commitments),
                    ba_khong=p.ba_khong,
                )
                for p in household.pledges
            ],
            registered_on=household.registered_on,
            dissolved_on=household.dissolved_on,
            version=household.version,
            members=None if members is None else [PersonRead.of(m) for m in members],
        )


class HouseholdPage(BaseModel):
    """A page of households; pass ``next_after`` as ``after`` for the next page."""

    items: list[HouseholdRead]
    next_after: str | None


def _answer(
    response: Response, household: Household, members: list[Person] | None = None
) -> HouseholdRead:
    set_etag(response, household.version)
    return HouseholdRead.of(household, members)


@router.post(
    "/households",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdRead,
    responses=PROBLEMS,
    summary="Register a household with its residents",
)
async def create_household(
    body: HouseholdCreate,
    response: Response,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> HouseholdRead:
    """Register a household; every resident is validated before anything is written."""
    household, created = await service.register_household(
        service.RegisterHousehold(
            unit_id=body.unit_id,
            address=body.address,
            registration_code=body.registration_code,
            members=[m.command() for m in body.members],
            head_index=body.head_index,
            idempotency_key=idempotency_key,
            registered_on=body.registered_on,
        ),
        principal=principal,
        ctx=ctx,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/households/{household.id}"
    found, members = await service.get_household(household.id, principal=principal, ctx=ctx)
    return _answer(response, found, members)


@router.get("/households", response_model=HouseholdPage, responses=PROBLEMS)
async def list_households(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[
        SafeText | None, Query(description="A unit; its whole subtree is searched.")
    ] = None,
    q: Annotated[
        SafeText | None, Query(max_length=100, description="Address; accents optional.")
    ] = None,
    status_: Annotated[Literal["active", "dissolved"] | None, Query(alias="status")] = "active",
    pledged_in: Annotated[
        int | None, Query(description="Only households pledged that year.")
    ] = None,
    after: Annotated[SafeText | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> HouseholdPage:
    """Households in the caller's scope."""
    found = await service.list_households(
        principal=principal,
        ctx=ctx,
        unit_id=unit_id,
        text=q,
        status=status_,
        pledged_in=pledged_in,
        after=after,
        limit=limit,
    )
    return HouseholdPage(
        items=[HouseholdRead.of(h) for h in found],
        next_after=found[-1].id if len(found) == limit else None,
    )


@router.get("/households/{household_id}", response_model=HouseholdRead, responses=PROBLEMS)
async def read_household(
    household_id: str, response: Response, ctx: ContextDep, principal: CurrentPrincipal
) -> HouseholdRead:
    """One household, with its members if the caller may read residents."""
    household, members = await service.get_household(household_id, principal=principal, ctx=ctx)
    return _answer(response, household, members)


@router.patch("/households/{household_id}", response_model=HouseholdRead, responses=PROBLEMS)
async def update_household(
    household_id: str,
    body: HouseholdUpdate,
    response: Response,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> HouseholdRead:
    """Change the address, registration code or head of household."""
    household = await service.update_household(
        household_id,
        address=body.address,
        registration_code=body.registration_code,
        head_person_id=body.head_person_id,
        expected_version=expected_version(if_match),
        principal=principal,
        ctx=ctx,
    )
    return _answer(response, household)


@router.post("/households/{household_id}/move", response_model=HouseholdRead, responses=PROBLEMS)
async def move_household(
    household_id: str,
    body: HouseholdMove,
    response: Response,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> HouseholdRead:
    """Move a household and its residents to another hamlet."""
    household = await service.move_household(
        household_id,
        unit_id=body.unit_id,
        expected_version=expected_version(if_match),
        principal=principal,
        ctx=ctx,
    )
    return _answer(response, household)


@router.post(
    "/households/{household_id}/dissolve", response_model=HouseholdRead, responses=PROBLEMS
)
async def dissolve_household(
    household_id: str,
    response: Response,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> HouseholdRead:
    """End a household nobody lives in any more."""
    household = await service.dissolve_household(
        household_id, expected_version=expected_version(if_match), principal=principal, ctx=ctx
    )
    return _answer(response, household)


@router.put(
    "/households/{household_id}/pledges/{year}", response_model=HouseholdRead, responses=PROBLEMS
)
async def put_pledge(
    household_id: str,
    year: int,
    body: PledgeWrite,
    response: Response,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> HouseholdRead:
    """Record the household's pledge for a year; you are recorded as who collected it."""
    household = await service.record_pledge(
        household_id,
        year=year,
        signed_on=body.signed_on,
        commitments=list(body.commitments),
        expected_version=expected_version(if_match),
        principal=principal,
        ctx=ctx,
    )
    return _answer(response, household)
