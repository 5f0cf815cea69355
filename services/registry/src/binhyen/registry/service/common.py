"""What the registry's use cases share: context, error mapping, scope helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from binhyen.kit.auth import Principal, authorize
from binhyen.kit.problems import Conflict, DomainError, Invalid

# The use cases take the optimistic-concurrency errors from here, as before.
from binhyen.kit.problems import PreconditionFailed as PreconditionFailed
from binhyen.kit.problems import check_version as check_version
from binhyen.kit.problems import lost_race as lost_race
from binhyen.kit.runtime import ServiceContext
from binhyen.registry.domain.organisations import VN as VN
from binhyen.registry.domain.units import Unit
from binhyen.registry.service.import_files import FilePool
from binhyen.registry.settings import Settings
from binhyen.registry.store import Stores

if TYPE_CHECKING:
    from binhyen.registry.service.identity import SigningKey


def today_vn() -> date:
    """Today's date in Vietnam."""
    return datetime.now(VN).date()


class RuleViolation(Protocol):
    """A domain rule error: a message, the field at fault, 409 or 422."""

    field: str
    status: int


@dataclass(frozen=True)
class Context(ServiceContext):
    """What the registry's use cases share: settings, stores, the token signing key, and the
    outbox relay's doors (``publish_pending``, ``publish_new``; see ``ServiceContext``)."""

    settings: Settings
    stores: Stores
    signing_key: SigningKey | None = None
    # Worker processes reading uploaded spreadsheets (started at the first upload).
    import_files: FilePool = field(default_factory=lambda: FilePool(1))


def domain_error(exc: Exception) -> DomainError:
    """Map a domain rule violation to the problem it answers."""
    field = getattr(exc, "field", None)
    if getattr(exc, "status", 422) == 409:
        return Conflict(str(exc), field=field)
    return Invalid(str(exc), field=field)


async def hamlet(
    ctx: Context, unit_id: str, principal: Principal, permission: str, *, field: str = "unit_id"
) -> Unit:
    """An active hamlet-tier unit inside the caller's scope for ``permission``."""
    unit = await ctx.stores.units.get(unit_id)
    if unit is None or not principal.allows("units:read", unit.path):
        raise Invalid(f"unit {unit_id} does not exist", field=field)
    authorize(principal, permission, unit.path, what=f"unit {unit_id}")
    if unit.level != "hamlet":
        raise Invalid(
            f"{unit.name} is a {unit.kind}; households and residents belong to a hamlet "
            "(thôn, xóm, bản or tổ dân phố)",
            field=field,
        )
    if unit.status != "active":
        successor = f"; use its successor {unit.successor_id}" if unit.successor_id else ""
        raise Invalid(
            f"hamlet {unit.id} is {unit.status} since {unit.current.effective_from:%d/%m/%Y}"
            f"{successor}",
            field=field,
        )
    return unit


async def units_in_scope(
    ctx: Context, principal: Principal, permission: str, under: str | None
) -> set[str] | None:
    """Unit ids the caller may see for ``permission``, narrowed to ``under``; None: all."""
    scopes = principal.scopes(permission)
    if under is not None:
        path = await ctx.stores.units.path_of(under)
        if path is None:
            return set()
        if scopes is not None and not set(path) & set(scopes):
            return set()
        return await ctx.stores.units.subtree_ids([under])
    if scopes is None:
        return None
    return await ctx.stores.units.subtree_ids(scopes) if scopes else set()
