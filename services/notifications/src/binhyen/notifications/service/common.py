"""What the notifications use cases share: the typed context, the clock, the scope rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from binhyen.kit.auth import Principal, authorize
from binhyen.kit.problems import Invalid, NotFound
from binhyen.kit.runtime import ServiceContext
from binhyen.notifications.channels.base import Channel
from binhyen.notifications.settings import Settings
from binhyen.notifications.store import Stores

# Ids of things this service makes from other ids (alerts from events, deliveries from
# alert × wave × recipient × channel): the same inputs give the same id on every replica.
NAMESPACE = uuid.UUID("0b7d4e62-58c1-4f0e-9d0a-3a4f6c2b9e15")


def derived_id(*parts: str) -> str:
    """A stable id from its parts."""
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))


@dataclass
class Clock:
    """Now, UTC. Tests move it forward to run escalation steps without waiting."""

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        """The current time (UTC)."""
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.offset += timedelta(seconds=seconds)


@dataclass
class Doors:
    """Wake-up calls between parts that start at different times (set by the workers)."""

    dispatch: Callable[[list[tuple[str, str]]], None] = lambda _items: None
    escalate: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class Context(ServiceContext):
    """Settings, stores, channels, the clock and the relay's doors (see ServiceContext)."""

    settings: Settings
    stores: Stores
    channels: Mapping[str, Channel] = field(default_factory=dict)
    clock: Clock = field(default_factory=Clock)
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)  # this replica, for claims
    doors: Doors = field(default_factory=Doors)


async def unit_path(ctx: Context, unit_id: str) -> tuple[str, ...] | None:
    """A unit's path (root first, then it), if the unit is known."""
    unit = await ctx.stores.units.get(unit_id)
    return None if unit is None else unit.path


async def scoped_unit(
    ctx: Context,
    unit_id: str,
    principal: Principal,
    permission: str,
    *,
    field: str = "unit_id",
    read: str = "alerts:read",
) -> tuple[str, ...]:
    """The path of a unit the caller may act on; out of scope answers like unknown."""
    path = await unit_path(ctx, unit_id)
    if path is None or not principal.allows(read, path):
        raise Invalid(f"unit {unit_id} does not exist", field=field)
    authorize(principal, permission, path, what=f"unit {unit_id}")
    return path


def not_found(what: str) -> NotFound:
    """The answer for an unknown (or out-of-scope) object."""
    return NotFound(f"{what} does not exist")
