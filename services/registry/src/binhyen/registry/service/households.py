"""Household use cases: register with members, edit, move, pledge, dissolve, search.

A household and its residents are separate documents. A write that spans them
records what remains to be written in the household document, in the same atomic
write as the household change; the rest is then written idempotently and the
marker cleared. ``resume_pending`` (run by the workflow worker) finishes what a crash
or a run of lost races left.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.households import (
    HouseholdDissolved,
    HouseholdMoved,
    HouseholdPledged,
    HouseholdRegistered,
    HouseholdState,
    HouseholdUpdated,
    PledgeState,
)
from binhyen.contracts.events.people import PersonMoved
from binhyen.contracts.topics import REGISTRY_HOUSEHOLDS
from binhyen.kit.auth import Principal, authorize
from binhyen.kit.idempotency import caller_scope, create_once, creation, request_fingerprint
from binhyen.kit.outbox import outbox_entry
from binhyen.kit.problems import Invalid, NotFound, if_match_given, retry_unconditional
from binhyen.kit.text import nfc
from binhyen.registry.domain import households, people
from binhyen.registry.domain.households import Household, HouseholdRuleViolation
from binhyen.registry.service.common import (
    Context,
    check_version,
    domain_error,
    hamlet,
    lost_race,
    today_vn,
    units_in_scope,
)
from binhyen.registry.service.residents import (
    NewPerson,
    new_person,
    new_person_document,
    person_event,
    person_outbox,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegisterHousehold:
    """Command: register a household of a hamlet, optionally with its residents."""

    unit_id: str
    address: str
    registration_code: str | None = None
    members: list[NewPerson] = field(default_factory=list)
    head_index: int | None = None
    idempotency_key: str | None = None
    registered_on: date | None = None  # None: today

    def fingerprint(self) -> str:
        """What makes two requests the same, for Idempotency-Key checks."""
        return request_fingerprint(
            {
                "unit_id": self.unit_id,
                "address": nfc(self.address),
                "code": self.registration_code,
                "members": [vars(m) for m in self.members],
                "head": self.head_index,
                **({"registered_on": self.registered_on.isoformat()} if self.registered_on else {}),
            }
        )


def household_event(
    household: Household, event: type[HouseholdState], **extra: Any
) -> HouseholdState:
    """The contract event for a household's latest change, carrying its full state."""
    return event(
        household_id=household.id,
        unit_id=household.unit_id,
        address=household.address,
        head_person_id=household.head_person_id,
        registration_code=household.registration_code,
        status=household.status,
        pledges=[
            PledgeState(
                year=p.year,
                signed_on=p.signed_on,
                collected_by=p.collected_by,
                commitments=list(p.commitments),
            )
            for p in household.pledges
        ],
        registered_on=household.registered_on,
        dissolved_on=household.dissolved_on,
        version=household.version,
        **extra,
    )


def household_outbox(ctx: Context, event: HouseholdState) -> list[dict[str, Any]]:
    """Outbox entries for a household's change."""
    return [outbox_entry(CloudEvent.wrap(event), ctx.topic(REGISTRY_HOUSEHOLDS.name))]


async def load_household(
    ctx: Context, household_id: str, principal: Principal, permission: str
) -> Household:
    """A household the caller may act on, or 404."""
    household = await ctx.stores.households.get(household_id)
    if household is None:
        raise NotFound(f"household {household_id} does not exist")
    path = await ctx.stores.units.path_of(household.unit_id) or (household.unit_id,)
    authorize(principal, permission, path, what=f"household {household_id}")
    return household


