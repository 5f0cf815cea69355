"""Use cases for organisations and teams: registration, members, contact and duty rosters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.organisations import (
    TOPIC,
    MemberState,
    OrganisationChanged,
    OrganisationRegistered,
    ShiftState,
)
from binhyen.contracts.events.public import TOPIC as PUBLIC_TOPIC
from binhyen.contracts.events.public import PublicTeam
from binhyen.kit.auth import Principal, authorize
from binhyen.kit.idempotency import (
    Creation,
    caller_scope,
    create_once,
    creation,
    key_reused,
    request_fingerprint,
)
from binhyen.kit.outbox import outbox_entry
from binhyen.kit.problems import Conflict, DomainError, Invalid, NotFound, PreconditionFailed
from binhyen.kit.text import fold, nfc
from binhyen.registry.domain import organisations as domain
from binhyen.registry.domain.organisations import VN, Member, Organisation, RosterEntry, Shift
from binhyen.registry.service.common import Context
from binhyen.registry.service.common import today_vn as today_vn
from binhyen.registry.store import Stores
from binhyen.registry.store.people import PersonSummary

Topic = Callable[[str], str]
ATTEMPTS = 5  # concurrent writers without If-Match retry this often before giving up
T = TypeVar("T")


class VersionRequired(DomainError):
    """An update came without If-Match."""

    status, kind, title = 428, "precondition-required", "If-Match required"


def check_version(current: int, expected: int | None, what: str) -> None:
    """Raise 428 without If-Match, 412 when it is stale."""
    if expected is None:
        raise VersionRequired(
            f"send If-Match with the version of {what} you read (its ETag)", field="If-Match"
        )
    if current != expected:
        raise PreconditionFailed(
            f"{what} is now at version {current}, not {expected}; read it again and retry",
            field="If-Match",
            extra={"current_version": current},
        )


def _refuse(exc: domain.OrganisationRuleViolation) -> DomainError:
    return (Conflict if exc.conflict else Invalid)(str(exc), field=exc.field)


def _what(org: Organisation) -> str:
    return f"{org.category} {org.id}"


async def unit_path(stores: Stores, unit_id: str) -> tuple[str, ...] | None:
    """The ids of a unit's ancestors and itself, or None if it does not exist."""
    unit = await stores.units.get(unit_id)
    return (*unit.ancestor_ids, unit.id) if unit else None


# Events

# Shifts that ended this long ago still ride on the team's events: a consumer that keeps the
# history of duty (reporting's team activity over an evaluation year) sees a shift recorded
# after it ended, and nothing grows without bound.
SHIFT_HISTORY = timedelta(days=400)


def organisation_state(org: Organisation, roster: Iterable[RosterEntry], now: datetime) -> Any:
    """The fields every organisation event carries: the full current state."""
    return {
        "organisation_id": org.id,
        "unit_id": org.unit_id,
        "unit_path": list(org.unit_path),
        "category": org.category,
        "kind": org.kind,
        "name": org.name,
        "status": org.status,
        "valid_from": org.valid_from,
        "valid_to": org.valid_to,
        "members": [
            MemberState(
                membership_id=m.id,
                person_id=m.person_id,
                role=m.role,
                valid_from=m.valid_from,
                valid_to=m.valid_to,
                contact_order=m.contact_order,
            )
            for m in org.members
        ],
        "contact_roster": [e.person_id for e in roster],
        "shifts": [
            ShiftState(
                shift_id=s.id,
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                person_ids=list(s.person_ids),
                note=s.note,
            )
            for s in sorted(org.shifts, key=lambda s: (s.starts_at, s.id))
            if s.ends_at > now - SHIFT_HISTORY
        ],
        "version": org.version,
    }


def public_team(org: Organisation, day: date) -> PublicTeam:
    """The public view of the body: no members, only how many there are."""
    return PublicTeam(
        team_id=org.id,
        unit_id=org.unit_id,
        kind=org.kind,
        name=org.name,
        member_count=len({m.person_id for m in org.active_members(day)}),
        active=org.active,
        version=org.version,
    )


