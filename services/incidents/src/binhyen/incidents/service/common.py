"""What the incidents use cases share: context, error mapping, scope helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from binhyen.incidents.domain.deadlines import DEFAULT_POLICY, DeadlinePolicy
from binhyen.incidents.domain.incidents import Incident, RoleNotAllowed, TransitionNotAllowed
from binhyen.incidents.store import Stores
from binhyen.kit.auth import EVERYWHERE, Forbidden, Principal, authorize
from binhyen.kit.problems import Conflict, DomainError, Invalid, NotFound


class PreconditionFailed(DomainError):
    """The incident changed since the caller read it (If-Match)."""

    status, kind, title = 412, "precondition-failed", "Changed since you read it"


class TooManyRequests(DomainError):
    """The client sent too many requests in the window."""

    status, kind, title = 429, "too-many-requests", "Too many requests"


@dataclass(frozen=True)
class Context:
    """Stores, topic naming (deployment prefix), the relay's doorbell and the clock."""

    stores: Stores
    topic: Callable[[str], str]
    wake: Callable[..., None]  # wake(collection, *ids)
    default_policy: DeadlinePolicy = DEFAULT_POLICY
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    settings: Any = None


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


def check_version(current: int, expected: int | None, what: str) -> None:
    """Raise 412 if the caller's If-Match names another version."""
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"{what} is at version {current}, not {expected}; read it again and retry"
        )


def lost_race(what: str) -> PreconditionFailed:
    """The error for a write whose version guard did not match."""
    return PreconditionFailed(f"{what} was changed by someone else meanwhile; read it again")


def roles_at(principal: Principal, unit_path: tuple[str, ...]) -> set[str]:
    """The roles the caller holds at an object with this unit path."""
    return {g.role for g in principal.grants if g.unit_id == EVERYWHERE or g.unit_id in unit_path}


def is_reporter(principal: Principal, incident: Incident) -> bool:
    """True if the caller filed this incident while signed in."""
    return incident.reporter.kind != "anonymous" and incident.reporter.subject == principal.subject


async def load_incident(
    ctx: Context, incident_id: str, principal: Principal, permission: str = "incidents:read"
) -> Incident:
    """An incident the caller may act on, or 404 (outside scope) / 403 (inside, not allowed)."""
    incident = await ctx.stores.incidents.get(incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id} does not exist")
    if permission == "incidents:read" and is_reporter(principal, incident):
        return incident
    authorize(principal, permission, incident.unit_path, what=f"incident {incident_id}")
    return incident
