"""Resident use cases: register, edit, move between households, end, erase, search."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from binhyen.contracts.events.people import PersonEnded, PersonMoved, PersonState, PersonUpdated
from binhyen.contracts.topics import REGISTRY_PEOPLE
from binhyen.kit.auth import Principal, authorize
from binhyen.kit.idempotency import caller_scope, create_once, creation, request_fingerprint
from binhyen.kit.outbox import tombstone_entry
from binhyen.kit.problems import Invalid, NotFound, if_match_given, never, retry_unconditional
from binhyen.kit.text import nfc
from binhyen.registry.domain import people
from binhyen.registry.domain.people import Person, PersonRuleViolation
from binhyen.registry.service.common import (
    Context,
    check_version,
    domain_error,
    hamlet,
    lost_race,
    units_in_scope,
)
from binhyen.registry.service.households import clear_head_if, load_household
from binhyen.registry.service.residents import (
    NewPerson,
    new_person,
    new_person_document,
    person_event,
    person_outbox,
)


async def load_person(
    ctx: Context, person_id: str, principal: Principal, permission: str
) -> Person:
    """A resident the caller may act on, or 404."""
    person = await ctx.stores.people.get(person_id)
    if person is None:
        raise NotFound(f"resident {person_id} does not exist")
    path = await ctx.stores.units.path_of(person.unit_id) or (person.unit_id,)
    authorize(principal, permission, path, what=f"resident {person_id}")
    return person


async def register_person(
    spec: NewPerson,
    *,
    household_id: str,
    principal: Principal,
    ctx: Context,
    idempotency_key: str | None = None,
) -> tuple[Person, bool]:
    """Register a resident in an existing household; False when replaying an Idempotency-Key."""
    request = creation(
        "people",
        scope=caller_scope(principal),
        key=idempotency_key,
        fingerprint=request_fingerprint(
            {"household_id": household_id, **spec.fingerprint_fields()}
        ),
    )

    async def create() -> Person | None:
        household = await ctx.stores.households.get(household_id)
        if household is None:
            raise Invalid(f"household {household_id} does not exist", field="household_id")
        unit = await hamlet(ctx, household.unit_id, principal, "people:write", field="household_id")
        if household.status != "active":
            raise Invalid("the household is dissolved", field="household_id")
        person = new_person(
            spec, unit_id=unit.id, household_id=household.id, person_id=request.result_id
        )
        if not await ctx.stores.people.insert(new_person_document(ctx, person) | request.record):
            return None
        ctx.publish_pending("people", person.id)
        return person

    async def may_have(person: Person) -> None:
        path = await ctx.stores.units.path_of(person.unit_id) or (person.unit_id,)
        authorize(principal, "people:write", path, what=f"household {person.household_id}")

    return await create_once(
        request,
        create=create,
        find=lambda: ctx.stores.people.with_fingerprint(request.result_id),
        check=may_have,
    )


@retry_unconditional(if_match_given)
async def update_person(
    person_id: str,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None,
    principal: Principal,
    ctx: Context,
) -> Person:
    """Edit a resident's details."""
    person = await load_person(ctx, person_id, principal, "people:write")
    check_version(person.version, expected_version, f"resident {person_id}")
    values = dict(changes)
    if "full_name" in values:
        values["full_name"] = nfc(values["full_name"])
        if not values["full_name"]:
            raise Invalid("full name must not be blank", field="full_name")
    try:
        updated = people.update_person(person, values)
    except PersonRuleViolation as exc:
        raise domain_error(exc) from exc
    await _save(ctx, person, updated, person_event(updated, PersonUpdated))
    return updated


@retry_unconditional(if_match_given)
async def move_person(
    person_id: str,
    *,
    household_id: str,
    expected_version: int | None,
    principal: Principal,
    ctx: Context,
) -> Person:
    """Make a resident a member of another household (in any hamlet the caller manages)."""
    person = await load_person(ctx, person_id, principal, "people:write")
    check_version(person.version, expected_version, f"resident {person_id}")
    target = await ctx.stores.households.get(household_id)
    if target is None or target.status != "active":
        raise Invalid(
            f"household {household_id} does not exist or is dissolved", field="household_id"
        )
    await hamlet(ctx, target.unit_id, principal, "people:write", field="household_id")
    try:
        moved = people.move_to_household(person, household_id=target.id, unit_id=target.unit_id)
    except PersonRuleViolation as exc:
        raise domain_error(exc) from exc
    event = person_event(
        moved,
        PersonMoved,
        previous_household_id=person.household_id,
        previous_unit_id=person.unit_id,
    )
    await _save(ctx, person, moved, event)
    await clear_head_if(ctx, person.household_id, person.id)
    return moved


@retry_unconditional(if_match_given)
async def end_person(
    person_id: str,
    *,
    status: str,
    expected_version: int | None,
    principal: Principal,
    ctx: Context,
) -> Person:
    """A resident moved out, died, or is removed from the register."""
    person = await load_person(ctx, person_id, principal, "people:write")
    check_version(person.version, expected_version, f"resident {person_id}")
    try:
        ended = people.end(person, status=status)  # type: ignore[arg-type]
    except PersonRuleViolation as exc:
        raise domain_error(exc) from exc
    await _save(ctx, person, ended, person_event(ended, PersonEnded))
    await clear_head_if(ctx, person.household_id, person.id)
    return ended


@retry_unconditional(never)
async def erase_person(person_id: str, *, principal: Principal, ctx: Context) -> Person:
    """Erase the personal data of a resident who is no longer active; a tombstone follows."""
    person = await load_person(ctx, person_id, principal, "people:write")
    try:
        erased = people.erase(person)
    except PersonRuleViolation as exc:
        raise domain_error(exc) from exc
    tombstone = tombstone_entry(person.id, ctx.topic(REGISTRY_PEOPLE.name))
    if not await ctx.stores.people.save(
        erased, expected_version=person.version, outbox=[tombstone]
    ):
        raise lost_race(f"resident {person_id}")
    ctx.publish_pending("people", person_id)
    return erased


async def _save(ctx: Context, before: Person, after: Person, event: PersonState) -> None:
    saved = await ctx.stores.people.save(
        after, expected_version=before.version, outbox=person_outbox(ctx, event)
    )
    if not saved:
        raise lost_race(f"resident {before.id}")
    ctx.publish_pending("people", before.id)


async def get_person(person_id: str, *, principal: Principal, ctx: Context) -> Person:
    """A resident the caller may read."""
    return await load_person(ctx, person_id, principal, "people:read")


async def list_people(
    *,
    principal: Principal,
    ctx: Context,
    unit_id: str | None = None,
    household_id: str | None = None,
    text: str | None = None,
    phone: str | None = None,
    status: str | None = "active",
    after: str | None = None,
    limit: int = 50,
) -> list[Person]:
    """Residents the caller may read; "Nguyen Van Hao" finds "Nguyễn Văn Hảo"."""
    unit_ids = await units_in_scope(ctx, principal, "people:read", unit_id)
    if unit_ids is not None and not unit_ids:
        return []
    if household_id is not None:
        await load_household(ctx, household_id, principal, "people:read")
    if phone is not None:
        try:
            phone = people.normalise_phone(phone, field="phone")
        except PersonRuleViolation as exc:
            raise domain_error(exc) from exc
    return await ctx.stores.people.search(
        unit_ids=unit_ids,
        household_id=household_id,
        text=text,
        phone=phone,
        status=status,
        after=after,
        limit=limit,
    )