async def _outbox(
    org: Organisation, change: str | None, *, stores: Stores, topic: Topic
) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    day = now.astimezone(VN).date()
    roster = await team_roster(org, day, stores=stores)
    state = organisation_state(org, roster, now)
    internal = (
        OrganisationRegistered(**state)
        if change is None
        else OrganisationChanged(**state, change=change)
    )
    return [
        outbox_entry(CloudEvent.wrap(internal, time=now), topic(TOPIC.name)),
        outbox_entry(CloudEvent.wrap(public_team(org, day), time=now), topic(PUBLIC_TOPIC.name)),
    ]


# People


async def people(stores: Stores, person_ids: Iterable[str]) -> dict[str, PersonSummary]:
    """Summaries of these residents (those that exist)."""
    found: dict[str, PersonSummary] = {}
    for person_id in dict.fromkeys(person_ids):
        summary = await stores.people.summary(person_id)
        if summary is not None:
            found[person_id] = summary
    return found


async def team_roster(org: Organisation, day: date, *, stores: Stores) -> list[RosterEntry]:
    """The body's own contact order on ``day`` (active residents only)."""
    known = await people(stores, (m.person_id for m in org.active_members(day)))
    return domain.contact_roster(
        [org],
        day,
        name_keys={pid: fold(p.full_name) for pid, p in known.items()},
        eligible=[pid for pid, p in known.items() if p.active],
    )


# Organisations


@dataclass(frozen=True)
class RegisterOrganisation:
    """Command: register an organisation or team of a unit."""

    unit_id: str
    kind: str
    name: str
    valid_from: date
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """What makes two requests the same, for Idempotency-Key checks."""
        return request_fingerprint(
            {
                "unit_id": self.unit_id,
                "kind": self.kind,
                "name": nfc(self.name),
                "valid_from": self.valid_from,
            }
        )


async def register_organisation(
    cmd: RegisterOrganisation,
    *,
    principal: Principal,
    ctx: Context,
) -> tuple[Organisation, bool]:
    """Register an organisation or team; return it and whether it was created now."""
    request = creation(
        "organisations",
        scope=caller_scope(principal),
        key=cmd.idempotency_key,
        fingerprint=cmd.fingerprint(),
    )

    async def create() -> Organisation | None:
        unit = await ctx.stores.units.get(cmd.unit_id)
        path = (*unit.ancestor_ids, unit.id) if unit else ()
        if unit is None or not principal.allows("units:read", path):
            raise Invalid(f"unit {cmd.unit_id} does not exist", field="unit_id")
        authorize(principal, "organisations:write", path, what=f"unit {cmd.unit_id}")
        try:
            org = domain.register_organisation(
                organisation_id=request.result_id,
                unit_id=unit.id,
                unit_path=path,
                unit_level=unit.level,
                unit_valid_from=unit.valid_from,
                kind=cmd.kind,
                name=nfc(cmd.name),
                valid_from=cmd.valid_from,
                unit_status=unit.status,
                unit_valid_to=unit.valid_to,
                unit_successor_id=unit.successor_id,
            )
        except domain.OrganisationRuleViolation as exc:
            raise _refuse(exc) from exc
        entries = await _outbox(org, None, stores=ctx.stores, topic=ctx.topic)
        if not await ctx.stores.organisations.insert(
            org, search_name=fold(org.name), outbox=entries, record=request.record
        ):
            return None
        ctx.publish_pending()
        return org

    async def may_have(org: Organisation) -> None:
        authorize(principal, "organisations:write", org.unit_path, what=f"unit {org.unit_id}")

    return await create_once(
        request,
        create=create,
        find=lambda: ctx.stores.organisations.with_fingerprint(request.result_id),
        check=may_have,
    )


