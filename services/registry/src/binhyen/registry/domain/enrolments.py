"""A hamlet's yearly enrolment to strive for the "safe residential area" standard."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

Status = Literal["registered", "withdrawn"]


class EnrolmentRuleViolation(Exception):
    """An enrolment would break a rule."""

    def __init__(self, message: str, *, field: str, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class Enrolment:
    """A hamlet registered to strive for the standard in one year (đăng ký xây dựng mô hình)."""

    id: str
    unit_id: str
    year: int
    resolution_date: date
    registered_on: date
    note: str = ""
    status: Status = "registered"
    version: int = 1

    @property
    def resolution_in_first_quarter(self) -> bool:
        """Criterion 1 asks for the Party cell's resolution in the first quarter of the year."""
        return self.resolution_date.year == self.year and self.resolution_date.month <= 3


def enrolment_id(unit_id: str, year: int) -> str:
    """One enrolment per hamlet and year."""
    return f"{unit_id}:{year}"


def enrol(
    *, unit_id: str, year: int, resolution_date: date, registered_on: date, note: str, today: date
) -> Enrolment:
    """Enrol a hamlet for a year."""
    if not 2000 <= year <= today.year + 1:
        raise EnrolmentRuleViolation(
            f"year must be between 2000 and {today.year + 1}", field="year"
        )
    if resolution_date > today or registered_on > today:
        field = "resolution_date" if resolution_date > today else "registered_on"
        raise EnrolmentRuleViolation("the date is in the future", field=field)
    if registered_on < resolution_date:
        raise EnrolmentRuleViolation(
            "the registration follows the Party cell's resolution; it cannot be earlier",
            field="registered_on",
        )
    if resolution_date.year not in (year - 1, year):
        raise EnrolmentRuleViolation(
            f"the resolution for {year} is adopted in {year - 1} or {year}", field="resolution_date"
        )
    return Enrolment(
        enrolment_id(unit_id, year), unit_id, year, resolution_date, registered_on, note
    )


def withdraw(enrolment: Enrolment) -> Enrolment:
    """The hamlet withdraws its enrolment for the year."""
    if enrolment.status == "withdrawn":
        raise EnrolmentRuleViolation("already withdrawn", field="status", status=409)
    return replace(enrolment, status="withdrawn", version=enrolment.version + 1)
