"""What the incidents use cases share: context, error mapping, scope helpers."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from binhyen.incidents.domain.deadlines import DEFAULT_POLICY, DeadlinePolicy
from binhyen.incidents.domain.incidents import (
    Incident,
    Reporter,
    RoleNotAllowed,
    TransitionNotAllowed,
    with_reporter_ref,
)
from binhyen.incidents.settings import Settings
from binhyen.incidents.store import Stores
from binhyen.kit.auth import EVERYWHERE, Forbidden, Principal, authorize
from binhyen.kit.problems import Conflict, DomainError, Invalid, NotFound

# The use cases take the optimistic-concurrency errors from here, as before.
from binhyen.kit.problems import PreconditionFailed as PreconditionFailed
from binhyen.kit.problems import check_version as check_version
from binhyen.kit.problems import lost_race as lost_race
from binhyen.kit.runtime import ServiceContext

T = TypeVar("T")


class TooManyRequests(DomainError):
    """The client sent too many requests in the window."""

    status, kind, title = 429, "too-many-requests", "Too many requests"


class ReadCache:
    """Recently read reference data (hamlets, categories, the policy), kept a few seconds.

    Intake reads the same few documents for every report; keeping them briefly saves
    three database round trips per report. A change made on this replica is seen at
    once (:meth:`forget`); one made elsewhere within ``seconds``.
    """

    def __init__(self, seconds: float = 5.0) -> None:
        self._seconds = seconds
        self._items: dict[Hashable, tuple[float, Any]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """The cached value of ``key``, loading it when missing or stale."""
        now = time.monotonic()
        hit = self._items.get(key)
        if hit is not None and hit[0] > now:
            value: T = hit[1]
            return value
        loaded = await load()
        if self._seconds > 0 and loaded is not None:  # unknown ids are asked again
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (now + self._seconds, loaded)
        return loaded

    def forget(self, key: Hashable) -> None:
        """Drop ``key`` (after changing it here)."""
        self._items.pop(key, None)


@dataclass(frozen=True)
class Context(ServiceContext):
    """What the incidents use cases share: settings, stores, a short cache of reference
    data, the deadline policy, the clock, and the outbox relay's doors (``publish_pending``,
    ``publish_new``; see ``ServiceContext``)."""

    settings: Settings
    stores: Stores
    cache: ReadCache = field(default_factory=ReadCache)
    default_policy: DeadlinePolicy = DEFAULT_POLICY
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def domain_error(exc: Exception) -> DomainError:
    """Map a domain rule violation to the problem it answers."""
    if isinstance(exc, TransitionNotAllowed):
        return Conflict(
            str(exc),
            field="action",
            extra={"current_status": exc.current, "allowed_actions": list(exc.allowed)},
        )
    if isinstance(exc, RoleNotAllowed):
        return Forbidden(str(exc), extra={"allowed_roles": exc.roles})
    field_name = getattr(exc, "field", None)
    if getattr(exc, "status", 422) == 409:
        return Conflict(str(exc), field=field_name)
    return Invalid(str(exc), field=field_name)


def reporter_ref(ctx: Context, incident_id: str, reporter: Reporter) -> str:
    """The reporter's pseudonymous reference on this incident (what staff and events see).

    Keyed on the incident too: the same reporter writing again on one incident keeps one
    reference, but references of two incidents cannot be linked, nor traced to an account
    without the key. The identity itself is read through the audited unmask alone.
    """
    key = ctx.settings.tip_key().encode()
    who = f"reporter-ref\x00{incident_id}\x00{reporter.kind}\x00{reporter.subject or ''}"
    return "reporter-" + hmac.new(key, who.encode(), hashlib.sha256).hexdigest()[:20]


def pseudonymised(ctx: Context, incident: Incident) -> Incident:
    """The incident as views show it: the reporter's entries under their reference."""
    return with_reporter_ref(incident, reporter_ref(ctx, incident.id, incident.reporter))


def roles_at(principal: Principal, unit_path: tuple[str, ...]) -> set[str]:
    """The roles the caller holds at an object with this unit path."""
    return {g.role for g in principal.grants if g.unit_id == EVERYWHERE or g.unit_id in unit_path}


def is_reporter(principal: Principal, incident: Incident) -> bool:
    """True if the caller filed this incident while signed in."""
    return incident.reporter.kind != "anonymous" and incident.reporter.subject == principal.subject


async def load_incident(
    ctx: Context, incident_id: str, principal: Principal, permission: str = "incidents:read"
) -> Incident:
    """An incident the caller may act on, or 404 (outside scope) / 403 (inside, not allowed).

    Outside scope means: not the caller's report and no ``incidents:read`` there (seeing the
    units is not enough); it answers exactly as an unknown id.
    """
    incident = await ctx.stores.incidents.get(incident_id)
    mine = incident is not None and is_reporter(principal, incident)
    if incident is None or not (mine or principal.allows("incidents:read", incident.unit_path)):
        raise NotFound(f"incident {incident_id} does not exist")
    if not (permission == "incidents:read" and mine):
        authorize(principal, permission, incident.unit_path, what=f"incident {incident_id}")
    return pseudonymised(ctx, incident)