async def get_organisation(
    organisation_id: str,
    *,
    principal: Principal,
    stores: Stores,
    permission: str = "organisations:read",
    what: str = "organisation",
) -> Organisation:
    """The organisation or team with this id, if the caller may see it."""
    org = await stores.organisations.get(organisation_id)
    if org is None:
        raise NotFound(f"{what} {organisation_id} does not exist")
    authorize(principal, permission, org.unit_path, what=_what(org))
    return org


async def list_organisations(
    *,
    principal: Principal,
    stores: Stores,
    unit_id: str | None,
    kind: str | None,
    category: str | None,
    status: str | None,
    q: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Organisation], int]:
    """Organisations and teams in the caller's scope matching the filters."""
    kinds = {"team": domain.TEAM_KINDS, "organisation": domain.ORGANISATION_KINDS}
    return await stores.organisations.find(
        scopes=principal.scopes("organisations:read"),
        unit_id=unit_id,
        kind=kind,
        category_kinds=kinds.get(category) if category else None,
        status=status,
        name=fold(q) if q else None,
        limit=limit,
        offset=offset,
    )


async def _change(
    organisation_id: str,
    *,
    principal: Principal,
    ctx: Context,
    expected_version: int | None,
    require_version: bool,
    change: str,
    apply: Callable[[Organisation], Organisation],
    request: tuple[str, str] | None = None,
) -> Organisation:
    """Apply a domain change with a version guard: one atomic write of state plus events."""
    for _ in range(ATTEMPTS):
        org = await get_organisation(
            organisation_id,
            principal=principal,
            stores=ctx.stores,
            permission="organisations:write",
        )
        if require_version or expected_version is not None:
            check_version(org.version, expected_version, _what(org))
        try:
            new = apply(org)
        except domain.OrganisationRuleViolation as exc:
            raise _refuse(exc) from exc
        if new == org:
            return org
        entries = await _outbox(new, change, stores=ctx.stores, topic=ctx.topic)
        written = await ctx.stores.organisations.replace(
            new,
            expected_version=org.version,
            search_name=fold(new.name),
            outbox=entries,
            request=request,
        )
        if written:
            ctx.publish_pending()
            return new
    # Someone else wrote in between every time; with If-Match the check above says so.
    raise Conflict(
        "the organisation is being changed by someone else right now; try again", field="version"
    )


async def update_organisation(
    organisation_id: str,
    *,
    name: str | None,
    status: str | None,
    valid_to: date | None,
    expected_version: int | None,
    principal: Principal,
    ctx: Context,
) -> Organisation:
    """Rename or disband an organisation (If-Match required)."""
    if valid_to is not None and status != "disbanded":
        raise Invalid(
            "valid_to is the date a body is disbanded; send it with status disbanded",
            field="valid_to",
        )

    def apply(org: Organisation) -> Organisation:
        if status == "active" and not org.active:
            raise Conflict(
                f"{_what(org)} is disbanded; a disbanded body is not reactivated, "
                "register a new one instead",
                field="status",
            )
        new = org
        if name is not None and nfc(name) != org.name:
            new = domain.rename(new, nfc(name))
        if status == "disbanded" and (org.active or new != org):
            new = domain.disband(new, valid_to or today_vn())
        if new != org:  # one version step however many fields changed
            new = replace(new, version=org.version + 1)
        return new

    return await _change(
        organisation_id,
        principal=principal,
        ctx=ctx,
        expected_version=expected_version,
        require_version=True,
        change="disbanded" if status == "disbanded" else "renamed",
        apply=apply,
    )


# Members


@dataclass(frozen=True)
class AddMember:
    """Command: a resident joins an organisation or team."""

    person_id: str
    role: str
    valid_from: date
    valid_to: date | None = None
    contact_order: int | None = None
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """What makes two requests the same, for Idempotency-Key checks."""
        return request_fingerprint(
            {
                "person_id": self.person_id,
                "role": self.role,
                "valid_from": self.valid_from,
                "valid_to": self.valid_to,
                "contact_order": self.contact_order,
            }
        )


