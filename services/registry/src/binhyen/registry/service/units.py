"""Admin-unit use cases: register, rename, move, merge, dissolve, and dated queries."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.asynchronous.collection import AsyncCollection

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.public import PublicUnit
from binhyen.contracts.events.units import (
    UnitDissolved,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
    UnitRenamed,
    UnitState,
)
from binhyen.contracts.topics import REGISTRY_PUBLIC, REGISTRY_UNITS
from binhyen.contracts.units import UnitKind, UnitLevel
from binhyen.kit.auth import Principal, authorize
from binhyen.kit.idempotency import caller_scope, create_once, creation, request_fingerprint
from binhyen.kit.outbox import outbox_entry
from binhyen.kit.problems import Conflict, Invalid, NotFound, if_match_given, retry_unconditional
from binhyen.kit.text import nfc
from binhyen.registry.domain import units
from binhyen.registry.domain.units import Unit, UnitRuleViolation
from binhyen.registry.service import organisations, tasks
from binhyen.registry.service.common import Context, check_version, domain_error, lost_race
from binhyen.registry.store.units import DuplicateValue, UnitStore

log = logging.getLogger(__name__)
VN = ZoneInfo("Asia/Ho_Chi_Minh")

Topic = Callable[[str], str]
Publish = Callable[..., None]
PathOf = Callable[[str], Awaitable[tuple[str, ...] | None]]
# Brings one kind of copy of unit paths up to date under a moved unit; returns how many
# documents lost a race with a concurrent change (left for a later pass).
Follower = Callable[[str, PathOf], Awaitable[int]]
ATTEMPTS = 5  # passes over a moved subtree before leaving the rest to the workflow worker


@dataclass(frozen=True)
class UnitsContext:
    """What every unit use case needs: the store, topic naming and the relay's door.

    ``followers`` update the copies of unit paths other aggregates keep for scope
    filtering (organisations, plans and tasks, user grants) after a move or merge.
    """

    store: UnitStore
    topic: Topic
    publish_pending: Publish  # ServiceContext.publish_pending of the registry
    # What is still active at these units, by kind (households, residents, organisations).
    active_at: Callable[[list[str]], Awaitable[dict[str, int]]]
    followers: tuple[Follower, ...] = ()


def units_context(ctx: Context) -> UnitsContext:
    """The units context of the registry's context, with a follower for every kind of copy
    of unit paths."""

    async def organisation_paths(moved_id: str, path_of: PathOf) -> int:
        return await organisations.follow_unit_paths(moved_id, path_of, ctx=ctx)

    async def task_paths(moved_id: str, path_of: PathOf) -> int:
        return await tasks.follow_unit_paths(moved_id, path_of, ctx=ctx)

    async def grant_paths(moved_id: str, path_of: PathOf) -> int:
        return await _follow_grant_paths(ctx.stores.identity.collection, moved_id, path_of)

    async def active_at(unit_ids: list[str]) -> dict[str, int]:
        query = {"unit_id": {"$in": unit_ids}, "status": "active"}
        stores = ctx.stores
        return {
            "households": await stores.households.collection.count_documents(query),
            "residents": await stores.people.collection.count_documents(query),
            "organisations and teams": await stores.organisations.collection.count_documents(query),
        }

    return UnitsContext(
        store=ctx.stores.units,
        topic=ctx.topic,
        publish_pending=ctx.publish_pending,
        followers=(organisation_paths, task_paths, grant_paths),
        active_at=active_at,
    )


def today_vn() -> date:
    """Today's date in Vietnam."""
    return datetime.now(VN).date()


def _in_window(day: date, field: str) -> None:
    try:
        units.check_date_window(day, today=today_vn(), field=field)
    except UnitRuleViolation as exc:
        raise domain_error(exc) from exc


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


def _state(unit: Unit, **extra: Any) -> dict[str, Any]:
    return {
        "unit_id": unit.id,
        "kind": UnitKind(unit.kind),
        "level": UnitLevel(unit.level),
        "name": unit.name,
        "official_code": unit.official_code,
        "parent_id": unit.parent_id,
        "ancestor_ids": list(unit.ancestor_ids),
        "valid_from": unit.valid_from,
        "version": unit.version,
        "status": unit.status,
        "successor_id": unit.successor_id,
        "valid_to": unit.valid_to,
        "changed_on": unit.last_change,
        **extra,
    }


def unit_event(unit: Unit, event: type[UnitState], **extra: Any) -> UnitState:
    """The contract event for a unit's latest change, carrying its full state."""
    return event(**_state(unit, **extra))


def public_unit(unit: Unit) -> PublicUnit:
    """The unit as the public topic shows it."""
    state = _state(unit)
    del state["changed_on"]
    return PublicUnit(**state)


