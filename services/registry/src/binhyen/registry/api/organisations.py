"""HTTP API for organisations and teams: members, contact roster, duty roster."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from binhyen.contracts.events.organisations import OrganisationKind
from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.http import IsoDate, IsoDateTime
from binhyen.kit.text import SafeMultiline, SafeText, nfc
from binhyen.registry.api.common import (
    PROBLEMS,
    ContextDep,
    IdempotencyKey,
    Offset,
    StoresDep,
    expected_version,
    set_etag,
)
from binhyen.registry.domain.organisations import Member, Organisation, RosterEntry, Shift
from binhyen.registry.service import organisations as service
from binhyen.registry.store.people import PersonSummary

router = APIRouter(prefix="/api/v1", tags=["organisations"])

Role = Literal["leader", "deputy", "secretary", "member"]
# Updates here require If-Match (428 without one), hence their own description.
IfMatch = Annotated[
    str | None,
    Header(description='The version you read, as its ETag: "3". Required on updates.'),
]


def _clean_name(value: str) -> str:
    value = nfc(value)
    if not value:
        raise ValueError("name must not be blank")
    return value


class OrganisationCreate(BaseModel):
    """A new organisation or team of a hamlet (or commune)."""

    model_config = ConfigDict(extra="forbid")

    unit_id: SafeText = Field(
        max_length=64, description="Hamlet, or commune for commune-level bodies."
    )
    kind: OrganisationKind = Field(description="Kind of body, e.g. people_security, youth_union.")
    name: SafeText = Field(
        min_length=1, max_length=200, description="e.g. 'Tổ an ninh thôn Tân Thành'."
    )
    valid_from: date = Field(
        default_factory=service.today_vn, description="Date founded (default: today)."
    )

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return _clean_name(value)


class OrganisationUpdate(BaseModel):
    """Changes to an organisation: rename, or disband (status disbanded, valid_to)."""

    model_config = ConfigDict(extra="forbid")

    name: SafeText | None = Field(None, min_length=1, max_length=200, description="New name.")
    status: Literal["active", "disbanded"] | None = Field(None, description="disbanded ends it.")
    valid_to: date | None = Field(None, description="Date disbanded (default: today).")

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        return _clean_name(value) if value is not None else None


class MemberCreate(BaseModel):
    """A resident joining the body."""

    model_config = ConfigDict(extra="forbid")

    person_id: SafeText = Field(max_length=64, description="Id of a resident of the unit or below.")
    role: Role = Field("member", description="leader (head), deputy, secretary or member.")
    valid_from: date = Field(default_factory=service.today_vn, description="First day.")
    valid_to: date | None = Field(None, description="Last day, if known.")
    contact_order: int | None = Field(
        None, ge=1, le=999, description="Place in the contact roster: 1 = call first."
    )


class MemberUpdate(BaseModel):
    """Changes to a membership; send null to clear valid_to or contact_order."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = Field(None, description="New role.")
    valid_to: date | None = Field(None, description="Last day of the membership.")
    contact_order: int | None = Field(None, ge=1, le=999, description="1 = call first.")


class MemberRead(BaseModel):
    """A membership."""

    id: str
    person_id: str
    full_name: str | None = Field(description="Resident's name; null if no longer registered.")
    role: str
    valid_from: date
    valid_to: date | None
    contact_order: int | None
    active: bool = Field(description="The membership holds today.")

    @classmethod
    def of(cls, m: Member, names: dict[str, PersonSummary], today: date) -> MemberRead:
        """Build the response from a domain membership."""
        person = names.get(m.person_id)
        return cls(
            id=m.id,
            person_id=m.person_id,
            full_name=person.full_name if person else None,
            role=m.role,
            valid_from=m.valid_from,
            valid_to=m.valid_to,
            contact_order=m.contact_order,
            active=m.active_on(today),
        )


class OrganisationRead(BaseModel):
    """An organisation or team with its members."""

    id: str
    unit_id: str
    unit_path: list[str]
    category: Literal["organisation", "team"]
    kind: str
    name: str
    status: str
    valid_from: date
    valid_to: date | None
    member_count: int = Field(description="Members active today.")
    members: list[MemberRead] | None = Field(
        None, description="Every membership (omitted in lists)."
    )
    version: int

    @classmethod
    def of(
        cls, org: Organisation, names: dict[str, PersonSummary] | None = None
    ) -> OrganisationRead:
        """Build the response; members only when their names were looked up."""
        today = service.today_vn()
        return cls(
            id=org.id,
            unit_id=org.unit_id,
            unit_path=list(org.unit_path),
            category="team" if org.category == "team" else "organisation",
            kind=org.kind,
            name=org.name,
            status=org.status,
            valid_from=org.valid_from,
            valid_to=org.valid_to,
            member_count=len({m.person_id for m in org.active_members(today)}),
            members=[MemberRead.of(m, names, today) for m in org.members]
            if names is not None
            else None,
            version=org.version,
        )


