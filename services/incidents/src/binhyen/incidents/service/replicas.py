"""Local replicas of registry data: admin units and teams."""

from __future__ import annotations

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.organisations import OrganisationState
from binhyen.contracts.events.units import UnitState
from binhyen.incidents.domain.units import UnitReplica
from binhyen.incidents.service.common import ReadCache
from binhyen.incidents.store import Stores
from binhyen.kit.auth import Principal
from binhyen.kit.idempotency import event_sequence
from binhyen.kit.problems import Invalid, NotFound


async def replicate_unit(event: CloudEvent, *, stores: Stores) -> bool:
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
    return await stores.units.apply(unit, event_id=event.id, sequence=event_sequence(event))


async def replicate_team(event: CloudEvent, *, stores: Stores) -> bool:
    """Keep the local team replica in step with the registry; True if it changed."""
    data = event.payload()
    if not isinstance(data, OrganisationState):
        raise TypeError(f"{event.type} is not an organisation event")
    state = data.model_dump(
        mode="json",
        include={
            "organisation_id",
            "unit_id",
            "unit_path",
            "category",
            "kind",
            "name",
            "status",
            "version",
        },
    )
    state["members"] = [
        {"person_id": m.person_id, "valid_to": m.valid_to.isoformat() if m.valid_to else None}
        for m in data.members
    ]
    return await stores.teams.apply(state, event_id=event.id, sequence=event_sequence(event))


def unknown_hamlet(field: str = "hamlet_id") -> Invalid:
    """The one answer for a hamlet that is unknown, or outside the caller's scope."""
    return Invalid(
        "this hamlet is not known; check the id (a hamlet registered a moment ago may take "
        "a few seconds to arrive)",
        field=field,
    )


def may_know(principal: Principal | None, unit: UnitReplica) -> bool:
    """True if the caller may learn of this unit: anonymous channels, or inside their grants."""
    if principal is None:
        return True  # tips and anonymous Open311 requests may be filed in any hamlet
    path = (*unit.ancestor_ids, unit.id)
    return principal.allows("incidents:report", path) or principal.allows("units:read", path)


async def get_hamlet(hamlet_id: str, *, principal: Principal, stores: Stores) -> UnitReplica:
    """A hamlet known to incidents that the caller may see, or NotFound (the same either way)."""
    unit = await stores.units.get(hamlet_id)
    if (
        unit is None
        or not unit.is_hamlet
        or not principal.allows("units:read", (*unit.ancestor_ids, unit.id))
    ):
        raise NotFound(
            f"hamlet {hamlet_id} is not known here; if it was just registered, retry in a moment"
        )
    return unit


async def reportable_hamlet(
    hamlet_id: str,
    *,
    stores: Stores,
    cache: ReadCache | None = None,
    field: str = "hamlet_id",
    principal: Principal | None = None,
) -> UnitReplica:
    """An active hamlet to report in; refuses unknown, non-hamlet and ended units clearly.

    A unit outside a signed-in caller's grants answers exactly as an unknown one, unless
    it ended and its successor is theirs: then it names the successor to report to.
    """

    async def get(unit_id: str) -> UnitReplica | None:
        if cache is not None:
            return await cache.get(("unit", unit_id), lambda: stores.units.get(unit_id))
        return await stores.units.get(unit_id)

    unit = await get(hamlet_id)
    if unit is None:
        raise unknown_hamlet(field)
    heir = await get(unit.successor_id) if unit.successor_id else None
    if not may_know(principal, unit) and not (heir is not None and may_know(principal, heir)):
        raise unknown_hamlet(field)
    if not unit.is_hamlet:
        raise Invalid(
            f"{unit.name} is a {unit.kind}; report in one of its hamlets (thôn, xóm, bản or "
            "tổ dân phố)",
            field=field,
        )
    if unit.status != "active":
        since = f" since {unit.valid_to:%d/%m/%Y}" if unit.valid_to else ""
        successor = ""
        if unit.successor_id:
            name = f" ({heir.name})" if heir else ""
            successor = f"; report to its successor unit {unit.successor_id}{name}"
        raise Invalid(
            f"hamlet {unit.id} ({unit.name}) is {unit.status}{since}{successor}",
            field=field,
            extra={"successor_id": unit.successor_id} if unit.successor_id else None,
        )
    return unit
