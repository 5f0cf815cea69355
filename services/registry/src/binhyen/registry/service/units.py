"""Registry use cases: turn commands into domain changes, contract events and writes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from binhyen.contracts import CloudEvent, topic_for_event
from binhyen.contracts.events.units import UnitRegistered
from binhyen.contracts.units import UnitKind, UnitLevel
from binhyen.kit.auth import Principal, authorize
from binhyen.kit.idempotency import request_fingerprint
from binhyen.kit.outbox import outbox_entry
from binhyen.kit.problems import Conflict, Invalid, NotFound
from binhyen.kit.text import fold, nfc
from binhyen.registry.domain import units
from binhyen.registry.store.units import DuplicateValue, UnitStore


@dataclass(frozen=True)
class RegisterUnit:
    """Command: register an admin unit under a parent."""

    kind: str
    name: str
    valid_from: date
    parent_id: str | None = None
    official_code: str | None = None
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """What makes two requests the same, for Idempotency-Key checks."""
        return request_fingerprint(
            {
                "kind": self.kind,
                "name": nfc(self.name),
                "valid_from": self.valid_from,
                "parent_id": self.parent_id,
                "official_code": self.official_code,
            }
        )


def unit_registered(unit: units.Unit) -> UnitRegistered:
    """The contract event carrying a unit's full current state."""
    return UnitRegistered(
        unit_id=unit.id,
        kind=UnitKind(unit.kind),
        level=UnitLevel(unit.level),
        name=unit.name,
        official_code=unit.official_code,
        parent_id=unit.parent_id,
        ancestor_ids=list(unit.ancestor_ids),
        valid_from=unit.valid_from,
        version=unit.version,
    )


async def register_unit(
    cmd: RegisterUnit,
    *,
    principal: Principal,
    store: UnitStore,
    topic: Callable[[str], str],
    wake_relay: Callable[[], None],
) -> tuple[units.Unit, bool]:
    """Register a unit; return it and whether it was created now (False: idempotent replay)."""
    earlier = await _replay(cmd, store)
    if earlier is not None:
        return earlier, False
    parent = None
    if cmd.parent_id is not None:
        parent = await store.get(cmd.parent_id)
        if parent is None or not principal.allows("units:read", _path(parent)):
            raise Invalid(f"parent unit {cmd.parent_id} does not exist", field="parent_id")
    authorize(
        principal,
        "units:write",
        _path(parent) if parent else (),
        what=f"unit {parent.id}" if parent else "the root of the tree",
    )
    try:
        unit = units.register_unit(
            unit_id=str(uuid.uuid4()),
            kind=cmd.kind,
            name=nfc(cmd.name),
            valid_from=cmd.valid_from,
            parent=parent,
            official_code=cmd.official_code,
        )
    except units.UnitRuleViolation as exc:
        raise Invalid(str(exc), field=exc.field) from exc
    event = CloudEvent.wrap(unit_registered(unit))
    entry = outbox_entry(event, topic(topic_for_event(UnitRegistered).name))
    try:
        await store.insert(
            unit,
            search_name=fold(unit.name),
            outbox=[entry],
            idempotency=((cmd.idempotency_key, cmd.fingerprint()) if cmd.idempotency_key else None),
        )
    except DuplicateValue as exc:
        if exc.field == "idempotency_key":  # a concurrent retry won the race
            earlier = await _replay(cmd, store)
            if earlier is not None:
                return earlier, False
        if exc.field == "official_code":
            raise Conflict(
                f"another unit already has official code {cmd.official_code}",
                field="official_code",
            ) from exc
        raise
    wake_relay()
    return unit, True


async def _replay(cmd: RegisterUnit, store: UnitStore) -> units.Unit | None:
    """The unit an earlier request with the same Idempotency-Key created, if any."""
    if cmd.idempotency_key is None:
        return None
    found = await store.by_idempotency_key(cmd.idempotency_key)
    if found is None:
        return None
    unit, fingerprint = found
    if fingerprint != cmd.fingerprint():
        raise Invalid(
            "this Idempotency-Key was already used for a different request; "
            "use a new key for a new unit",
            field="Idempotency-Key",
        )
    return unit


async def get_unit(unit_id: str, *, principal: Principal, store: UnitStore) -> units.Unit:
    """The unit with this id, if the caller may see it."""
    unit = await store.get(unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} does not exist")
    authorize(principal, "units:read", _path(unit), what=f"unit {unit_id}")
    return unit


def _path(unit: units.Unit) -> tuple[str, ...]:
    return (*unit.ancestor_ids, unit.id)