def _outbox(ctx: UnitsContext, unit: Unit, event: UnitState) -> list[dict[str, Any]]:
    return [
        outbox_entry(CloudEvent.wrap(event), ctx.topic(REGISTRY_UNITS.name)),
        outbox_entry(CloudEvent.wrap(public_unit(unit)), ctx.topic(REGISTRY_PUBLIC.name)),
    ]


async def _load(ctx: UnitsContext, unit_id: str, principal: Principal, permission: str) -> Unit:
    unit = await ctx.store.get(unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} does not exist")
    authorize(principal, permission, unit.path, what=f"unit {unit_id}")
    return unit


async def _other(
    ctx: UnitsContext, unit_id: str, principal: Principal, field: str, permission: str
) -> Unit:
    """A unit named in a request body: unknown or out of scope is a 422 on that field."""
    unit = await ctx.store.get(unit_id)
    if unit is None or not principal.allows("units:read", unit.path):
        raise Invalid(f"unit {unit_id} does not exist", field=field)
    authorize(principal, permission, unit.path, what=f"unit {unit_id}")
    return unit


async def register_unit(
    cmd: RegisterUnit, *, principal: Principal, ctx: UnitsContext
) -> tuple[Unit, bool]:
    """Register a unit; return it and whether it was created now (False: idempotent replay)."""
    request = creation(
        "units",
        scope=caller_scope(principal),
        key=cmd.idempotency_key,
        fingerprint=cmd.fingerprint(),
    )

    async def create() -> Unit | None:
        _in_window(cmd.valid_from, "valid_from")
        parent = None
        if cmd.parent_id is not None:
            parent = await _other(ctx, cmd.parent_id, principal, "parent_id", "units:write")
        else:
            authorize(principal, "units:write", (), what="the root of the tree")
        try:
            unit = units.register_unit(
                unit_id=request.result_id,
                kind=cmd.kind,
                name=nfc(cmd.name),
                valid_from=cmd.valid_from,
                parent=parent,
                official_code=cmd.official_code,
            )
        except UnitRuleViolation as exc:
            raise domain_error(exc) from exc
        try:
            await ctx.store.insert(
                unit,
                outbox=_outbox(ctx, unit, unit_event(unit, UnitRegistered)),
                record=request.record,
            )
        except DuplicateValue as exc:
            if exc.field == "official_code":
                raise Conflict(
                    f"another unit already has official code {cmd.official_code}",
                    field="official_code",
                ) from exc
            return None  # the id: an earlier request with this key
        ctx.publish_pending("units", unit.id)
        return unit

    async def may_have(unit: Unit) -> None:
        # What the create needs: writing under the unit's parent (the root: everywhere).
        parent = f"unit {unit.parent_id}" if unit.parent_id else "the root of the tree"
        authorize(principal, "units:write", unit.ancestor_ids, what=parent)

    return await create_once(
        request,
        create=create,
        find=lambda: ctx.store.with_fingerprint(request.result_id),
        check=may_have,
    )


async def _commit(
    ctx: UnitsContext,
    before: Unit,
    after: Unit,
    event: UnitState,
    *,
    cascade: dict[str, Any] | None = None,
) -> None:
    saved = await ctx.store.save(
        after,
        expected_version=before.version,
        outbox=_outbox(ctx, after, event),
        cascade=cascade,
    )
    if not saved:
        raise lost_race(f"unit {before.id}")
    ctx.publish_pending("units", after.id)


@retry_unconditional(if_match_given)
async def rename_unit(
    unit_id: str,
    *,
    name: str,
    effective_date: date,
    expected_version: int | None,
    principal: Principal,
    ctx: UnitsContext,
) -> Unit:
    """Give a unit a new name from a date on."""
    unit = await _load(ctx, unit_id, principal, "units:write")
    check_version(unit.version, expected_version, f"unit {unit.id}")
    _in_window(effective_date, "effective_date")
    try:
        renamed = units.rename(unit, name=nfc(name), effective_date=effective_date)
    except UnitRuleViolation as exc:
        raise domain_error(exc) from exc
    await _commit(ctx, unit, renamed, unit_event(renamed, UnitRenamed, previous_name=unit.name))
    return renamed


@retry_unconditional(if_match_given)
async def move_unit(
    unit_id: str,
    *,
    parent_id: str,
    effective_date: date,
    expected_version: int | None,
    principal: Principal,
    ctx: UnitsContext,
) -> Unit:
    """Place a unit under another parent from a date on; its subtree follows."""
    unit = await _load(ctx, unit_id, principal, "units:write")
    check_version(unit.version, expected_version, f"unit {unit.id}")
    _in_window(effective_date, "effective_date")
    parent = await _other(ctx, parent_id, principal, "parent_id", "units:write")
    try:
        moved = units.move(unit, new_parent=parent, effective_date=effective_date)
        await _check_subtree_dates(ctx, unit, effective_date)
    except UnitRuleViolation as exc:
        raise domain_error(exc) from exc
    event = unit_event(moved, UnitMoved, previous_parent_id=unit.parent_id)
    cascade = {"effective_date": effective_date.isoformat(), "because_of": unit.id}
    await _commit(ctx, unit, moved, event, cascade=cascade)
    await follow_ancestor(ctx, moved.id)
    return moved