async def register_household(
    cmd: RegisterHousehold, *, principal: Principal, ctx: Context
) -> tuple[Household, bool]:
    """Register a household with its residents; False when replaying an Idempotency-Key."""
    request = creation(
        "households",
        scope=caller_scope(principal),
        key=cmd.idempotency_key,
        fingerprint=cmd.fingerprint(),
    )

    async def create() -> Household | None:
        unit = await hamlet(ctx, cmd.unit_id, principal, "households:write")
        if cmd.members:
            authorize(principal, "people:write", unit.path, what=f"unit {unit.id}")
        try:
            today = today_vn()
            household = households.register_household(
                household_id=request.result_id,
                unit_id=unit.id,
                address=nfc(cmd.address),
                registration_code=cmd.registration_code,
                registered_on=cmd.registered_on or today,
                today=today,
            )
        except HouseholdRuleViolation as exc:
            raise domain_error(exc) from exc
        members = [
            new_person(m, unit_id=unit.id, household_id=household.id, field_prefix=f"members.{i}.")
            for i, m in enumerate(cmd.members)
        ]
        if members:
            head = cmd.head_index if cmd.head_index is not None else 0
            if not 0 <= head < len(members):
                raise Invalid("head must be the index of one of the members", field="head_index")
            household = replace(household, head_person_id=members[head].id)
        pending = {"people": [new_person_document(ctx, p) for p in members]} if members else None
        inserted = await ctx.stores.households.insert(
            household,
            outbox=household_outbox(ctx, household_event(household, HouseholdRegistered)),
            pending=pending,
            record=request.record,
        )
        return household if inserted else None

    async def may_have(household: Household) -> None:
        path = await ctx.stores.units.path_of(household.unit_id) or (household.unit_id,)
        what = f"unit {household.unit_id}"  # as the create names it
        authorize(principal, "households:write", path, what=what)
        if cmd.members:
            authorize(principal, "people:write", path, what=what)

    household, created = await create_once(
        request,
        create=create,
        find=lambda: ctx.stores.households.with_fingerprint(request.result_id),
        check=may_have,
    )
    # A first attempt may have stopped before writing the residents: finish it.
    await finish_pending(ctx, household.id)
    return household, created


async def finish_pending(ctx: Context, household_id: str) -> bool:
    """Write what a household change left for other documents, then clear its marker.

    False if residents kept changing meanwhile: the marker stays, and the workflow worker
    finishes it later.
    """
    done = True
    for _, pending in await ctx.stores.households.pending(household_id):
        people = pending.get("people", [])
        await ctx.stores.people.insert_many(people)
        ctx.publish_pending("people", *(p["_id"] for p in people))
        if "follow_unit" in pending and not await _members_follow(
            ctx, household_id, pending["follow_unit"]
        ):
            done = False
            continue
        await ctx.stores.households.clear_pending(household_id, pending)
    ctx.publish_pending("households", household_id)
    return done


async def resume_pending(ctx: Context) -> int:
    """Finish every multi-document household write left unfinished; return how many."""
    finished = 0
    for household_id, _ in await ctx.stores.households.pending():
        finished += await finish_pending(ctx, household_id)
    return finished


async def _members_follow(ctx: Context, household_id: str, unit_id: str) -> bool:
    """Move the household's residents to its new unit; False if they kept changing."""
    for _attempt in range(5):
        members = await ctx.stores.people.of_household(household_id)
        changes = []
        for person in members:
            moved = people.follow_household(person, unit_id=unit_id)
            if moved is not person:
                event = person_event(
                    moved,
                    PersonMoved,
                    previous_household_id=household_id,
                    previous_unit_id=person.unit_id,
                )
                changes.append((moved, person.version, person_outbox(ctx, event)))
        saved = await ctx.stores.people.save_many(changes)
        ctx.publish_pending("people", *(person.id for person, _, _ in changes))
        if saved == len(changes):
            return True
    log.warning(
        "residents of a moved household kept changing; the workflow worker finishes it",
        extra={"household_id": household_id},
    )
    return False


async def _save(
    ctx: Context,
    before: Household,
    after: Household,
    event: HouseholdState,
    pending: dict[str, Any] | None = None,
) -> None:
    saved = await ctx.stores.households.save(
        after,
        expected_version=before.version,
        outbox=household_outbox(ctx, event),
        pending=pending,
    )
    if not saved:
        raise lost_race(f"household {before.id}")
    ctx.publish_pending("households", after.id)


@retry_unconditional(if_match_given)
async def update_household(
    household_id: str,
    *,
    address: str | None,
    registration_code: str | None,
    head_person_id: str | None,
    expected_version: int | None,
    principal: Principal,
    ctx: Context,
) -> Household:
    """Edit a household's address, registration code or head."""
    household = await load_household(ctx, household_id, principal, "households:write")
    check_version(household.version, expected_version, f"household {household_id}")
    try:
        updated = households.update(
            household,
            address=nfc(address) if address is not None else None,
            registration_code=registration_code,
        )
        if head_person_id is not None:
            members = {p.id for p in await ctx.stores.people.of_household(household.id)}
            updated = households.set_head(updated, person_id=head_person_id, member_ids=members)
            updated = Household(**{**vars(updated), "version": household.version + 1})
    except HouseholdRuleViolation as exc:
        raise domain_error(exc) from exc
    await _save(ctx, household, updated, household_event(updated, HouseholdUpdated))
    return updated


