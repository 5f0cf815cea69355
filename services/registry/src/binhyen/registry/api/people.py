"""Residents: register, read, edit, move, end, erase, search (personal data)."""

from __future__ import annotations

from datetime import datetime
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
from binhyen.registry.domain.people import Person
from binhyen.registry.service import people as service
from binhyen.registry.service.residents import NewPerson

router = APIRouter(prefix="/api/v1", tags=["people"])

Channel = Literal["sms", "voice", "push", "email", "zalo"]
Language = Literal["vi", "en", "km", "lo", "zh"]


class PersonFields(BaseModel):
    """A resident's details."""

    model_config = ConfigDict(extra="forbid")

    full_name: SafeText = Field(min_length=1, max_length=120, description="e.g. 'Nguyễn Văn Hảo'.")
    birth_year: int | None = Field(None, ge=1900, le=2100, description="Year of birth.")
    phones: list[SafeText] = Field(
        default_factory=list, max_length=5, description="e.g. '0912 345 678'; stored E.164."
    )
    preferred_language: Language = Field("vi", description="Language of alerts.")
    alert_channels: list[Channel] = Field(
        default_factory=list, description="How the resident accepts alerts."
    )
    alert_consent: bool = Field(False, description="The resident consents to receive alerts.")

    def command(self) -> NewPerson:
        """As a use-case command."""
        return NewPerson(
            full_name=self.full_name,
            birth_year=self.birth_year,
            phones=list(self.phones),
            preferred_language=self.preferred_language,
            alert_channels=list(self.alert_channels),
            alert_consent=self.alert_consent,
        )


class PersonCreate(PersonFields):
    """A resident to register in an existing household."""

    household_id: SafeText = Field(max_length=64, description="The household the resident joins.")


class PersonUpdate(BaseModel):
    """Fields to change; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    full_name: SafeText | None = Field(None, min_length=1, max_length=120)
    birth_year: int | None = Field(None, ge=1900, le=2100)
    phones: list[SafeText] | None = Field(None, max_length=5)
    preferred_language: Language | None = None
    alert_channels: list[Channel] | None = None
    alert_consent: bool | None = None


class PersonMove(BaseModel):
    """Move a resident to another household."""

    model_config = ConfigDict(extra="forbid")

    household_id: SafeText = Field(max_length=64)


class PersonEnd(BaseModel):
    """End a resident's registration."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["moved_out", "deceased", "removed"]


class PersonRead(BaseModel):
    """A resident (personal data: only for roles with people:read)."""

    id: str
    unit_id: str
    household_id: str
    full_name: str
    birth_year: int | None
    phones: list[str]
    preferred_language: str
    alert_channels: list[str]
    alert_consent: bool
    consent_at: datetime | None
    status: str
    version: int

    @classmethod
    def of(cls, person: Person) -> PersonRead:
        """Build the response from the domain object."""
        return cls(
            id=person.id,
            unit_id=person.unit_id,
            household_id=person.household_id,
            full_name=person.full_name,
            birth_year=person.birth_year,
            phones=list(person.phones),
            preferred_language=person.preferred_language,
            alert_channels=list(person.alert_channels),
            alert_consent=person.alert_consent,
            consent_at=person.consent_at,
            status=person.status,
            version=person.version,
        )


class PersonPage(BaseModel):
    """A page of residents; pass ``next_after`` as ``after`` for the next page."""

    items: list[PersonRead]
    next_after: str | None


def _answer(response: Response, person: Person) -> PersonRead:
    set_etag(response, person.version)
    return PersonRead.of(person)


@router.post(
    "/people",
    status_code=status.HTTP_201_CREATED,
    response_model=PersonRead,
    responses=PROBLEMS,
    summary="Register a resident in a household",
)
async def create_person(
    body: PersonCreate,
    response: Response,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> PersonRead:
    """Register a resident; phones are validated and stored E.164."""
    person, created = await service.register_person(
        body.command(),
        household_id=body.household_id,
        principal=principal,
        ctx=ctx,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/people/{person.id}"
    return _answer(response, person)


@router.get("/people", response_model=PersonPage, responses=PROBLEMS, summary="Search residents")
async def list_people(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[SafeText | None, Query(max_length=64)] = None,
    household_id: Annotated[SafeText | None, Query(max_length=64)] = None,
    q: Annotated[
        SafeText | None, Query(max_length=100, description="Name; accents optional.")
    ] = None,
    phone: Annotated[SafeText | None, Query(max_length=30)] = None,
    status_: Annotated[
        Literal["active", "moved_out", "deceased", "removed"] | None, Query(alias="status")
    ] = "active",
    after: Annotated[SafeText | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PersonPage:
    """Residents in the caller's scope; "Nguyen Van Hao" finds "Nguyễn Văn Hảo"."""
    found = await service.list_people(
        principal=principal,
        ctx=ctx,
        unit_id=unit_id,
        household_id=household_id,
        text=q,
        phone=phone,
        status=status_,
        after=after,
        limit=limit,
    )
    return PersonPage(
        items=[PersonRead.of(p) for p in found],
        next_after=found[-1].id if len(found) == limit else None,
    )


@router.get("/people/{person_id}", response_model=PersonRead, responses=PROBLEMS)
async def read_person(
    person_id: str, response: Response, ctx: ContextDep, principal: CurrentPrincipal
) -> PersonRead:
    """One resident."""
    return _answer(response, await service.get_person(person_id, principal=principal, ctx=ctx))


@router.patch("/people/{person_id}", response_model=PersonRead, responses=PROBLEMS)
async def update_person(
    person_id: str,
    body: PersonUpdate,
    response: Response,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> PersonRead:
    """Change a resident's details (consent changes are time-stamped)."""
    person = await service.update_person(
        person_id,
        body.model_dump(exclude_unset=True),
        expected_version=expected_version(if_match),
        principal=principal,
        ctx=ctx,
    )
    return _answer(response, person)


@router.post("/people/{person_id}/move", response_model=PersonRead, responses=PROBLEMS)
async def move_person(
    person_id: str,
    body: PersonMove,
    response: Response,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> PersonRead:
    """Move a resident to another household."""
    person = await service.move_person(
        person_id,
        household_id=body.household_id,
        expected_version=expected_version(if_match),
        principal=principal,
        ctx=ctx,
    )
    return _answer(response, person)


@router.post("/people/{person_id}/end", response_model=PersonRead, responses=PROBLEMS)
async def end_person(
    person_id: str,
    body: PersonEnd,
    response: Response,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> PersonRead:
    """The resident moved out, died or is removed from the register."""
    person = await service.end_person(
        person_id,
        status=body.status,
        expected_version=expected_version(if_match),
        principal=principal,
        ctx=ctx,
    )
    return _answer(response, person)


@router.post("/people/{person_id}/erase", response_model=PersonRead, responses=PROBLEMS)
async def erase_person(
    person_id: str, response: Response, ctx: ContextDep, principal: CurrentPrincipal
) -> PersonRead:
    """Erase the personal data of a former resident (Decree 13/2023/ND-CP)."""
    return _answer(response, await service.erase_person(person_id, principal=principal, ctx=ctx))