async def _create_inside(
    org: Organisation,
    request: Creation,
    *,
    what: str,
    made: Callable[[Organisation], T | None],
    add: Callable[[], Awaitable[Organisation | None]],
    principal: Principal,
    stores: Stores,
) -> tuple[Organisation, T, bool]:
    """Add a member or shift once per caller and key: its id is the request's result id.

    ``add`` writes it (None when the id is already there); ``made`` finds it in a body.
    """

    async def create() -> tuple[Organisation, T] | None:
        if request.key and await stores.organisations.request(org.id, request.result_id):
            return None  # made by an earlier request, even if removed since
        new = await add()
        result = made(new) if new is not None else None
        return None if new is None or result is None else (new, result)

    async def find() -> tuple[tuple[Organisation, T], str] | None:
        current = await stores.organisations.get(org.id)
        fingerprint = await stores.organisations.request(org.id, request.result_id)
        result = made(current) if current is not None else None
        if current is None or result is None:
            if fingerprint is None:
                return None
            if fingerprint != request.fingerprint:
                raise key_reused()
            raise Conflict(
                f"{what} {request.result_id} made by this request was removed since",
                field="Idempotency-Key",
            )
        return (current, result), fingerprint or ""

    async def may_have(result: tuple[Organisation, T]) -> None:
        await get_organisation(
            result[0].id, principal=principal, stores=stores, permission="organisations:write"
        )

    (new, result), created = await create_once(request, create=create, find=find, check=may_have)
    return new, result, created


async def add_member(
    organisation_id: str,
    cmd: AddMember,
    *,
    expected_version: int | None,
    principal: Principal,
    ctx: Context,
) -> tuple[Organisation, Member, bool]:
    """Add a resident as a member; return the body, the membership and whether it is new."""
    org = await get_organisation(
        organisation_id, principal=principal, stores=ctx.stores, permission="organisations:write"
    )
    request = creation(
        f"organisations/{org.id}/members",
        scope=caller_scope(principal),
        key=cmd.idempotency_key,
        fingerprint=cmd.fingerprint(),
    )

    async def add() -> Organisation | None:
        person = await ctx.stores.people.summary(cmd.person_id)
        person_path = await unit_path(ctx.stores, person.unit_id) if person else None
        # Unknown, outside the caller's scope, or living elsewhere: one answer, so the error
        # tells nothing about residents the caller may not see.
        if (
            person is None
            or person_path is None
            or org.unit_id not in person_path
            or not (
                principal.allows("people:read", person_path)
                or principal.allows("organisations:write", person_path)
            )
        ):
            raise Invalid(
                f"person {cmd.person_id} is not a resident of the unit of this "
                f"{org.category} or of a unit under it",
                field="person_id",
            )
        member = Member(
            id=request.result_id,
            person_id=person.id,
            role=cmd.role,
            valid_from=cmd.valid_from,
            valid_to=cmd.valid_to,
            contact_order=cmd.contact_order,
        )
        there = False

        def apply(o: Organisation) -> Organisation:
            nonlocal there  # a concurrent request with the same key added it first
            there = o.member(member.id) is not None
            if there:
                return o
            return domain.add_member(
                o, member, person_unit_path=person_path, person_active=person.active
            )

        new = await _change(
            organisation_id,
            principal=principal,
            ctx=ctx,
            expected_version=expected_version,
            require_version=False,
            change="member_added",
            apply=apply,
            request=(member.id, request.fingerprint) if request.key else None,
        )
        return None if there else new

    return await _create_inside(
        org,
        request,
        what="membership",
        made=lambda o: o.member(request.result_id),
        add=add,
        principal=principal,
        stores=ctx.stores,
    )


