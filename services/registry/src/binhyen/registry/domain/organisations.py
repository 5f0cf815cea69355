"""Organisations and teams of a unit: members, contact roster and duty roster (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VN = ZoneInfo("Asia/Ho_Chi_Minh")

# Socio-political organisations (tổ chức, đoàn thể) and grassroots teams (tổ, đội).
ORGANISATION_KINDS = (
    "party_cell",
    "front_work_committee",
    "youth_union",
    "womens_association",
    "farmers_association",
    "veterans_association",
)
TEAM_KINDS = (
    "self_management",
    "people_security",
    "mediation",
    "youth_shock_troop",
    "gong_point",
)
KINDS = ORGANISATION_KINDS + TEAM_KINDS

# Whom to call first: security teams before outreach bodies (lower ranks first).
KIND_RANK: dict[str, int] = {
    kind: rank
    for rank, kind in enumerate(
        (
            "people_security",
            "self_management",
            "youth_shock_troop",
            "gong_point",
            "mediation",
            "front_work_committee",
            "party_cell",
            "youth_union",
            "veterans_association",
            "womens_association",
            "farmers_association",
        )
    )
}
# leader: head of the body (tổ trưởng, đội trưởng, bí thư, chi hội trưởng, trưởng ban).
ROLES = ("leader", "deputy", "secretary", "member")
ROLE_RANK: dict[str, int] = {role: rank for rank, role in enumerate(ROLES)}
STATUSES = ("active", "disbanded")


class OrganisationRuleViolation(Exception):
    """A change would break a rule of organisations, members or shifts."""

    def __init__(self, message: str, *, field: str, conflict: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.conflict = conflict  # True: the request clashes with current state (409)


def vn_date(value: date) -> str:
    """A date as users read it: dd/mm/yyyy."""
    return f"{value:%d/%m/%Y}"


def vn_time(value: datetime) -> str:
    """An instant as users read it: HH:MM dd/mm/yyyy, Vietnam time."""
    return f"{value.astimezone(VN):%H:%M %d/%m/%Y}"


def category_of(kind: str) -> str:
    """'team' for grassroots teams, 'organisation' for the rest."""
    return "team" if kind in TEAM_KINDS else "organisation"


@dataclass(frozen=True)
class Member:
    """A person's membership of an organisation or team, with its role and validity."""

    id: str
    person_id: str
    role: str
    valid_from: date
    valid_to: date | None = None
    contact_order: int | None = None  # 1 = call first; None = after those with an order

    def active_on(self, day: date) -> bool:
        """True if the membership holds on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class Shift:
    """A duty shift of a team: who is on duty from ``starts_at`` until ``ends_at`` (UTC)."""

    id: str
    starts_at: datetime
    ends_at: datetime
    person_ids: tuple[str, ...]
    note: str | None = None

    def covers(self, at: datetime) -> bool:
        """True if ``at`` falls in the shift (start included, end excluded)."""
        return self.starts_at <= at < self.ends_at

    def overlaps(self, other: Shift) -> bool:
        """True if the two shifts share an instant (back-to-back shifts do not)."""
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


@dataclass(frozen=True)
class Organisation:
    """An organisation or team of an admin unit, as it is now."""

    id: str
    unit_id: str
    unit_path: tuple[str, ...]
    kind: str
    name: str
    valid_from: date
    status: str = "active"
    valid_to: date | None = None
    members: tuple[Member, ...] = ()
    shifts: tuple[Shift, ...] = ()
    version: int = 1

    @property
    def category(self) -> str:
        """'team' or 'organisation'."""
        return category_of(self.kind)

    @property
    def active(self) -> bool:
        """False once disbanded."""
        return self.status == "active"

    def member(self, membership_id: str) -> Member | None:
        """The membership with this id, if any."""
        return next((m for m in self.members if m.id == membership_id), None)

    def active_members(self, day: date) -> list[Member]:
        """Memberships that hold on ``day``."""
        return [m for m in self.members if m.active_on(day)]

    def shift(self, shift_id: str) -> Shift | None:
        """The shift with this id, if any."""
        return next((s for s in self.shifts if s.id == shift_id), None)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise OrganisationRuleViolation(
            "give times with a timezone, e.g. +07:00", field="starts_at"
        )
    return value.astimezone(UTC).replace(microsecond=0)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise OrganisationRuleViolation(
            f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}", field="kind"
        )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise OrganisationRuleViolation(
            f"unknown role {role!r}; use one of: {', '.join(ROLES)}", field="role"
        )


def _check_open(org: Organisation) -> None:
    if not org.active:
        raise OrganisationRuleViolation(
            f"{org.category} {org.id} is disbanded since "
            f"{vn_date(org.valid_to) if org.valid_to else 'earlier'}; it can no longer change",
            field="status",
            conflict=True,
        )


def register_organisation(
    *,
    organisation_id: str,
    unit_id: str,
    unit_path: Sequence[str],
    unit_level: str,
    unit_valid_from: date,
    kind: str,
    name: str,
    valid_from: date,
    unit_status: str = "active",
    unit_valid_to: date | None = None,
    unit_successor_id: str | None = None,
) -> Organisation:
    """A new organisation or team of a hamlet (or a commune for commune-level bodies)."""
    _check_kind(kind)
    if unit_status != "active":
        since = f" since {vn_date(unit_valid_to)}" if unit_valid_to else ""
        successor = (
            f"; register it in its successor unit {unit_successor_id}" if unit_successor_id else ""
        )
        raise OrganisationRuleViolation(
            f"unit {unit_id} is {unit_status}{since}{successor}", field="unit_id"
        )
    if unit_level not in ("hamlet", "commune"):
        raise OrganisationRuleViolation(
            f"organisations and teams belong to a hamlet or a commune, not a {unit_level}",
            field="unit_id",
        )
    if valid_from < unit_valid_from:
        raise OrganisationRuleViolation(
            f"valid_from is before the unit exists ({vn_date(unit_valid_from)})",
            field="valid_from",
        )
    return Organisation(
        id=organisation_id,
        unit_id=unit_id,
        unit_path=tuple(unit_path),
        kind=kind,
        name=name,
        valid_from=valid_from,
    )


def rename(org: Organisation, name: str) -> Organisation:
    """The organisation under a new name."""
    _check_open(org)
    return replace(org, name=name, version=org.version + 1)


def disband(org: Organisation, on: date) -> Organisation:
    """The organisation disbanded on ``on``; memberships still open end that day."""
    _check_open(org)
    if on < org.valid_from:
        raise OrganisationRuleViolation(
            f"cannot disband before the {org.category} was founded ({vn_date(org.valid_from)})",
            field="valid_to",
        )
    members = tuple(
        replace(m, valid_to=on) if m.valid_to is None or m.valid_to > on else m for m in org.members
    )
    return replace(org, status="disbanded", valid_to=on, members=members, version=org.version + 1)


def add_member(
    org: Organisation,
    member: Member,
    *,
    person_unit_path: Sequence[str],
    person_active: bool,
) -> Organisation:
    """Add a membership; the person must be an active resident of the unit or its subtree."""
    _check_open(org)
    _check_role(member.role)
    if not person_active:
        raise OrganisationRuleViolation(
            f"person {member.person_id} is no longer an active resident", field="person_id"
        )
    if org.unit_id not in person_unit_path:
        raise OrganisationRuleViolation(
            f"person {member.person_id} does not live in the unit of this {org.category}; "
            "members must be residents of that unit or of a unit under it",
            field="person_id",
        )
    _check_member_dates(org, member)
    clash = next(
        (m for m in org.members if m.person_id == member.person_id and _periods_overlap(m, member)),
        None,
    )
    if clash is not None:
        raise OrganisationRuleViolation(
            f"person {member.person_id} is already a member from {vn_date(clash.valid_from)}"
            f"{' to ' + vn_date(clash.valid_to) if clash.valid_to else ''}; "
            f"change membership {clash.id} instead",
            field="person_id",
            conflict=True,
        )
    return replace(org, members=(*org.members, member), version=org.version + 1)


def update_member(
    org: Organisation,
    membership_id: str,
    *,
    role: str | None = None,
    valid_to: date | None = None,
    clear_valid_to: bool = False,
    contact_order: int | None = None,
    clear_contact_order: bool = False,
) -> Organisation:
    """Change a membership's role, end date or contact order."""
    _check_open(org)
    current = org.member(membership_id)
    if current is None:
        raise OrganisationRuleViolation(
            f"membership {membership_id} does not exist", field="membership_id"
        )
    if role is not None:
        _check_role(role)
    changed = replace(
        current,
        role=role if role is not None else current.role,
        valid_to=None
        if clear_valid_to
        else (valid_to if valid_to is not None else current.valid_to),
        contact_order=None
        if clear_contact_order
        else (contact_order if contact_order is not None else current.contact_order),
    )
    if changed == current:
        return org
    _check_member_dates(org, changed)
    others = [m for m in org.members if m.id != membership_id]
    if any(m.person_id == changed.person_id and _periods_overlap(m, changed) for m in others):
        raise OrganisationRuleViolation(
            "the new dates overlap another membership of the same person",
            field="valid_to",
            conflict=True,
        )
    members = tuple(changed if m.id == membership_id else m for m in org.members)
    return replace(org, members=members, version=org.version + 1)


