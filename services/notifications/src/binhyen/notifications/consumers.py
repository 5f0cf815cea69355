"""Handlers for other services' topics: recipients from the registry, triggers from incidents."""

from __future__ import annotations

import logging

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.incidents import (
    DeadlineMissed,
    IncidentEvent,
    IncidentHandedToPolice,
    IncidentReported,
    IncidentTransitioned,
)
from binhyen.contracts.events.organisations import OrganisationChanged, OrganisationRegistered
from binhyen.contracts.events.people import PERSON_EVENTS
from binhyen.contracts.events.units import UNIT_EVENTS
from binhyen.contracts.topics import (
    INCIDENTS,
    INCIDENTS_ESCALATIONS,
    REGISTRY_ORGANISATIONS,
    REGISTRY_PEOPLE,
    REGISTRY_UNITS,
)
from binhyen.kit.consumer import EventDispatcher
from binhyen.kit.runtime import Subscription
from binhyen.notifications.service import alerts, replicas
from binhyen.notifications.service.common import Context

log = logging.getLogger(__name__)

# An incident in one of these states needs no more alerting.
ENDED = {"resolved": "incident_resolved", "rejected": "incident_rejected",
         "duplicate": "incident_duplicate"}  # fmt: skip


def subscriptions(*, ctx: Context) -> list[Subscription]:
    """The topics notifications consumes and their handlers."""
    stores = ctx.stores

    async def on_unit(event: CloudEvent) -> None:
        await replicas.replicate_unit(event, stores=stores)

    async def on_person(event: CloudEvent) -> None:
        await replicas.replicate_resident(event, stores=stores)

    async def on_team(event: CloudEvent) -> None:
        await replicas.replicate_team(event, stores=stores)

    async def on_incident(event: CloudEvent) -> None:
        data = event.payload()
        if not isinstance(data, IncidentEvent):
            raise TypeError(f"{event.type} is not an incident event")
        incident = data.incident
        if isinstance(data, IncidentTransitioned):
            reason = ENDED.get(data.to_status)
            if reason is not None:
                closed = await alerts.close_for_incident(ctx, incident.incident_id, reason=reason)
                log.info("incident ended", extra={"incident_id": incident.incident_id,
                                                  "alerts_closed": closed})  # fmt: skip
            return
        kind = "deadline_missed" if isinstance(data, DeadlineMissed) else "incident_reported"
        raised = await alerts.raise_for(
            ctx,
            alerts.Occurrence(
                kind=kind,
                source_id=event.id,
                hamlet_ids=[incident.hamlet_id],
                paths={incident.hamlet_id: list(incident.unit_path)},
                severity=incident.severity,
                incident_id=incident.incident_id,
                category=incident.category,
                group=incident.group,
                address=incident.address,
                occurred_at=incident.occurred_at,
            ),
        )
        log.info(
            "incident seen", extra={"incident_id": incident.incident_id, "raised": len(raised)}
        )

    async def on_handoff(event: CloudEvent) -> None:
        data = event.payload()
        if not isinstance(data, IncidentHandedToPolice) or type(data) is not IncidentHandedToPolice:
            return  # the police's receipt raises nothing
        incident = data.incident
        await alerts.raise_for(
            ctx,
            alerts.Occurrence(
                kind="handed_to_police",
                source_id=event.id,
                hamlet_ids=[incident.hamlet_id],
                paths={incident.hamlet_id: list(incident.unit_path)},
                severity=incident.severity,
                incident_id=incident.incident_id,
                category=incident.category,
                group=incident.group,
                occurred_at=incident.occurred_at,
            ),
        )

    registry = EventDispatcher(
        {
            **{e.event_type: on_unit for e in UNIT_EVENTS},
            **{e.event_type: on_person for e in PERSON_EVENTS},
            OrganisationRegistered.event_type: on_team,
            OrganisationChanged.event_type: on_team,
        }
    )
    incidents = EventDispatcher(
        {
            IncidentReported.event_type: on_incident,
            DeadlineMissed.event_type: on_incident,
            IncidentTransitioned.event_type: on_incident,
            IncidentHandedToPolice.event_type: on_handoff,
        }
    )
    return [
        Subscription(topics=[REGISTRY_UNITS, REGISTRY_PEOPLE, REGISTRY_ORGANISATIONS],
                     handler=registry),
        Subscription(topics=[INCIDENTS, INCIDENTS_ESCALATIONS], handler=incidents),
    ]  # fmt: skip