async def update_member(
    organisation_id: str,
    membership_id: str,
    *,
    changes: dict[str, Any],
    expected_version: int | None,
    principal: Principal,
    ctx: Context,
) -> tuple[Organisation, Member]:
    """Change a membership's role, end date or contact order (If-Match required)."""
    new = await _change(
        organisation_id,
        principal=principal,
        ctx=ctx,
        expected_version=expected_version,
        require_version=True,
        change="member_changed",
        apply=lambda o: _update_member(o, membership_id, changes),
    )
    member = new.member(membership_id)
    assert member is not None
    return new, member


def _update_member(org: Organisation, membership_id: str, changes: dict[str, Any]) -> Organisation:
    if org.member(membership_id) is None:
        raise NotFound(f"membership {membership_id} does not exist")
    return domain.update_member(
        org,
        membership_id,
        role=changes.get("role"),
        valid_to=changes.get("valid_to"),
        clear_valid_to="valid_to" in changes and changes["valid_to"] is None,
        contact_order=changes.get("contact_order"),
        clear_contact_order="contact_order" in changes and changes["contact_order"] is None,
    )


async def remove_member(
    organisation_id: str,
    membership_id: str,
    *,
    expected_version: int | None,
    principal: Principal,
    ctx: Context,
) -> Organisation:
    """Remove a membership entered by mistake (If-Match required)."""

    def apply(org: Organisation) -> Organisation:
        if org.member(membership_id) is None:
            raise NotFound(f"membership {membership_id} does not exist")
        return domain.remove_member(org, membership_id, now=datetime.now(UTC))

    return await _change(
        organisation_id,
        principal=principal,
        ctx=ctx,
        expected_version=expected_version,
        require_version=True,
        change="member_removed",
        apply=apply,
    )


# Duty roster


@dataclass(frozen=True)
class AddShift:
    """Command: put members of a team on duty for a period."""

    starts_at: datetime
    ends_at: datetime
    person_ids: tuple[str, ...]
    note: str | None = None
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """What makes two requests the same, for Idempotency-Key checks."""
        return request_fingerprint(
            {
                "starts_at": self.starts_at.astimezone(UTC).replace(microsecond=0),
                "ends_at": self.ends_at.astimezone(UTC).replace(microsecond=0),
                "person_ids": list(self.person_ids),
                "note": self.note,
            }
        )


async def add_shift(
    team_id: str,
    cmd: AddShift,
    *,
    expected_version: int | None,
    principal: Principal,
    ctx: Context,
) -> tuple[Organisation, Shift, bool]:
    """Add a duty shift; return the team, the shift and whether it is new."""
    org = await get_organisation(
        team_id,
        principal=principal,
        stores=ctx.stores,
        permission="organisations:write",
        what="team",
    )
    request = creation(
        f"organisations/{org.id}/shifts",
        scope=caller_scope(principal),
        key=cmd.idempotency_key,
        fingerprint=cmd.fingerprint(),
    )
    shift = Shift(request.result_id, cmd.starts_at, cmd.ends_at, tuple(cmd.person_ids), cmd.note)

    async def add() -> Organisation | None:
        there = False

        def apply(o: Organisation) -> Organisation:
            nonlocal there  # a concurrent request with the same key added it first
            there = o.shift(shift.id) is not None
            return o if there else domain.add_shift(o, shift)

        new = await _change(
            team_id,
            principal=principal,
            ctx=ctx,
            expected_version=expected_version,
            require_version=False,
            change="shift_added",
            apply=apply,
            request=(shift.id, request.fingerprint) if request.key else None,
        )
        return None if there else new

    return await _create_inside(
        org,
        request,
        what="shift",
        made=lambda o: o.shift(request.result_id),
        add=add,
        principal=principal,
        stores=ctx.stores,
    )


