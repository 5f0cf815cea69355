"""Handlers for other services' topics: registry units and teams."""

from __future__ import annotations

import logging

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.organisations import (
    OrganisationChanged,
    OrganisationRegistered,
)
from binhyen.contracts.events.units import UNIT_EVENTS
from binhyen.contracts.topics import REGISTRY_ORGANISATIONS, REGISTRY_UNITS
from binhyen.incidents.service import replicas
from binhyen.incidents.store import Stores
from binhyen.kit.consumer import EventDispatcher
from binhyen.kit.runtime import Subscription

log = logging.getLogger(__name__)


def subscriptions(*, stores: Stores) -> list[Subscription]:
    """The topics incidents consumes and their handlers."""

    async def on_unit_changed(event: CloudEvent) -> None:
        changed = await replicas.replicate_unit(event, stores=stores)
        log.info("unit replicated", extra={"unit_id": event.subject, "changed": changed})

    async def on_team_changed(event: CloudEvent) -> None:
        changed = await replicas.replicate_team(event, stores=stores)
        log.info("team replicated", extra={"team_id": event.subject, "changed": changed})

    dispatcher = EventDispatcher(
        {
            **{e.event_type: on_unit_changed for e in UNIT_EVENTS},
            OrganisationRegistered.event_type: on_team_changed,
            OrganisationChanged.event_type: on_team_changed,
        }
    )
    return [Subscription(topics=[REGISTRY_UNITS, REGISTRY_ORGANISATIONS], handler=dispatcher)]
