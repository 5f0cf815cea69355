"""Enrolment use cases: a hamlet enrols for a year, or withdraws."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.enrolments import EnrolmentState, EnrolmentWithdrawn, HamletEnrolled
from binhyen.contracts.topics import REGISTRY_ENROLMENTS
from binhyen.kit.auth import Principal, authorize
from binhyen.kit.outbox import outbox_entry
from binhyen.kit.problems import Conflict, NotFound, if_match_given, retry_unconditional
from binhyen.registry.domain import enrolments
from binhyen.registry.domain.enrolments import Enrolment, EnrolmentRuleViolation
from binhyen.registry.service.common import (
    Context,
    check_version,
    domain_error,
    hamlet,
    lost_race,
    units_in_scope,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _data(enrolment: Enrolment, event: type[EnrolmentState]) -> EnrolmentState:
    return event(
        enrolment_id=enrolment.id,
        unit_id=enrolment.unit_id,
        year=enrolment.year,
        resolution_date=enrolment.resolution_date,
        registered_on=enrolment.registered_on,
        resolution_in_first_quarter=enrolment.resolution_in_first_quarter,
        status=enrolment.status,
        version=enrolment.version,
    )


def _outbox(
    ctx: Context, enrolment: Enrolment, event: type[EnrolmentState]
) -> list[dict[str, Any]]:
    data = _data(enrolment, event)
    return [outbox_entry(CloudEvent.wrap(data), ctx.topic(REGISTRY_ENROLMENTS.name))]


async def enrol(
    unit_id: str,
    *,
    year: int,
    resolution_date: date,
    registered_on: date,
    note: str,
    principal: Principal,
    ctx: Context,
) -> Enrolment:
    """Enrol a hamlet for a year (once per hamlet and year)."""
    unit = await hamlet(ctx, unit_id, principal, "enrolments:write")
    try:
        enrolment = enrolments.enrol(
            unit_id=unit.id,
            year=year,
            resolution_date=resolution_date,
            registered_on=registered_on,
            note=note,
            today=datetime.now(VN).date(),
        )
    except EnrolmentRuleViolation as exc:
        raise domain_error(exc) from exc
    if not await ctx.stores.enrolments.insert(
        enrolment, outbox=_outbox(ctx, enrolment, HamletEnrolled)
    ):
        raise Conflict(f"{unit.name} is already enrolled for {year}", field="year")
    ctx.publish_pending("enrolments", enrolment.id)
    return enrolment


@retry_unconditional(if_match_given)
async def withdraw(
    unit_id: str, *, year: int, expected_version: int | None, principal: Principal, ctx: Context
) -> Enrolment:
    """Withdraw a hamlet's enrolment for a year."""
    enrolment = await get_enrolment(unit_id, year=year, principal=principal, ctx=ctx)
    path = await ctx.stores.units.path_of(unit_id) or (unit_id,)
    authorize(principal, "enrolments:write", path, what=f"enrolment {enrolment.id}")
    check_version(enrolment.version, expected_version, f"enrolment {enrolment.id}")
    try:
        withdrawn = enrolments.withdraw(enrolment)
    except EnrolmentRuleViolation as exc:
        raise domain_error(exc) from exc
    if not await ctx.stores.enrolments.save(
        withdrawn,
        expected_version=enrolment.version,
        outbox=_outbox(ctx, withdrawn, EnrolmentWithdrawn),
    ):
        raise lost_race(f"enrolment {enrolment.id}")
    ctx.publish_pending("enrolments", enrolment.id)
    return withdrawn


async def get_enrolment(
    unit_id: str, *, year: int, principal: Principal, ctx: Context
) -> Enrolment:
    """A hamlet's enrolment for a year."""
    path = await ctx.stores.units.path_of(unit_id)
    if path is None:
        raise NotFound(f"unit {unit_id} does not exist")
    authorize(principal, "enrolments:read", path, what=f"unit {unit_id}")
    enrolment = await ctx.stores.enrolments.get(enrolments.enrolment_id(unit_id, year))
    if enrolment is None:
        raise NotFound(f"unit {unit_id} has no enrolment for {year}")
    return enrolment


async def list_enrolments(
    *, principal: Principal, ctx: Context, unit_id: str | None, year: int | None, limit: int
) -> list[Enrolment]:
    """Enrolments the caller may read, in a subtree and year."""
    unit_ids = await units_in_scope(ctx, principal, "enrolments:read", unit_id)
    if unit_ids is not None and not unit_ids:
        return []
    return await ctx.stores.enrolments.search(unit_ids=unit_ids, year=year, limit=limit)