@retry_unconditional(if_match_given)
async def merge_unit(
    unit_id: str,
    *,
    successor_id: str,
    effective_date: date,
    expected_version: int | None,
    principal: Principal,
    ctx: UnitsContext,
) -> Unit:
    """End a unit by merging it into a successor; its children move to the successor."""
    unit = await _load(ctx, unit_id, principal, "units:write")
    check_version(unit.version, expected_version, f"unit {unit.id}")
    _in_window(effective_date, "effective_date")
    successor = await _other(ctx, successor_id, principal, "successor_id", "units:write")
    try:
        merged = units.merge(unit, successor=successor, effective_date=effective_date)
        await _check_subtree_dates(ctx, unit, effective_date)
    except UnitRuleViolation as exc:
        raise domain_error(exc) from exc
    cascade = {"effective_date": effective_date.isoformat(), "because_of": unit.id}
    await _commit(ctx, unit, merged, unit_event(merged, UnitMerged), cascade=cascade)
    await follow_ancestor(ctx, merged.id)
    return merged


@retry_unconditional(if_match_given)
async def dissolve_unit(
    unit_id: str,
    *,
    effective_date: date,
    expected_version: int | None,
    principal: Principal,
    ctx: UnitsContext,
) -> Unit:
    """End a unit that has nothing active under it."""
    unit = await _load(ctx, unit_id, principal, "units:write")
    check_version(unit.version, expected_version, f"unit {unit.id}")
    _in_window(effective_date, "effective_date")
    try:
        below = [unit.id, *(u.id for u in await ctx.store.descendants(unit.id))]
        dissolved = units.dissolve(
            unit,
            effective_date=effective_date,
            active_children=await ctx.store.count_active_children(unit.id),
            active_below=await ctx.active_at(below),
        )
    except UnitRuleViolation as exc:
        raise domain_error(exc) from exc
    await _commit(ctx, unit, dissolved, unit_event(dissolved, UnitDissolved))
    return dissolved


async def _check_subtree_dates(ctx: UnitsContext, unit: Unit, day: date) -> None:
    """Refuse a move or merge dated before a later change somewhere below the unit."""
    for below in await ctx.store.descendants(unit.id):
        if below.status == "active" and below.last_change > day:
            raise UnitRuleViolation(
                f"unit {below.id} below this one changed on "
                f"{below.last_change:%d/%m/%Y}, after {day:%d/%m/%Y}; "
                "record changes in date order",
                field="effective_date",
            )


async def follow_ancestor(ctx: UnitsContext, unit_id: str) -> bool:
    """Bring the subtree of a moved or merged unit up to date, then clear its marker.

    The subtree's units, then every copy of their paths other aggregates keep. Idempotent:
    what is already right is left alone, so a crash midway is finished by running it
    again. A pass that loses races with concurrent changes (optimistic concurrency) is
    repeated a few times; if work is still left then, the marker stays and the workflow
    worker finishes it later. True once nothing is left.
    """
    marker = await ctx.store.cascade(unit_id)
    if marker is None:
        return True
    day = date.fromisoformat(marker["effective_date"])
    left = 0
    for _attempt in range(ATTEMPTS):
        head = await ctx.store.get(unit_id)
        if head is None:
            break
        left = await _follow_subtree(ctx, head, day)
        if not left:
            left = await _follow_references(ctx, head.id)
        if not left:
            break
        log.info("subtree update raced with other changes; retrying", extra={"unit_id": unit_id})
    if left:
        log.warning(
            "subtree of a moved unit kept changing; the workflow worker finishes it",
            extra={"unit_id": unit_id, "left": left},
        )
        return False
    await ctx.store.clear_cascade(unit_id, marker)
    return True


async def _follow_subtree(ctx: UnitsContext, head: Unit, day: date) -> int:
    """Give the units under ``head`` their new ancestors; return how many lost a race."""
    successor = await ctx.store.get(head.successor_id) if head.successor_id else None
    below = await ctx.store.descendants(head.id)
    before = {u.id: u for u in below}
    left = 0
    for unit in units.follow(head, below, effective_date=day, successor=successor):
        old = before[unit.id]
        event = unit_event(unit, UnitMoved, previous_parent_id=old.parent_id, because_of=head.id)
        saved = await ctx.store.save(
            unit, expected_version=old.version, outbox=_outbox(ctx, unit, event)
        )
        if saved:
            ctx.publish_pending("units", unit.id)
        else:
            left += 1
    return left