def remove_member(org: Organisation, membership_id: str, *, now: datetime) -> Organisation:
    """Remove a membership entered by mistake (to end one, set its valid_to instead)."""
    _check_open(org)
    current = org.member(membership_id)
    if current is None:
        raise OrganisationRuleViolation(
            f"membership {membership_id} does not exist", field="membership_id"
        )
    pending = [
        s
        for s in org.shifts
        if s.ends_at > now
        and current.person_id in s.person_ids
        and not _someone_else_holds(org, membership_id, current.person_id)
    ]
    if pending:
        raise OrganisationRuleViolation(
            f"the member is on duty in shift {pending[0].id} "
            f"(from {vn_time(pending[0].starts_at)}); remove them from the duty roster first",
            field="membership_id",
            conflict=True,
        )
    members = tuple(m for m in org.members if m.id != membership_id)
    return replace(org, members=members, version=org.version + 1)


def _someone_else_holds(org: Organisation, membership_id: str, person_id: str) -> bool:
    return any(m.person_id == person_id and m.id != membership_id for m in org.members)


def _check_member_dates(org: Organisation, member: Member) -> None:
    if member.valid_to is not None and member.valid_to < member.valid_from:
        raise OrganisationRuleViolation(
            f"valid_to ({vn_date(member.valid_to)}) is before valid_from "
            f"({vn_date(member.valid_from)})",
            field="valid_to",
        )
    if member.valid_from < org.valid_from:
        raise OrganisationRuleViolation(
            f"valid_from is before the {org.category} was founded ({vn_date(org.valid_from)})",
            field="valid_from",
        )
    if member.contact_order is not None and member.contact_order < 1:
        raise OrganisationRuleViolation(
            "contact_order starts at 1 (call first)", field="contact_order"
        )


