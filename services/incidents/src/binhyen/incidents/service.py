"""Incidents use cases."""

from __future__ import annotations

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.units import UnitState
from binhyen.incidents.domain.units import UnitReplica
from binhyen.incidents.store import UnitReplicaStore
from binhyen.kit.auth import Principal, authorize
from binhyen.kit.problems import NotFound


async def replicate_unit(event: CloudEvent, *, store: UnitReplicaStore) -> bool:
    """Keep the local unit replica in step with the registry; True if it changed."""
    data = event.payload()
    if not isinstance(data, UnitState):
        raise TypeError(f"{event.type} is not a unit event")
    unit = UnitReplica(
        id=data.unit_id,
        kind=data.kind.value,
        level=data.level.value,
        name=data.name,
        parent_id=data.parent_id,
        ancestor_ids=tuple(data.ancestor_ids),
        valid_from=data.valid_from,
        version=data.version,
        status=data.status,
        successor_id=data.successor_id,
        valid_to=data.valid_to,
    )
    return await store.apply(unit, event_id=event.id)


async def get_hamlet(
    hamlet_id: str, *, principal: Principal, store: UnitReplicaStore
) -> UnitReplica:
    """A hamlet known to incidents that the caller may see, or NotFound."""
    unit = await store.get(hamlet_id)
    if unit is not None:
        authorize(
            principal, "units:read", (*unit.ancestor_ids, unit.id), what=f"hamlet {hamlet_id}"
        )
    if unit is None or not unit.is_hamlet:
        raise NotFound(
            f"hamlet {hamlet_id} is not known here; if it was just registered, retry in a moment"
        )
    return unit
