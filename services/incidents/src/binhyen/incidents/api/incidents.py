"""Incident routes: intake, queries, lifecycle, mediation, hand-off, messages, unmasking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field

from binhyen.incidents.api.common import (
    PROBLEMS,
    ContextDep,
    IdempotencyKey,
    IfMatch,
    expected_version,
    local,
    set_etag,
)
from binhyen.incidents.api.schemas import IncidentCreate, IncidentRead
from binhyen.incidents.domain.categories import GROUPS, SEVERITIES, Severity
from binhyen.incidents.domain.incidents import ACTIONS, Action, Incident, Point, Status
from binhyen.incidents.service import incidents as service
from binhyen.incidents.service import queries
from binhyen.incidents.service.common import Context
from binhyen.incidents.store.incidents import Filters
from binhyen.kit.auth import CurrentPrincipal, Principal, authorize
from binhyen.kit.http import IsoDateTime
from binhyen.kit.text import SafeMultiline, SafeText

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
Group = Literal["crime", "social_evil", "traffic", "dispute", "fire", "other"]
assert set(GROUPS) == set(Group.__args__)  # type: ignore[attr-defined]
assert set(SEVERITIES) == set(Severity.__args__)  # type: ignore[attr-defined]


def _staff(principal: Principal, incident: Incident) -> bool:
    return principal.allows("incidents:read", incident.unit_path)


async def _read(
    ctx: Context, principal: Principal, incident: Incident, response: Response
) -> IncidentRead:
    staff = _staff(principal, incident)
    duplicates = await queries.duplicates_of(ctx, incident) if staff else None
    set_etag(response, incident.version)
    return IncidentRead.of(incident, staff=staff, viewer=principal.subject, duplicates=duplicates)


@router.post(
    "",
    response_model=IncidentRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "A retry with the same Idempotency-Key: the first result"},
        **{k: PROBLEMS[k] for k in (401, 403, 422, 503)},
    },
    summary="Report an incident",
)
async def report_incident(
    body: IncidentCreate,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> IncidentRead:
    """File a report in a hamlet; refused for unknown or ended hamlets (naming the successor)."""
    identity = {"user_id": principal.subject, "name": principal.name}
    result = await service.report_incident(
        body.command(idempotency_key), ctx=ctx, principal=principal, identity=identity
    )
    if not result.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/incidents/{result.incident.id}"
    set_etag(response, result.incident.version)
    return IncidentRead.of(
        result.incident, staff=_staff(principal, result.incident), viewer=principal.subject
    )


@dataclass(frozen=True)
class FilterParams:
    """Query parameters that filter lists and maps."""

    unit_id: str | None
    filters: Filters


async def filter_params(
    unit_id: Annotated[
        SafeText | None, Query(max_length=64, description="Only this unit's subtree.")
    ] = None,
    status: Annotated[list[Status] | None, Query(description="Any of these states.")] = None,
    category: Annotated[
        list[SafeText] | None, Query(description="Any of these categories.")
    ] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    group: Annotated[list[Group] | None, Query()] = None,
    since: Annotated[IsoDateTime | None, Query(description="Happened at or after.")] = None,
    until: Annotated[IsoDateTime | None, Query(description="Happened before.")] = None,
    q: Annotated[
        SafeText | None,
        Query(max_length=200, description="Words to find, with or without diacritics."),
    ] = None,
) -> FilterParams:
    # async: a plain class or function dependency would run in the thread pool per request.
    return FilterParams(
        unit_id=unit_id,
        filters=Filters(
            statuses=status or (),
            categories=category or (),
            severities=severity or (),
            groups=group or (),
            since=since,
            until=until,
            text=q,
        ),
    )


class IncidentSummary(BaseModel):
    """An incident in a list."""

    id: str
    hamlet_id: str
    category: str
    group: str
    severity: Severity
    status: Status
    occurred_at: datetime
    occurred_at_local: str | None
    reported_at: datetime
    description: str
    version: int


class IncidentPage(BaseModel):
    """A page of incidents; pass next_cursor as cursor for the next page."""

    items: list[IncidentSummary]
    next_cursor: str | None


def _summary(i: Incident) -> IncidentSummary:
    return IncidentSummary(
        id=i.id,
        hamlet_id=i.hamlet_id,
        category=i.category,
        group=i.group,
        severity=i.severity,
        status=i.status,
        occurred_at=i.occurred_at,
        occurred_at_local=local(i.occurred_at),
        reported_at=i.reported_at,
        description=i.description,
        version=i.version,
    )


@router.get(
    "",
    response_model=IncidentPage,
    responses={k: PROBLEMS[k] for k in (401, 422)},
    summary="List incidents",
)
async def list_incidents(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    params: Annotated[FilterParams, Depends(filter_params)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[SafeText | None, Query(max_length=200)] = None,
) -> IncidentPage:
    """Incidents in your scope (or your own reports), newest first, filtered."""
    page = await queries.list_incidents(
        ctx, params.filters, principal=principal, under=params.unit_id, limit=limit, cursor=cursor
    )
    return IncidentPage(items=[_summary(i) for i in page.items], next_cursor=page.next_cursor)


@router.get(
    "/map",
    responses={
        200: {"content": {"application/geo+json": {}}, "description": "FeatureCollection"},
        **{k: PROBLEMS[k] for k in (401, 422)},
    },
    summary="Incidents as GeoJSON",
    response_class=JSONResponse,
)
async def incidents_map(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    params: Annotated[FilterParams, Depends(filter_params)],
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> JSONResponse:
    """A GeoJSON FeatureCollection of the located incidents matching the filters."""
    features: list[dict[str, Any]] = []
    cursor: str | None = None
    filters = Filters(**{**params.filters.__dict__, "with_location": True})
    while len(features) < limit:
        page = await queries.list_incidents(
            ctx,
            filters,
            principal=principal,
            under=params.unit_id,
            limit=min(200, limit - len(features)),
            cursor=cursor,
        )
        for i in page.items:
            assert i.location is not None
            features.append(
                {
                    "type": "Feature",
                    "id": i.id,
                    "geometry": {"type": "Point", "coordinates": [i.location.lon, i.location.lat]},
                    "properties": {
                        "category": i.category,
                        "group": i.group,
                        "severity": i.severity,
                        "status": i.status,
                        "hamlet_id": i.hamlet_id,
                        "occurred_at": i.occurred_at.isoformat(),
                        "occurred_at_local": local(i.occurred_at),
                    },
                }
            )
        cursor = page.next_cursor
        if cursor is None:
            break
    return JSONResponse(
        {"type": "FeatureCollection", "features": features},
        media_type="application/geo+json",
    )


class SimilarRead(BaseModel):
    """An open incident like the one about to be reported (no free text)."""

    id: str
    hamlet_id: str
    category: str
    severity: Severity
    status: Status
    occurred_at: datetime
    occurred_at_local: str | None
    distance_m: float | None = Field(description="Metres from the given location, if both known.")


class SimilarFound(BaseModel):
    """Open incidents like the one about to be reported."""

    count: int = Field(
        description=(
            "Open incidents of this category in the hamlet within 48 hours of the time given "
            "(hamlet-wide, whatever the location)."
        )
    )
    items: list[SimilarRead] = Field(
        description=(
            "The nearby ones you may read, nearest first: staff, those in their scope; "
            "a resident, only their own reports."
        )
    )


@router.get(
    "/similar",
    response_model=SimilarFound,
    responses={k: PROBLEMS[k] for k in (401, 422)},
    summary="Similar open incidents (before submitting)",
)
async def similar_incidents(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    hamlet_id: Annotated[SafeText, Query(max_length=64)],
    category: Annotated[SafeText, Query(max_length=40)],
    occurred_at: Annotated[IsoDateTime, Query()],
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    radius_m: Annotated[float, Query(gt=0, le=5000)] = queries.SIMILAR_RADIUS_M,
) -> SimilarFound:
    """How many open incidents of the category are in the hamlet; the nearby ones you may read."""
    location = Point(lon, lat) if lon is not None and lat is not None else None
    found = await queries.similar_incidents(
        ctx,
        principal=principal,
        hamlet_id=hamlet_id,
        category=category,
        occurred_at=occurred_at,
        location=location,
        radius_m=radius_m,
    )
    return SimilarFound(
        count=found.count,
        items=[
            SimilarRead(
                id=s.incident.id,
                hamlet_id=s.incident.hamlet_id,
                category=s.incident.category,
                severity=s.incident.severity,
                status=s.incident.status,
                occurred_at=s.incident.occurred_at,
                occurred_at_local=local(s.incident.occurred_at),
                distance_m=round(s.distance_m, 1) if s.distance_m is not None else None,
            )
            for s in found.items
        ],
    )


@router.get(
    "/{incident_id}",
    response_model=IncidentRead,
    responses={k: PROBLEMS[k] for k in (401, 404)},
    summary="Get an incident",
)
async def read_incident(
    incident_id: str, ctx: ContextDep, principal: CurrentPrincipal, response: Response
) -> IncidentRead:
    """One incident (inside your scope, or your own report)."""
    incident = await queries.get_incident(ctx, incident_id, principal=principal)
    return await _read(ctx, principal, incident, response)


class EntryRead(BaseModel):
    """One line of the timeline."""

    seq: int
    at: datetime
    at_local: str | None
    kind: str
    actor: str | None = Field(description="Who (staff see it; reporters do not).")
    from_status: Status | None
    to_status: Status | None
    reason: str | None
    details: dict[str, Any]


@router.get(
    "/{incident_id}/timeline",
    response_model=list[EntryRead],
    responses={k: PROBLEMS[k] for k in (401, 404)},
    summary="An incident's timeline",
)
async def timeline(
    incident_id: str, ctx: ContextDep, principal: CurrentPrincipal
) -> list[EntryRead]:
    """Every change of the incident, oldest first, with missed deadlines in their place."""
    incident = await queries.get_incident(ctx, incident_id, principal=principal)
    staff = _staff(principal, incident)
    entries = [
        EntryRead(
            seq=e.seq,
            at=e.at,
            at_local=local(e.at),
            kind=e.kind,
            actor=e.actor if staff else None,
            from_status=e.from_status,
            to_status=e.to_status,
            reason=e.reason if staff or e.kind in ("reject", "resolve") else None,
            details=dict(e.details) if staff else {},
        )
        for e in incident.timeline
        if staff or e.to_status != e.from_status or e.kind == "reported"
    ]
    if staff:
        for d in incident.deadlines:
            if d.missed_at is not None:
                entries.append(
                    EntryRead(
                        seq=0,
                        at=d.due,
                        at_local=local(d.due),
                        kind="deadline_missed",
                        actor="scheduler",
                        from_status=None,
                        to_status=None,
                        reason=None,
                        details={"deadline": d.kind},
                    )
                )
    return sorted(entries, key=lambda e: (e.at, e.seq))


class AssigneeWrite(BaseModel):
    """A team, or a person through the team they belong to."""

    team_id: SafeText = Field(max_length=64)
    person_id: SafeText | None = Field(None, max_length=64)


class HandoffWrite(BaseModel):
    """What is handed to the police."""

    to_name: SafeText = Field(min_length=1, max_length=200, description="e.g. Công an xã Kỳ Nam.")
    summary: SafeMultiline = Field(
        min_length=1, max_length=4000, description="What is handed over."
    )
    to_unit_id: SafeText | None = Field(
        None, max_length=64, description="Unit of the receiving police; default the commune."
    )
    to_officer: SafeText | None = Field(None, max_length=200)
    items: list[SafeText] = Field(default_factory=list, max_length=50)


class TransitionWrite(BaseModel):
    """A lifecycle action and what it needs."""

    action: Action = Field(description=", ".join(ACTIONS))
    reason: SafeMultiline | None = Field(
        None, max_length=1000, description="Needed to resolve, reject, reopen."
    )
    assignee: AssigneeWrite | None = Field(None, description="For assign.")
    duplicate_of: SafeText | None = Field(None, max_length=64, description="For mark_duplicate.")
    handoff: HandoffWrite | None = Field(None, description="For escalate.")


@router.post(
    "/{incident_id}/transitions",
    response_model=IncidentRead,
    responses={k: PROBLEMS[k] for k in (401, 403, 404, 409, 412, 422)},
    summary="Move an incident through its lifecycle",
)
async def transition(
    incident_id: str,
    body: TransitionWrite,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> IncidentRead:
    """acknowledge, assign, start, resolve, reject, mark_duplicate, escalate or reopen."""
    incident = await service.take_action(
        service.TakeAction(
            incident_id=incident_id,
            action=body.action,
            reason=body.reason,
            assignee=service.AssigneeInput(body.assignee.team_id, body.assignee.person_id)
            if body.assignee
            else None,
            duplicate_of=body.duplicate_of,
            handoff=service.HandoffInput(
                to_name=body.handoff.to_name,
                summary=body.handoff.summary,
                to_unit_id=body.handoff.to_unit_id,
                to_officer=body.handoff.to_officer,
                items=tuple(body.handoff.items),
            )
            if body.handoff
            else None,
            expected_version=expected_version(if_match),
        ),
        ctx=ctx,
        principal=principal,
    )
    return await _read(ctx, principal, incident, response)


class SessionWrite(BaseModel):
    """A mediation session held."""

    held_at: AwareDatetime
    mediators: list[SafeText] = Field(min_length=1, max_length=20)
    outcome: Literal["agreement", "no_agreement", "adjourned"]
    place: SafeText | None = Field(None, max_length=300)
    notes: SafeMultiline | None = Field(None, max_length=4000)


@router.post(
    "/{incident_id}/mediation/sessions",
    response_model=IncidentRead,
    status_code=status.HTTP_201_CREATED,
    responses={k: PROBLEMS[k] for k in (401, 403, 404, 409, 412, 422)},
    summary="Record a mediation session",
)
async def record_session(
    incident_id: str,
    body: SessionWrite,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> IncidentRead:
    """Mediators, date, place and outcome of a session (disputes only)."""
    incident = await service.record_session(
        service.RecordSession(
            incident_id=incident_id,
            held_at=body.held_at,
            mediators=tuple(body.mediators),
            outcome=body.outcome,
            place=body.place,
            notes=body.notes,
            expected_version=expected_version(if_match),
        ),
        ctx=ctx,
        principal=principal,
    )
    return await _read(ctx, principal, incident, response)


class ConclusionWrite(BaseModel):
    """How mediation ended."""

    agreement: bool = Field(description="True: agreement reached (resolves the dispute).")
    summary: SafeMultiline = Field(min_length=1, max_length=4000)


@router.post(
    "/{incident_id}/mediation/conclusion",
    response_model=IncidentRead,
    responses={k: PROBLEMS[k] for k in (401, 403, 404, 409, 412, 422)},
    summary="Conclude mediation",
)
async def conclude_mediation(
    incident_id: str,
    body: ConclusionWrite,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> IncidentRead:
    """Agreement resolves the dispute; failure leaves it open to escalate to the police."""
    incident = await service.conclude_mediation(
        incident_id,
        agreement=body.agreement,
        summary=body.summary,
        expected_version=expected_version(if_match),
        ctx=ctx,
        principal=principal,
    )
    return await _read(ctx, principal, incident, response)


class ReceiptWrite(BaseModel):
    """The police acknowledge a hand-off."""

    case_reference: SafeText = Field(min_length=1, max_length=100)


@router.post(
    "/{incident_id}/handoff/receipt",
    response_model=IncidentRead,
    responses={k: PROBLEMS[k] for k in (401, 403, 404, 409, 412, 422)},
    summary="Acknowledge receipt of a hand-off (police)",
)
async def acknowledge_receipt(
    incident_id: str,
    body: ReceiptWrite,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> IncidentRead:
    """The police confirm they have the case, with their case reference."""
    incident = await service.acknowledge_receipt(
        incident_id,
        case_reference=body.case_reference,
        expected_version=expected_version(if_match),
        ctx=ctx,
        principal=principal,
    )
    return await _read(ctx, principal, incident, response)


class MessageWrite(BaseModel):
    """A message to the reporter."""

    text: SafeMultiline = Field(min_length=1, max_length=2000)


class MessageRead(BaseModel):
    """A message between staff and the reporter."""

    id: str
    at: datetime
    at_local: str | None
    author: Literal["staff", "reporter"]
    text: str


@router.get(
    "/{incident_id}/messages",
    response_model=list[MessageRead],
    responses={k: PROBLEMS[k] for k in (401, 403, 404)},
    summary="Messages with the reporter",
)
async def list_messages(
    incident_id: str, ctx: ContextDep, principal: CurrentPrincipal
) -> list[MessageRead]:
    """The conversation with the reporter (staff)."""
    incident = await queries.get_incident(ctx, incident_id, principal=principal)
    # Staff only: a signed-in reporter reads their report but not this conversation.
    authorize(principal, "incidents:read", incident.unit_path, what=f"incident {incident_id}")
    messages = await ctx.stores.incidents.messages(incident_id)
    return [
        MessageRead(id=m.id, at=m.at, at_local=local(m.at), author=m.author, text=m.text)
        for m in messages
    ]


@router.post(
    "/{incident_id}/messages",
    response_model=MessageRead,
    status_code=status.HTTP_201_CREATED,
    responses={k: PROBLEMS[k] for k in (401, 403, 404, 422)},
    summary="Write to the reporter",
)
async def write_message(
    incident_id: str, body: MessageWrite, ctx: ContextDep, principal: CurrentPrincipal
) -> MessageRead:
    """Ask the reporter (even an anonymous tipster) a question; they answer with their token."""
    m = await service.staff_message(incident_id, body.text, ctx=ctx, principal=principal)
    return MessageRead(id=m.id, at=m.at, at_local=local(m.at), author="staff", text=m.text)


class UnmaskWrite(BaseModel):
    """Why the reporter's identity is needed (recorded in the audit trail)."""

    reason: SafeMultiline = Field(min_length=10, max_length=1000)


@router.post(
    "/{incident_id}/reporter/unmask",
    responses={k: PROBLEMS[k] for k in (401, 403, 404, 422)},
    summary="Reveal the reporter's identity (police; audited)",
)
async def unmask(
    incident_id: str, body: UnmaskWrite, ctx: ContextDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The identity the reporter gave, if any; every call is written to the audit trail."""
    return await service.unmask_reporter(
        incident_id, reason=body.reason, ctx=ctx, principal=principal
    )


class AuditRead(BaseModel):
    """One unmasking of the reporter."""

    at: datetime
    at_local: str | None
    by: str
    reason: str


@router.get(
    "/{incident_id}/reporter/audit",
    response_model=list[AuditRead],
    responses={k: PROBLEMS[k] for k in (401, 403, 404)},
    summary="Who unmasked the reporter",
)
async def audit(incident_id: str, ctx: ContextDep, principal: CurrentPrincipal) -> list[AuditRead]:
    """The audit trail of unmaskings (police and admins)."""
    trail = await service.audit_trail(incident_id, ctx=ctx, principal=principal)
    return [
        AuditRead(at=a["at"], at_local=local(a["at"]), by=a["by"], reason=a["reason"])
        for a in trail
    ]
