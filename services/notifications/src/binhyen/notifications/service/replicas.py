"""Keep the local replicas of the registry in step (units, residents, teams)."""

from __future__ import annotations

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.organisations import OrganisationState
from binhyen.contracts.events.people import PersonState
from binhyen.contracts.events.units import UnitState
from binhyen.kit.idempotency import event_sequence
from binhyen.notifications.store import Stores


async def replicate_unit(event: CloudEvent, *, stores: Stores) -> bool:
    """Apply a unit event; True if it changed the replica."""
    data = event.payload()
    if not isinstance(data, UnitState):
        raise TypeError(f"{event.type} is not a unit event")
    state = data.model_dump(
        mode="json",
        include={"unit_id", "kind", "level", "name", "parent_id", "ancestor_ids", "status",
                 "successor_id", "version"},
    )  # fmt: skip
    return await stores.units.apply(state, event_id=event.id, sequence=event_sequence(event))


async def replicate_resident(event: CloudEvent, *, stores: Stores) -> bool:
    """Apply a resident event (a resident who left keeps only a tombstone)."""
    data = event.payload()
    if not isinstance(data, PersonState):
        raise TypeError(f"{event.type} is not a person event")
    state = data.model_dump(
        mode="json",
        include={"person_id", "unit_id", "household_id", "full_name", "phones",
                 "preferred_language", "alert_channels", "alert_consent", "status", "version"},
    )  # fmt: skip
    return await stores.residents.apply(state, event_id=event.id, sequence=event_sequence(event))


async def replicate_team(event: CloudEvent, *, stores: Stores) -> bool:
    """Apply an organisation event (only teams and their shifts matter here)."""
    data = event.payload()
    if not isinstance(data, OrganisationState):
        raise TypeError(f"{event.type} is not an organisation event")
    state = data.model_dump(
        mode="json",
        include={"organisation_id", "unit_id", "unit_path", "category", "kind", "name",
                 "status", "members", "contact_roster", "shifts", "version"},
    )  # fmt: skip
    return await stores.teams.apply(state, event_id=event.id, sequence=event_sequence(event))
