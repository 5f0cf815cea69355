"""Handlers for other services' topics."""

from __future__ import annotations

import logging

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.units import UNIT_EVENTS
from binhyen.contracts.topics import REGISTRY_UNITS
from binhyen.incidents import service
from binhyen.incidents.store import UnitReplicaStore
from binhyen.kit.consumer import EventDispatcher
from binhyen.kit.runtime import Subscription

log = logging.getLogger(__name__)


def subscriptions(*, units: UnitReplicaStore) -> list[Subscription]:
    """The topics incidents consumes and their handlers."""

    async def on_unit_changed(event: CloudEvent) -> None:
        changed = await service.replicate_unit(event, store=units)
        log.info("unit replicated", extra={"unit_id": event.subject, "changed": changed})

    dispatcher = EventDispatcher({e.event_type: on_unit_changed for e in UNIT_EVENTS})
    return [Subscription(topics=[REGISTRY_UNITS], handler=dispatcher)]