class OrganisationList(BaseModel):
    """A page of organisations and teams."""

    items: list[OrganisationRead]
    total: int


class ShiftCreate(BaseModel):
    """Members of a team on duty for a period."""

    model_config = ConfigDict(extra="forbid")

    starts_at: AwareDatetime = Field(
        description="Start, with timezone, e.g. 2025-09-09T18:00+07:00."
    )
    ends_at: AwareDatetime = Field(description="End (excluded), with timezone.")
    person_ids: list[SafeText] = Field(min_length=1, max_length=50, description="Members on duty.")
    note: SafeMultiline | None = Field(None, max_length=500, description="e.g. 'tuần tra khu chợ'.")


class ShiftRead(BaseModel):
    """A duty shift (times in UTC)."""

    id: str
    starts_at: datetime
    ends_at: datetime
    person_ids: list[str]
    note: str | None

    @classmethod
    def of(cls, s: Shift) -> ShiftRead:
        """Build the response from a domain shift."""
        return cls(
            id=s.id,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            person_ids=list(s.person_ids),
            note=s.note,
        )


class ShiftList(BaseModel):
    """Shifts of a team's duty roster."""

    team_id: str
    version: int
    items: list[ShiftRead]


class DutyPersonRead(BaseModel):
    """A person on duty (or to call, in the fallback)."""

    person_id: str
    full_name: str | None
    role: str | None
    shift_id: str | None = Field(description="The covering shift; null in the fallback.")


class OnDutyRead(BaseModel):
    """Who is on duty at an instant."""

    team_id: str
    at: datetime
    source: Literal["shifts", "contact_order"] = Field(
        description="shifts: a shift covers the instant; contact_order: none does (fallback)."
    )
    detail: str
    on_duty: list[DutyPersonRead]


class ContactRead(BaseModel):
    """One line of a contact roster."""

    position: int = Field(description="1 = call first.")
    person_id: str
    full_name: str | None
    role: str
    organisation_id: str
    organisation_kind: str
    organisation_name: str
    contact_order: int | None = Field(description="Explicit contact order, when set.")


class ContactRosterRead(BaseModel):
    """Whom to call first in a unit (ids and names only; phone numbers live with people)."""

    unit_id: str
    date: date
    rule: str
    entries: list[ContactRead]


ROSTER_RULE = (
    "Members with an explicit contact_order first (1, 2, …); then leaders, deputies, "
    "secretaries, members; within a role people_security, self_management, "
    "youth_shock_troop, gong_point, mediation, then the organisations; then by name. "
    "Each person once, at their best-ranked membership."
)


async def _read(org: Organisation, stores: StoresDep) -> OrganisationRead:
    names = await service.people(stores, (m.person_id for m in org.members))
    return OrganisationRead.of(org, names)


