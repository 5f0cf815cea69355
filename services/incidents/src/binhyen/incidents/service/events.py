"""Incident changes as contract events, queued in the incident's outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from binhyen.contracts import CloudEvent, EventData
from binhyen.contracts.events.incidents import (
    CATEGORIES_TOPIC,
    ESCALATIONS_TOPIC,
    PUBLIC_TOPIC,
    TOPIC,
    AssigneeRef,
    CategoryDefined,
    DeadlineMissed,
    GeoPoint,
    HandoffRecord,
    IncidentHandedToPolice,
    IncidentNoted,
    IncidentReported,
    IncidentSnapshot,
    IncidentTransitioned,
    MediationConcluded,
    MediationSessionRecorded,
    MessageAdded,
    PoliceReceiptAcknowledged,
    PublicIncident,
    ReporterUnmasked,
)
from binhyen.incidents.domain.categories import Category
from binhyen.incidents.domain.deadlines import Deadline
from binhyen.incidents.domain.incidents import ACTIONS, Entry, Handoff, Incident
from binhyen.incidents.service.common import Context, reporter_ref
from binhyen.kit.outbox import outbox_entry
from binhyen.kit.settings import ServiceSettings

Document = dict[str, Any]


def snapshot(ctx: Context, incident: Incident) -> IncidentSnapshot:
    """The incident as events carry it (the reporter's reference, never their identity)."""
    return IncidentSnapshot(
        incident_id=incident.id,
        hamlet_id=incident.hamlet_id,
        unit_path=list(incident.unit_path),
        category=incident.category,
        category_version=incident.category_version,
        group=incident.group,
        ba_khong=incident.ba_khong,
        severity=incident.severity,
        status=incident.status,
        description=incident.description,
        occurred_at=incident.occurred_at,
        reported_at=incident.reported_at,
        location=GeoPoint(lon=incident.location.lon, lat=incident.location.lat)
        if incident.location
        else None,
        address=incident.address,
        answers=dict(incident.answers),
        reporter_kind=incident.reporter.kind,
        reporter_ref=reporter_ref(ctx, incident.id, incident.reporter),
        assignee=AssigneeRef(
            kind=incident.assignee.kind, id=incident.assignee.id, team_id=incident.assignee.team_id
        )
        if incident.assignee
        else None,
        duplicate_of=incident.duplicate_of,
        resolution=incident.resolution,
        version=incident.version,
    )


def public(incident: Incident, at: datetime) -> PublicIncident:
    """The incident as the public topic carries it: nothing personal, no free text."""
    return PublicIncident(
        incident_id=incident.id,
        hamlet_id=incident.hamlet_id,
        category=incident.category,
        severity=incident.severity,
        status=incident.status,
        occurred_at=incident.occurred_at.replace(minute=0, second=0, microsecond=0),
        status_at=at,
    )


def handoff_record(handoff: Handoff) -> HandoffRecord:
    """The hand-off record as the police topic carries it."""
    return HandoffRecord(
        handed_at=handoff.handed_at,
        handed_by=handoff.handed_by,
        to_unit_id=handoff.to_unit_id,
        to_name=handoff.to_name,
        to_officer=handoff.to_officer,
        summary=handoff.summary,
        items=list(handoff.items),
        case_reference=handoff.case_reference,
        received_at=handoff.received_at,
        received_by=handoff.received_by,
    )


def _entry_event(incident: Incident, snap: IncidentSnapshot, e: Entry) -> EventData:
    # The report's actor is the reporter: their reference (a stored entry may name the account).
    actor = snap.reporter_ref if e.kind == "reported" and snap.reporter_ref else e.actor
    base: dict[str, Any] = {"incident": snap, "actor": actor, "at": e.at, "seq": e.seq}
    if e.kind == "reported":
        return IncidentReported(**base)
    if e.kind in ACTIONS:
        assert e.from_status is not None and e.to_status is not None
        return IncidentTransitioned(
            **base,
            action=e.kind,
            from_status=e.from_status,
            to_status=e.to_status,
            reason=e.reason,
            details=dict(e.details),
        )
    if e.kind == "mediation_session" and incident.mediation is not None:
        session = next(s for s in incident.mediation.sessions if s.id == e.details["session_id"])
        return MediationSessionRecorded(
            **base,
            session_id=session.id,
            held_at=session.held_at,
            outcome=session.outcome,
            mediator_count=len(session.mediators),
        )
    if e.kind == "mediation_concluded" and incident.mediation is not None:
        assert incident.mediation.outcome is not None
        return MediationConcluded(
            **base, outcome=incident.mediation.outcome, sessions=len(incident.mediation.sessions)
        )
    return IncidentNoted(**base, kind=e.kind, details=dict(e.details))


def change_outbox(ctx: Context, incident: Incident, entries: Sequence[Entry]) -> list[Document]:
    """Outbox entries for new timeline entries: history, public status, police hand-off."""
    snap = snapshot(ctx, incident)
    out: list[Document] = []
    for e in entries:
        out.append(_event(ctx, _entry_event(incident, snap, e), TOPIC.name, e.at))
        if e.to_status is not None and (e.kind == "reported" or e.to_status != e.from_status):
            out.append(_event(ctx, public(incident, e.at), PUBLIC_TOPIC.name, e.at))
        if e.kind == "escalate" and incident.handoff is not None:
            police = IncidentHandedToPolice(incident=snap, handoff=handoff_record(incident.handoff))
            out.append(_event(ctx, police, ESCALATIONS_TOPIC.name, e.at))
        if e.kind == "escalation_received" and incident.handoff is not None:
            receipt = PoliceReceiptAcknowledged(
                incident=snap, handoff=handoff_record(incident.handoff)
            )
            out.append(_event(ctx, receipt, ESCALATIONS_TOPIC.name, e.at))
    return out


def miss_outbox(
    ctx: Context, incident: Incident, deadline: Deadline, at: datetime
) -> list[Document]:
    """The outbox entry announcing a missed deadline."""
    event = DeadlineMissed(
        incident=snapshot(ctx, incident),
        actor="scheduler",
        at=at,
        seq=len(incident.timeline),
        deadline=deadline.kind,
        due=deadline.due,
    )
    return [_event(ctx, event, TOPIC.name, at)]


def unmask_outbox(
    ctx: Context, incident: Incident, *, actor: str, reason: str, at: datetime
) -> list[Document]:
    """The outbox entry of the audit event of an unmasking (no identity in it)."""
    event = ReporterUnmasked(
        incident=snapshot(ctx, incident),
        actor=actor,
        at=at,
        seq=len(incident.timeline),
        reason=reason,
    )
    return [_event(ctx, event, TOPIC.name, at)]


def message_outbox(
    ctx: Context, incident: Incident, *, author: str, actor: str, at: datetime
) -> list[Document]:
    """The outbox entry of a message (its text stays in the service)."""
    snap = snapshot(ctx, incident)
    event = MessageAdded(
        incident=snap,
        actor=(snap.reporter_ref or actor) if author == "reporter" else actor,
        at=at,
        seq=len(incident.timeline),
        author="staff" if author == "staff" else "reporter",
    )
    return [_event(ctx, event, TOPIC.name, at)]


def _event(ctx: Context, data: EventData, topic: str, at: datetime) -> Document:
    return outbox_entry(CloudEvent.wrap(data, time=at), ctx.topic(topic))


def category_outbox(settings: ServiceSettings, category: Category) -> list[Document]:
    """The outbox entry announcing a category as it is now (on the public catalogue topic)."""
    event = CategoryDefined(
        code=category.code,
        name_vi=category.name_vi,
        name_en=category.name_en,
        group=category.group,
        ba_khong=category.ba_khong,
        default_severity=category.default_severity,
        active=category.active,
        version=category.version,
    )
    return [outbox_entry(CloudEvent.wrap(event), settings.topic(CATEGORIES_TOPIC.name))]
