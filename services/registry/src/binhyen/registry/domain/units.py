"""The admin-unit aggregate: a node of the administrative tree, with its dated history.

Vietnam's units form a tree of any depth; since 01/07/2025 the district tier is
gone and many communes were merged. A unit therefore keeps every version of its
state with the date it took effect, so "the unit as it was on a date" can be
answered, and a merge or dissolution ends a unit without erasing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

# Tier of each kind of unit: 1 province, 2 district, 3 commune, 4 hamlet.
LEVELS: dict[str, int] = {
    "province": 1,
    "central_city": 1,
    "district": 2,
    "town": 2,
    "provincial_city": 2,
    "commune": 3,
    "ward": 3,
    "township": 3,
    "special_zone": 3,
    "hamlet": 4,
    "village": 4,
    "residential_group": 4,
}
LEVEL_NAMES = {1: "province", 2: "district", 3: "commune", 4: "hamlet"}

# The window a unit's dates must fall in: not before the founding of the Democratic Republic
# of Vietnam (older units are recorded from that day), and at most a year ahead (a decision
# is announced months before it takes effect, never years). A date outside is a typo, and
# a rename dated in 6390 would become the current name at once and freeze the unit.
EARLIEST_DATE = date(1945, 9, 2)
MAX_DAYS_AHEAD = 366

Status = Literal["active", "merged", "dissolved"]
Change = Literal["registered", "renamed", "moved", "merged", "dissolved", "reparented"]


class UnitRuleViolation(Exception):
    """A change would break a rule of the tree."""

    def __init__(self, message: str, *, field: str, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


def _d(day: date) -> str:
    return day.strftime("%d/%m/%Y")


@dataclass(frozen=True)
class UnitVersion:
    """The state of a unit from ``effective_from`` until the next version."""

    effective_from: date
    change: Change
    name: str
    parent_id: str | None
    ancestor_ids: tuple[str, ...]
    status: Status = "active"
    successor_id: str | None = None


@dataclass(frozen=True)
class Unit:
    """An admin unit with every version of its state, oldest first."""

    id: str
    kind: str
    versions: tuple[UnitVersion, ...]
    official_code: str | None = None
    version: int = 1

    @property
    def current(self) -> UnitVersion:
        """The latest version."""
        return self.versions[-1]

    @property
    def name(self) -> str:
        """Current name."""
        return self.current.name

    @property
    def parent_id(self) -> str | None:
        """Current parent."""
        return self.current.parent_id

    @property
    def ancestor_ids(self) -> tuple[str, ...]:
        """Current ancestors, root first."""
        return self.current.ancestor_ids

    @property
    def path(self) -> tuple[str, ...]:
        """Ancestors and the unit itself: what access grants are matched against."""
        return (*self.ancestor_ids, self.id)

    @property
    def status(self) -> Status:
        """active, merged or dissolved."""
        return self.current.status

    @property
    def successor_id(self) -> str | None:
        """The unit this one was merged into."""
        return self.current.successor_id

    @property
    def valid_from(self) -> date:
        """Date the unit came into existence."""
        return self.versions[0].effective_from

    @property
    def valid_to(self) -> date | None:
        """Date the unit stopped existing (merge or dissolution), if it did."""
        return None if self.status == "active" else self.current.effective_from

    @property
    def level(self) -> str:
        """Tier name: province, district, commune or hamlet."""
        return LEVEL_NAMES[LEVELS[self.kind]]

    @property
    def last_change(self) -> date:
        """Date of the latest version."""
        return self.current.effective_from

    def as_of(self, day: date) -> UnitVersion | None:
        """The version in force on ``day``, or None if the unit did not exist then."""
        if day < self.valid_from or (self.valid_to is not None and day >= self.valid_to):
            return None
        found = self.versions[0]
        for version in self.versions:
            if version.effective_from <= day:
                found = version
        return found

    def exists_on(self, day: date) -> bool:
        """True if the unit existed on ``day``."""
        return self.as_of(day) is not None

    def _with(self, version: UnitVersion) -> Unit:
        return replace(self, versions=(*self.versions, version), version=self.version + 1)


def register_unit(
    *,
    unit_id: str,
    kind: str,
    name: str,
    valid_from: date,
    parent: Unit | None,
    official_code: str | None = None,
) -> Unit:
    """Create a unit under ``parent``, enforcing that tiers go strictly downward."""
    if kind not in LEVELS:
        raise UnitRuleViolation(f"unknown kind of unit: {kind}", field="kind")
    if parent is None:
        if LEVELS[kind] != 1:
            raise UnitRuleViolation(
                f"a {kind} needs a parent unit; only a province has none", field="parent_id"
            )
        first = UnitVersion(valid_from, "registered", name, None, ())
        return Unit(unit_id, kind, (first,), official_code)
    _check_parent(kind, parent, valid_from)
    first = UnitVersion(valid_from, "registered", name, parent.id, parent.path)
    return Unit(unit_id, kind, (first,), official_code)


def check_date_window(day: date, *, today: date, field: str) -> None:
    """Raise unless ``day`` lies between EARLIEST_DATE and MAX_DAYS_AHEAD days after today."""
    latest = today + timedelta(days=MAX_DAYS_AHEAD)
    if not EARLIEST_DATE <= day <= latest:
        raise UnitRuleViolation(
            f"the date must lie between {_d(EARLIEST_DATE)} and {_d(latest)} "
            f"(at most {MAX_DAYS_AHEAD} days ahead)",
            field=field,
        )


def _check_parent(kind: str, parent: Unit, day: date) -> None:
    if LEVELS[kind] <= LEVELS[parent.kind]:
        raise UnitRuleViolation(
            f"a {kind} cannot be placed under a {parent.kind}: it must be a lower tier",
            field="parent_id",
        )
    if not parent.exists_on(day):
        if parent.status != "active" and day >= parent.current.effective_from:
            successor = f"; use its successor {parent.successor_id}" if parent.successor_id else ""
            raise UnitRuleViolation(
                f"unit {parent.id} is {parent.status} since {_d(parent.current.effective_from)}"
                f"{successor}",
                field="parent_id",
            )
        raise UnitRuleViolation(
            f"the parent unit does not exist yet on {_d(day)} (from {_d(parent.valid_from)})",
            field="valid_from" if day < parent.valid_from else "parent_id",
        )


def _check_change_date(unit: Unit, day: date, field: str = "effective_date") -> None:
    if unit.status != "active":
        successor = f"; change its successor {unit.successor_id}" if unit.successor_id else ""
        raise UnitRuleViolation(
            f"unit {unit.id} is {unit.status} since {_d(unit.current.effective_from)}{successor}",
            field=field,
            status=409,
        )
    if day < unit.last_change:
        raise UnitRuleViolation(
            f"the change is dated {_d(day)}, before the unit's last change on "
            f"{_d(unit.last_change)}; changes must be recorded in date order",
            field=field,
        )


def rename(unit: Unit, *, name: str, effective_date: date) -> Unit:
    """Rename a unit from a date on."""
    _check_change_date(unit, effective_date)
    if name == unit.name:
        raise UnitRuleViolation("the unit already has this name", field="name")
    return unit._with(
        replace(unit.current, effective_from=effective_date, change="renamed", name=name)
    )


def move(unit: Unit, *, new_parent: Unit, effective_date: date) -> Unit:
    """Place a unit under another parent from a date on (never under itself or a descendant)."""
    _check_change_date(unit, effective_date)
    if new_parent.id == unit.id or unit.id in new_parent.ancestor_ids:
        raise UnitRuleViolation(
            "a unit cannot be moved under itself or one of its own descendants",
            field="parent_id",
        )
    if new_parent.id == unit.parent_id:
        raise UnitRuleViolation("the unit is already under this parent", field="parent_id")
    _check_parent(unit.kind, new_parent, effective_date)
    return unit._with(
        replace(
            unit.current,
            effective_from=effective_date,
            change="moved",
            parent_id=new_parent.id,
            ancestor_ids=new_parent.path,
        )
    )


def reparent(child: Unit, *, parent: Unit, effective_date: date) -> Unit:
    """Follow an ancestor's move or merge: new parent and ancestors from a date on."""
    if child.status != "active":
        return child
    if child.parent_id == parent.id and child.ancestor_ids == parent.path:
        return child
    if effective_date < child.last_change:
        raise UnitRuleViolation(
            f"unit {child.id} below this one changed on {_d(child.last_change)}, after "
            f"{_d(effective_date)}; record changes in date order",
            field="effective_date",
        )
    return child._with(
        replace(
            child.current,
            effective_from=effective_date,
            change="reparented",
            parent_id=parent.id,
            ancestor_ids=parent.path,
        )
    )