@router.post(
    "/organisations",
    status_code=status.HTTP_201_CREATED,
    response_model=OrganisationRead,
    responses=PROBLEMS,
    summary="Register an organisation or team",
)
async def create_organisation(
    body: OrganisationCreate,
    response: Response,
    stores: StoresDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> OrganisationRead:
    """Register an organisation or team of a unit."""
    org, created = await service.register_organisation(
        service.RegisterOrganisation(
            unit_id=body.unit_id,
            kind=body.kind,
            name=body.name,
            valid_from=body.valid_from,
            idempotency_key=idempotency_key,
        ),
        principal=principal,
        ctx=ctx,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/organisations/{org.id}"
    set_etag(response, org.version)
    return await _read(org, stores)


@router.get(
    "/organisations",
    response_model=OrganisationList,
    responses=PROBLEMS,
    summary="List organisations and teams in your scope",
)
async def list_organisations(
    stores: StoresDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[SafeText | None, Query(max_length=64)] = None,
    kind: OrganisationKind | None = None,
    category: Literal["organisation", "team"] | None = None,
    status_: Annotated[Literal["active", "disbanded"] | None, Query(alias="status")] = None,
    q: Annotated[
        SafeText | None, Query(max_length=100, description="Name, with or without accents.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> OrganisationList:
    """Organisations and teams the caller may read, by name."""
    orgs, total = await service.list_organisations(
        principal=principal,
        stores=stores,
        unit_id=unit_id,
        kind=kind,
        category=category,
        status=status_,
        q=q,
        limit=limit,
        offset=offset,
    )
    return OrganisationList(items=[OrganisationRead.of(o) for o in orgs], total=total)


@router.get(
    "/organisations/{organisation_id}",
    response_model=OrganisationRead,
    responses=PROBLEMS,
    summary="Get an organisation or team with its members",
)
async def read_organisation(
    organisation_id: str, response: Response, stores: StoresDep, principal: CurrentPrincipal
) -> OrganisationRead:
    """One organisation or team, with its members and an ETag."""
    org = await service.get_organisation(organisation_id, principal=principal, stores=stores)
    set_etag(response, org.version)
    return await _read(org, stores)


@router.patch(
    "/organisations/{organisation_id}",
    response_model=OrganisationRead,
    responses=PROBLEMS,
    summary="Rename or disband an organisation or team (If-Match)",
)
async def update_organisation(
    organisation_id: str,
    body: OrganisationUpdate,
    response: Response,
    stores: StoresDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match_: Annotated[str | None, Header(alias="If-Match")] = None,
) -> OrganisationRead:
    """Rename or disband; If-Match must name the current version."""
    org = await service.update_organisation(
        organisation_id,
        name=body.name,
        status=body.status,
        valid_to=body.valid_to,
        expected_version=expected_version(if_match_),
        principal=principal,
        ctx=ctx,
    )
    set_etag(response, org.version)
    return await _read(org, stores)


@router.post(
    "/organisations/{organisation_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=MemberRead,
    responses=PROBLEMS,
    summary="Add a member (If-Match optional)",
)
async def add_member(
    organisation_id: str,
    body: MemberCreate,
    response: Response,
    stores: StoresDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
    if_match_: Annotated[str | None, Header(alias="If-Match")] = None,
) -> MemberRead:
    """Add a resident of the unit (or below) as a member; the body's new ETag is answered."""
    org, member, created = await service.add_member(
        organisation_id,
        service.AddMember(
            person_id=body.person_id,
            role=body.role,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            contact_order=body.contact_order,
            idempotency_key=idempotency_key,
        ),
        expected_version=expected_version(if_match_),
        principal=principal,
        ctx=ctx,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/organisations/{org.id}/members/{member.id}"
    set_etag(response, org.version)
    names = await service.people(stores, [member.person_id])
    return MemberRead.of(member, names, service.today_vn())


@router.patch(
    "/organisations/{organisation_id}/members/{membership_id}",
    response_model=MemberRead,
    responses=PROBLEMS,
    summary="Change a membership (If-Match)",
)
async def update_member(
    organisation_id: str,
    membership_id: str,
    body: MemberUpdate,
    response: Response,
    stores: StoresDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match_: Annotated[str | None, Header(alias="If-Match")] = None,
) -> MemberRead:
    """Change role, end date or contact order; If-Match names the body's version."""
    org, member = await service.update_member(
        organisation_id,
        membership_id,
        changes=body.model_dump(include=body.model_fields_set),
        expected_version=expected_version(if_match_),
        principal=principal,
        ctx=ctx,
    )
    set_etag(response, org.version)
    names = await service.people(stores, [member.person_id])
    return MemberRead.of(member, names, service.today_vn())


@router.delete(
    "/organisations/{organisation_id}/members/{membership_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=PROBLEMS,
    summary="Remove a membership entered by mistake (If-Match)",
)
async def remove_member(
    organisation_id: str,
    membership_id: str,
    stores: StoresDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match_: Annotated[str | None, Header(alias="If-Match")] = None,
) -> Response:
    """Remove a membership; to end one, set its valid_to instead."""
    org = await service.remove_member(
        organisation_id,
        membership_id,
        expected_version=expected_version(if_match_),
        principal=principal,
        ctx=ctx,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"ETag": f'"{org.version}"'})


@router.post(
    "/teams/{team_id}/shifts",
    status_code=status.HTTP_201_CREATED,
    response_model=ShiftRead,
    responses=PROBLEMS,
    summary="Add a duty shift to a team (If-Match optional)",
)
async def add_shift(
    team_id: str,
    body: ShiftCreate,
    response: Response,
    stores: StoresDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
    if_match_: Annotated[str | None, Header(alias="If-Match")] = None,
) -> ShiftRead:
    """Put members on duty; overlapping shifts of a member are refused (409)."""
    team, shift, created = await service.add_shift(
        team_id,
        service.AddShift(
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            person_ids=tuple(body.person_ids),
            note=nfc(body.note) if body.note else None,
            idempotency_key=idempotency_key,
        ),
        expected_version=expected_version(if_match_),
        principal=principal,
        ctx=ctx,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    set_etag(response, team.version)
    return ShiftRead.of(shift)


@router.get(
    "/teams/{team_id}/shifts",
    response_model=ShiftList,
    responses=PROBLEMS,
    summary="A team's duty roster",
)
async def list_shifts(
    team_id: str,
    stores: StoresDep,
    principal: CurrentPrincipal,
    from_: Annotated[IsoDateTime | None, Query(alias="from", description="Default: now.")] = None,
    to: Annotated[IsoDateTime | None, Query(description="Default: no end.")] = None,
) -> ShiftList:
    """Shifts that end after ``from`` and start before ``to``, in time order."""
    team = await service.get_organisation(team_id, principal=principal, stores=stores, what="team")
    start = from_ or datetime.now(UTC)
    shifts = sorted(
        (s for s in team.shifts if s.ends_at > start and (to is None or s.starts_at < to)),
        key=lambda s: (s.starts_at, s.id),
    )
    return ShiftList(team_id=team.id, version=team.version, items=[ShiftRead.of(s) for s in shifts])


@router.delete(
    "/teams/{team_id}/shifts/{shift_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=PROBLEMS,
    summary="Remove a duty shift (If-Match)",
)
async def remove_shift(
    team_id: str,
    shift_id: str,
    stores: StoresDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match_: Annotated[str | None, Header(alias="If-Match")] = None,
) -> Response:
    """Remove a shift from the duty roster."""
    team = await service.remove_shift(
        team_id,
        shift_id,
        expected_version=expected_version(if_match_),
        principal=principal,
        ctx=ctx,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"ETag": f'"{team.version}"'})


@router.get(
    "/teams/{team_id}/on-duty",
    response_model=OnDutyRead,
    responses=PROBLEMS,
    summary="Who is on duty at an instant",
)
async def on_duty(
    team_id: str,
    stores: StoresDep,
    principal: CurrentPrincipal,
    at: Annotated[
        AwareDatetime | None, Query(description="Instant, with timezone; default now.")
    ] = None,
) -> OnDutyRead:
    """Members on duty at ``at``; with no covering shift, the team's contact order."""
    answer = await service.on_duty(team_id, at, principal=principal, stores=stores)
    detail = (
        "on duty by the duty roster"
        if answer.source == "shifts"
        else "no shift covers this instant; these are the team's members in contact order"
    )
    return OnDutyRead(
        team_id=answer.team.id,
        at=answer.at,
        source="shifts" if answer.source == "shifts" else "contact_order",
        detail=detail,
        on_duty=[
            DutyPersonRead(person_id=p, full_name=n, role=r, shift_id=s)
            for p, n, r, s in answer.on_duty
        ],
    )


@router.get(
    "/units/{unit_id}/contact-roster",
    response_model=ContactRosterRead,
    responses=PROBLEMS,
    summary="Whom to call first in a hamlet",
)
async def contact_roster(
    unit_id: str,
    stores: StoresDep,
    principal: CurrentPrincipal,
    on: Annotated[IsoDate | None, Query(description="Date (default: today, Vietnam).")] = None,
) -> ContactRosterRead:
    """The unit's contact roster: members of its active bodies, in the order to call them."""
    roster, known = await service.unit_contact_roster(
        unit_id, on=on, principal=principal, stores=stores
    )
    return ContactRosterRead(
        unit_id=unit_id,
        date=on or service.today_vn(),
        rule=ROSTER_RULE,
        entries=[_contact(i, e, known) for i, e in enumerate(roster, start=1)],
    )


def _contact(position: int, e: RosterEntry, known: dict[str, PersonSummary]) -> ContactRead:
    person = known.get(e.person_id)
    return ContactRead(
        position=position,
        person_id=e.person_id,
        full_name=person.full_name if person else None,
        role=e.role,
        organisation_id=e.organisation_id,
        organisation_kind=e.organisation_kind,
        organisation_name=e.organisation_name,
        contact_order=e.contact_order,
    )