def _periods_overlap(a: Member, b: Member) -> bool:
    a_end = a.valid_to or date.max
    b_end = b.valid_to or date.max
    return a.valid_from <= b_end and b.valid_from <= a_end


def add_shift(org: Organisation, shift: Shift) -> Organisation:
    """Add a duty shift; refuse bad times, non-members and overlapping shifts of a member."""
    _check_open(org)
    if org.category != "team":
        raise OrganisationRuleViolation(
            f"duty rosters are kept for teams; a {org.kind} is an organisation",
            field="kind",
            conflict=True,
        )
    starts_at, ends_at = _utc(shift.starts_at), _utc(shift.ends_at)
    if ends_at <= starts_at:
        raise OrganisationRuleViolation(
            f"the shift ends ({vn_time(ends_at)}) before it starts ({vn_time(starts_at)})",
            field="ends_at",
        )
    if not shift.person_ids:
        raise OrganisationRuleViolation("name at least one member on duty", field="person_ids")
    if len(set(shift.person_ids)) != len(shift.person_ids):
        raise OrganisationRuleViolation("a member is named twice", field="person_ids")
    first_day, last_day = starts_at.astimezone(VN).date(), ends_at.astimezone(VN).date()
    for person_id in shift.person_ids:
        if not any(
            m.person_id == person_id and m.active_on(first_day) and m.active_on(last_day)
            for m in org.members
        ):
            raise OrganisationRuleViolation(
                f"person {person_id} is not a member of this team for the whole shift",
                field="person_ids",
            )
    new = replace(shift, starts_at=starts_at, ends_at=ends_at, person_ids=tuple(shift.person_ids))
    for existing in org.shifts:
        shared = set(existing.person_ids) & set(new.person_ids)
        if shared and existing.overlaps(new):
            raise OrganisationRuleViolation(
                f"person {sorted(shared)[0]} is already on duty in shift {existing.id} "
                f"({vn_time(existing.starts_at)} – {vn_time(existing.ends_at)})",
                field="person_ids",
                conflict=True,
            )
    return replace(org, shifts=(*org.shifts, new), version=org.version + 1)