async def _follow_references(ctx: UnitsContext, moved_id: str) -> int:
    """Refresh the copies of unit paths other aggregates keep under a moved unit."""
    paths: dict[str, tuple[str, ...] | None] = {}

    async def path_of(unit_id: str) -> tuple[str, ...] | None:
        if unit_id not in paths:
            paths[unit_id] = await ctx.store.path_of(unit_id)
        return paths[unit_id]

    left = 0
    for follower in ctx.followers:
        left += await follower(moved_id, path_of)
    return left


async def _follow_grant_paths(
    collection: AsyncCollection[dict[str, Any]], moved_id: str, path_of: PathOf
) -> int:
    """Refresh the unit paths of users' grants under a moved unit (users have no events)."""
    left = 0
    async for doc in collection.find({"grants.unit_path": moved_id}, {"grants": 1}):
        grants = [dict(g) for g in doc["grants"]]
        for grant in grants:
            new = await path_of(grant["unit_path"][-1]) if grant.get("unit_path") else None
            if new is not None:
                grant["unit_path"] = list(new)
        if grants != doc["grants"]:
            # The old array is the guard: a concurrent grant change wins, and its own
            # write already recorded fresh paths.
            result = await collection.update_one(
                {"_id": doc["_id"], "grants": doc["grants"]}, {"$set": {"grants": grants}}
            )
            left += result.matched_count == 0
    return left


async def resume_cascades(ctx: UnitsContext) -> int:
    """Finish subtree updates a crash or lost races left; return how many were finished."""
    finished = 0
    for unit_id, _ in await ctx.store.pending_cascades():
        finished += await follow_ancestor(ctx, unit_id)
    return finished


async def get_unit(
    unit_id: str, *, principal: Principal, store: UnitStore, as_of: date | None = None
) -> tuple[Unit, units.UnitVersion]:
    """The unit (and its version in force on ``as_of``, default: now), if the caller may see it."""
    unit = await store.get(unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} does not exist")
    authorize(principal, "units:read", unit.path, what=f"unit {unit_id}")
    if as_of is None:
        return unit, unit.current
    version = unit.as_of(as_of)
    if version is None:
        raise NotFound(
            f"unit {unit_id} did not exist on {as_of:%d/%m/%Y} "
            f"(from {unit.valid_from:%d/%m/%Y}"
            + (f" to {unit.valid_to:%d/%m/%Y})" if unit.valid_to else ")")
        )
    return unit, version


async def ancestors(
    unit_id: str, *, principal: Principal, store: UnitStore, as_of: date | None = None
) -> list[tuple[Unit, units.UnitVersion]]:
    """The unit's ancestors, root first, as they were on ``as_of`` (default: now)."""
    _unit, version = await get_unit(unit_id, principal=principal, store=store, as_of=as_of)
    found = await store.get_many(version.ancestor_ids)
    result = []
    for ancestor_id in version.ancestor_ids:
        ancestor = found.get(ancestor_id)
        if ancestor is None or not principal.allows("units:read", ancestor.path):
            continue  # the caller's scope may start below the root
        state = ancestor.current if as_of is None else ancestor.as_of(as_of)
        if state is not None:
            result.append((ancestor, state))
    return result


async def subtree(
    unit_id: str,
    *,
    principal: Principal,
    store: UnitStore,
    as_of: date | None = None,
) -> list[tuple[Unit, units.UnitVersion]]:
    """Every unit under ``unit_id`` (itself included), as the tree was on ``as_of``."""
    root, root_version = await get_unit(unit_id, principal=principal, store=store, as_of=as_of)
    result = [(root, root_version)]
    if as_of is None:
        result += [(u, u.current) for u in await store.descendants(unit_id)]
    else:
        for candidate in await store.ever_under(unit_id):
            version = candidate.as_of(as_of)
            if version is not None and unit_id in version.ancestor_ids:
                result.append((candidate, version))
    return sorted(result, key=lambda pair: (len(pair[1].ancestor_ids), pair[1].name))


async def list_units(
    *,
    principal: Principal,
    store: UnitStore,
    text: str | None = None,
    kind: str | None = None,
    parent_id: str | None = None,
    status: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> list[Unit]:
    """Units the caller may see, filtered; diacritics-insensitive name search."""
    scopes = principal.scopes("units:read")
    if scopes == []:
        return []
    return await store.search(
        text=text,
        kind=kind,
        parent_id=parent_id,
        status=status,
        scopes=scopes,
        after=after,
        limit=limit,
    )