async def remove_shift(
    team_id: str,
    shift_id: str,
    *,
    expected_version: int | None,
    principal: Principal,
    ctx: Context,
) -> Organisation:
    """Remove a shift from the duty roster (If-Match required)."""

    def apply(org: Organisation) -> Organisation:
        if org.shift(shift_id) is None:
            raise NotFound(f"shift {shift_id} does not exist")
        return domain.remove_shift(org, shift_id)

    return await _change(
        team_id,
        principal=principal,
        ctx=ctx,
        expected_version=expected_version,
        require_version=True,
        change="shift_removed",
        apply=apply,
    )


@dataclass(frozen=True)
class DutyAnswer:
    """Who is on duty at an instant, with names, and where the answer comes from."""

    team: Organisation
    at: datetime
    source: str
    on_duty: list[tuple[str, str | None, str | None, str | None]]  # person, name, role, shift


async def on_duty(
    team_id: str, at: datetime | None, *, principal: Principal, stores: Stores
) -> DutyAnswer:
    """Members of the team on duty at ``at`` (default now); else the team's contact order."""
    org = await get_organisation(team_id, principal=principal, stores=stores, what="team")
    if org.category != "team":
        raise Conflict(
            f"duty rosters are kept for teams; a {org.kind} is an organisation", field="team_id"
        )
    instant = (at or datetime.now(UTC)).astimezone(UTC)
    day = instant.astimezone(VN).date()
    roster = await team_roster(org, day, stores=stores)
    answer = domain.on_duty(org, instant, roster=roster)
    known = await people(stores, answer.person_ids)
    roles = {e.person_id: e.role for e in roster}
    for m in org.members:
        if m.active_on(day):
            roles.setdefault(m.person_id, m.role)
    shift_of = {pid: s.id for s in org.shifts if s.id in answer.shift_ids for pid in s.person_ids}
    return DutyAnswer(
        team=org,
        at=instant,
        source=answer.source,
        on_duty=[
            (
                pid,
                known[pid].full_name if pid in known else None,
                roles.get(pid),
                shift_of.get(pid),
            )
            for pid in answer.person_ids
        ],
    )


async def unit_contact_roster(
    unit_id: str, *, on: date | None, principal: Principal, stores: Stores
) -> tuple[list[RosterEntry], dict[str, PersonSummary]]:
    """Whom to call first in a unit: members of its active bodies, best-ranked first."""
    path = await unit_path(stores, unit_id)
    if path is None:
        raise NotFound(f"unit {unit_id} does not exist")
    authorize(principal, "organisations:read", path, what=f"unit {unit_id}")
    day = on or today_vn()
    orgs = await stores.organisations.of_unit(unit_id)
    known = await people(stores, (m.person_id for o in orgs for m in o.active_members(day)))
    roster = domain.contact_roster(
        orgs,
        day,
        name_keys={pid: fold(p.full_name) for pid, p in known.items()},
        eligible=[pid for pid, p in known.items() if p.active],
    )
    return roster, known


# Unit moves


async def follow_unit_paths(
    moved_id: str,
    path_of: Callable[[str], Awaitable[tuple[str, ...] | None]],
    *,
    ctx: Context,
) -> int:
    """Give the bodies under a moved or merged unit their new unit path, with their events.

    Each is one guarded write of the new state (one version step) and its events, as any
    other change. Returns how many lost a race with a concurrent change (left to retry).
    """
    left = 0
    for organisation_id in await ctx.stores.organisations.ids_under(moved_id):
        org = await ctx.stores.organisations.get(organisation_id)
        path = await path_of(org.unit_id) if org is not None else None
        if org is None or path is None or path == org.unit_path:
            continue
        new = replace(org, unit_path=path, version=org.version + 1)
        written = await ctx.stores.organisations.replace(
            new,
            expected_version=org.version,
            search_name=fold(new.name),
            outbox=await _outbox(new, "unit_moved", stores=ctx.stores, topic=ctx.topic),
        )
        if written:
            ctx.publish_pending("organisations", new.id)
        else:
            left += 1
    return left
