"""Households (hộ gia đình): address, head, hamlet, and the yearly pledge (bản cam kết)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

Status = Literal["active", "dissolved"]
# The "Ba Không" (Three No's) and the other usual commitments of a household pledge.
COMMITMENTS = (
    "no_drugs",
    "no_gambling",
    "no_traffic_violations",
    "report_crime",
    "keep_order",
    "no_domestic_violence",
)
BA_KHONG = frozenset({"no_drugs", "no_gambling", "no_traffic_violations"})


class HouseholdRuleViolation(Exception):
    """A change to a household would break a rule."""

    def __init__(self, message: str, *, field: str, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class Pledge:
    """A household's signed commitment for one programme year."""

    year: int
    signed_on: date
    collected_by: str
    commitments: tuple[str, ...]

    @property
    def ba_khong(self) -> bool:
        """True if the pledge covers all three of the Three No's."""
        return set(self.commitments) >= BA_KHONG


@dataclass(frozen=True)
class Household:
    """A household of a hamlet."""

    id: str
    unit_id: str
    address: str
    head_person_id: str | None = None
    registration_code: str | None = None
    status: Status = "active"
    pledges: tuple[Pledge, ...] = field(default_factory=tuple)
    version: int = 1
    # Local days; None for households stored before the registry kept them.
    registered_on: date | None = None
    dissolved_on: date | None = None

    def pledge_for(self, year: int) -> Pledge | None:
        """The pledge of ``year``, if any."""
        return next((p for p in self.pledges if p.year == year), None)


EARLIEST_REGISTRATION = date(1945, 9, 2)


def register_household(
    *,
    household_id: str,
    unit_id: str,
    address: str,
    registration_code: str | None,
    registered_on: date,
    today: date,
) -> Household:
    """A new household (its residents are registered as its members), registered on a day
    no later than ``today`` (earlier for a household that lived in the hamlet before)."""
    if not address:
        raise HouseholdRuleViolation("address must not be blank", field="address")
    if registered_on > today:
        raise HouseholdRuleViolation(
            f"registered_on is after today ({today:%d/%m/%Y})", field="registered_on"
        )
    if registered_on < EARLIEST_REGISTRATION:
        raise HouseholdRuleViolation(
            f"registered_on is before {EARLIEST_REGISTRATION:%d/%m/%Y}", field="registered_on"
        )
    return Household(
        household_id,
        unit_id,
        address,
        registration_code=registration_code,
        registered_on=registered_on,
    )


def update(
    household: Household, *, address: str | None = None, registration_code: str | None = None
) -> Household:
    """Edit the address or the registration code."""
    _check_active(household)
    if address is not None and not address:
        raise HouseholdRuleViolation("address must not be blank", field="address")
    return replace(
        household,
        address=household.address if address is None else address,
        registration_code=registration_code or household.registration_code,
        version=household.version + 1,
    )


def set_head(household: Household, *, person_id: str, member_ids: set[str]) -> Household:
    """Name the head of household, who must be one of its members."""
    _check_active(household)
    if person_id not in member_ids:
        raise HouseholdRuleViolation(
            "the head of household must be a member of the household", field="head_person_id"
        )
    return replace(household, head_person_id=person_id, version=household.version + 1)


def move(household: Household, *, unit_id: str) -> Household:
    """The household moves to another hamlet (its residents follow)."""
    _check_active(household)
    if unit_id == household.unit_id:
        raise HouseholdRuleViolation("the household is already in this hamlet", field="unit_id")
    return replace(household, unit_id=unit_id, version=household.version + 1)


def dissolve(household: Household, *, active_members: int, on: date) -> Household:
    """End a household once nobody lives in it any more (on the local day ``on``)."""
    _check_active(household)
    if active_members:
        raise HouseholdRuleViolation(
            f"the household still has {active_members} active members; move or end them first",
            field="household_id",
            status=409,
        )
    return replace(household, status="dissolved", dissolved_on=on, version=household.version + 1)


def pledge(
    household: Household,
    *,
    year: int,
    signed_on: date,
    collected_by: str,
    commitments: list[str],
) -> Household:
    """Record (or correct) the household's pledge for a year."""
    _check_active(household)
    if signed_on.year not in (year - 1, year):
        raise HouseholdRuleViolation(
            f"a pledge for {year} is signed in {year - 1} or {year}, not on {signed_on:%d/%m/%Y}",
            field="signed_on",
        )
    unknown = sorted(set(commitments) - set(COMMITMENTS))
    if unknown:
        raise HouseholdRuleViolation(
            f"unknown commitments {unknown}; use {', '.join(COMMITMENTS)}", field="commitments"
        )
    if not commitments:
        raise HouseholdRuleViolation("a pledge needs at least one commitment", field="commitments")
    new = Pledge(year, signed_on, collected_by, tuple(dict.fromkeys(commitments)))
    others = tuple(p for p in household.pledges if p.year != year)
    pledges = tuple(sorted((*others, new), key=lambda p: p.year))
    return replace(household, pledges=pledges, version=household.version + 1)


def _check_active(household: Household) -> None:
    if household.status != "active":
        raise HouseholdRuleViolation(
            "the household is dissolved; nothing more can change", field="household_id", status=409
        )