def merge(unit: Unit, *, successor: Unit, effective_date: date) -> Unit:
    """End ``unit`` by merging it into ``successor``; its children follow (see ``reparent``)."""
    _check_change_date(unit, effective_date)
    if successor.id == unit.id or unit.id in successor.ancestor_ids:
        raise UnitRuleViolation(
            "a unit cannot be merged into itself or one of its descendants", field="successor_id"
        )
    if LEVELS[successor.kind] != LEVELS[unit.kind]:
        raise UnitRuleViolation(
            f"a {unit.kind} can only be merged into a unit of the same tier, "
            f"not a {successor.kind}",
            field="successor_id",
        )
    if not successor.exists_on(effective_date):
        raise UnitRuleViolation(
            f"the successor does not exist on {_d(effective_date)}", field="successor_id"
        )
    return unit._with(
        replace(
            unit.current,
            effective_from=effective_date,
            change="merged",
            status="merged",
            successor_id=successor.id,
        )
    )


def dissolve(
    unit: Unit, *, effective_date: date, active_children: int, active_below: Mapping[str, int]
) -> Unit:
    """End a unit that has no active unit, household, resident or organisation left below.

    ``active_below`` counts what is still active by kind ("households", "residents",
    "organisations and teams").
    """
    _check_change_date(unit, effective_date)
    if active_children:
        raise UnitRuleViolation(
            f"the unit still has {active_children} active units under it; "
            "move, merge or dissolve them first",
            field="unit_id",
            status=409,
        )
    left = [f"{n} active {what}" for what, n in active_below.items() if n]
    if left:
        raise UnitRuleViolation(
            f"the unit still has {', '.join(left)}; move or end them first "
            "(or merge the unit into a successor)",
            field="unit_id",
            status=409,
        )
    return unit._with(
        replace(unit.current, effective_from=effective_date, change="dissolved", status="dissolved")
    )


def follow(
    head: Unit, below: list[Unit], *, effective_date: date, successor: Unit | None = None
) -> list[Unit]:
    """The units under ``head`` that must change after it moved or merged, updated.

    ``below`` is every unit currently under ``head``. Children of a merged unit go to
    ``successor``; every deeper unit takes its (updated) parent's path. Units already
    in place are not returned, so running this again after a crash changes nothing new.
    """
    updated: dict[str, Unit] = {
        head.id: successor if head.status != "active" and successor else head
    }
    changed: list[Unit] = []
    for unit in sorted(below, key=lambda u: len(u.ancestor_ids)):
        parent = updated.get(unit.parent_id or "")
        if parent is None:
            continue  # its parent is not under head (cannot happen in a consistent tree)
        moved = reparent(unit, parent=parent, effective_date=effective_date)
        updated[unit.id] = moved
        if moved is not unit:
            changed.append(moved)
    return changed