def remove_shift(org: Organisation, shift_id: str) -> Organisation:
    """Remove a shift from the duty roster."""
    _check_open(org)
    if org.shift(shift_id) is None:
        raise OrganisationRuleViolation(f"shift {shift_id} does not exist", field="shift_id")
    return replace(
        org, shifts=tuple(s for s in org.shifts if s.id != shift_id), version=org.version + 1
    )


def overlapping_pairs(shifts: Iterable[Shift]) -> list[tuple[str, str]]:
    """Pairs of shift ids that put one person on duty twice at the same time."""
    items = list(shifts)
    return [
        (a.id, b.id)
        for i, a in enumerate(items)
        for b in items[i + 1 :]
        if set(a.person_ids) & set(b.person_ids) and a.overlaps(b)
    ]


@dataclass(frozen=True)
class RosterEntry:
    """One line of a contact roster: whom to call, in which role of which body."""

    person_id: str
    role: str
    organisation_id: str
    organisation_kind: str
    organisation_name: str
    contact_order: int | None
    name_key: str = field(default="", compare=False)


def roster_key(entry: RosterEntry) -> tuple[int, int, int, int, str, str]:
    """Sort key: explicit contact order, then role, then kind of body, then name."""
    return (
        0 if entry.contact_order is not None else 1,
        entry.contact_order or 0,
        ROLE_RANK.get(entry.role, len(ROLES)),
        KIND_RANK.get(entry.organisation_kind, len(KIND_RANK)),
        entry.name_key,
        entry.person_id,
    )


def contact_roster(
    orgs: Iterable[Organisation],
    day: date,
    *,
    name_keys: Mapping[str, str] | None = None,
    eligible: Iterable[str] | None = None,
) -> list[RosterEntry]:
    """Whom to call first on ``day``: each person once, at their best-ranked membership.

    Members with an explicit contact order come first (1, 2, …); then leaders, deputies,
    secretaries, members; within a role people's security before self-management,
    youth shock-troop, gong point, mediation, then the organisations; then by name.
    """
    keys = name_keys or {}
    allowed = set(eligible) if eligible is not None else None
    entries = [
        RosterEntry(
            person_id=m.person_id,
            role=m.role,
            organisation_id=org.id,
            organisation_kind=org.kind,
            organisation_name=org.name,
            contact_order=m.contact_order,
            name_key=keys.get(m.person_id, ""),
        )
        for org in orgs
        if org.active
        for m in org.active_members(day)
        if allowed is None or m.person_id in allowed
    ]
    seen: set[str] = set()
    ordered: list[RosterEntry] = []
    for entry in sorted(entries, key=roster_key):
        if entry.person_id not in seen:
            seen.add(entry.person_id)
            ordered.append(entry)
    return ordered


@dataclass(frozen=True)
class OnDuty:
    """Who is on duty at an instant, and whether that comes from shifts or the contact order."""

    source: str  # "shifts" or "contact_order"
    person_ids: tuple[str, ...]
    shift_ids: tuple[str, ...] = ()


def on_duty(org: Organisation, at: datetime, *, roster: Sequence[RosterEntry]) -> OnDuty:
    """Members on duty at ``at``; without a covering shift, the team's contact order."""
    at = at.astimezone(UTC)
    covering = sorted((s for s in org.shifts if s.covers(at)), key=lambda s: (s.starts_at, s.id))
    if covering:
        people: list[str] = []
        for s in covering:
            people.extend(p for p in s.person_ids if p not in people)
        return OnDuty("shifts", tuple(people), tuple(s.id for s in covering))
    return OnDuty("contact_order", tuple(e.person_id for e in roster))