async def clear_head_if(ctx: Context, household_id: str, person_id: str) -> None:
    """A head who left or ended is no longer head of the household."""
    for _attempt in range(5):
        household = await ctx.stores.households.get(household_id)
        if household is None or household.head_person_id != person_id:
            return
        updated = Household(
            **{**vars(household), "head_person_id": None, "version": household.version + 1}
        )
        if await ctx.stores.households.save(
            updated,
            expected_version=household.version,
            outbox=household_outbox(ctx, household_event(updated, HouseholdUpdated)),
        ):
            ctx.publish_pending("households", household_id)
            return


@retry_unconditional(if_match_given)
async def move_household(
    household_id: str,
    *,
    unit_id: str,
    expected_version: int | None,
    principal: Principal,
    ctx: Context,
) -> Household:
    """Move a household (and its residents) to another hamlet."""
    household = await load_household(ctx, household_id, principal, "households:write")
    check_version(household.version, expected_version, f"household {household_id}")
    target = await hamlet(ctx, unit_id, principal, "households:write")
    try:
        moved = households.move(household, unit_id=target.id)
    except HouseholdRuleViolation as exc:
        raise domain_error(exc) from exc
    event = household_event(moved, HouseholdMoved, previous_unit_id=household.unit_id)
    await _save(ctx, household, moved, event, pending={"follow_unit": target.id})
    await finish_pending(ctx, household.id)
    return moved


@retry_unconditional(if_match_given)
async def dissolve_household(
    household_id: str, *, expected_version: int | None, principal: Principal, ctx: Context
) -> Household:
    """End a household nobody lives in any more."""
    household = await load_household(ctx, household_id, principal, "households:write")
    check_version(household.version, expected_version, f"household {household_id}")
    try:
        ended = households.dissolve(
            household,
            active_members=await ctx.stores.people.count_active(household.id),
            on=today_vn(),
        )
    except HouseholdRuleViolation as exc:
        raise domain_error(exc) from exc
    await _save(ctx, household, ended, household_event(ended, HouseholdDissolved))
    return ended


@retry_unconditional(if_match_given)
async def record_pledge(
    household_id: str,
    *,
    year: int,
    signed_on: date,
    commitments: list[str],
    expected_version: int | None,
    principal: Principal,
    ctx: Context,
) -> Household:
    """Record the household's signed pledge for a year (collected by the caller)."""
    household = await load_household(ctx, household_id, principal, "households:write")
    check_version(household.version, expected_version, f"household {household_id}")
    try:
        pledged = households.pledge(
            household,
            year=year,
            signed_on=signed_on,
            collected_by=principal.subject,
            commitments=commitments,
        )
    except HouseholdRuleViolation as exc:
        raise domain_error(exc) from exc
    await _save(ctx, household, pledged, household_event(pledged, HouseholdPledged, year=year))
    return pledged


async def get_household(
    household_id: str, *, principal: Principal, ctx: Context
) -> tuple[Household, list[people.Person] | None]:
    """A household and, if the caller may read residents, its active members."""
    household = await load_household(ctx, household_id, principal, "households:read")
    path = await ctx.stores.units.path_of(household.unit_id) or ()
    if not principal.allows("people:read", path):
        return household, None
    return household, await ctx.stores.people.of_household(household.id)


async def list_households(
    *,
    principal: Principal,
    ctx: Context,
    unit_id: str | None = None,
    text: str | None = None,
    status: str | None = "active",
    pledged_in: int | None = None,
    after: str | None = None,
    limit: int = 50,
) -> list[Household]:
    """Households the caller may read, filtered; address search ignores diacritics."""
    unit_ids = await units_in_scope(ctx, principal, "households:read", unit_id)
    if unit_ids is not None and not unit_ids:
        return []
    return await ctx.stores.households.search(
        unit_ids=unit_ids,
        text=text,
        status=status,
        pledged_in=pledged_in,
        after=after,
        limit=limit,
    )
