"""The catalogue of computed checks a rule set may name, with the parameters each one takes.

A rule set is data an administrator can replace, but what the evaluation can compute from the
projections is code. This catalogue is the contract between the two: a computed check names
one entry and gives its thresholds; the loader refuses any other name or a bad parameter.
It is declarative on purpose: the computing itself (over the projections) comes later and
must implement exactly what each description says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# The incidents service's category groups and severities, repeated here because services never
# import each other: the rule set names them, the projections will carry them.
IncidentGroup = Literal["crime", "social_evil", "traffic", "dispute", "fire", "other"]
Severity = Literal["low", "medium", "high", "critical"]
# The registry's kinds of grassroots team (tổ, đội), for the same reason.
TeamKind = Literal["self_management", "people_security", "mediation", "youth_shock_troop"]
CategoryCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


def _distinct(values: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(values)) != len(values):
        raise ValueError("a value is listed twice")
    return values


# A non-empty list without repeats: a repeated group or category is a slip, not a weight.
Groups = Annotated[tuple[IncidentGroup, ...], Field(min_length=1), AfterValidator(_distinct)]
Categories = Annotated[tuple[CategoryCode, ...], Field(min_length=1), AfterValidator(_distinct)]


class Parameters(BaseModel):
    """Base of every parameter model: frozen, and a misspelt parameter is refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class EnrolmentRegistered(Parameters):
    """Parameters of ``enrolment_registered``."""

    by_month: int = Field(ge=1, le=12, description="registered by the end of this month (3: Q1)")


class HouseholdRegistrationRatio(Parameters):
    """Parameters of ``household_registration_ratio``."""

    min_ratio: float = Field(gt=0, le=1, description="share of resident households, 1.0 = 100%")


class ProlongedDisputes(Parameters):
    """Parameters of ``prolonged_disputes``."""

    max_open_days: int = Field(ge=1, le=366, description="a dispute open longer is prolonged")
    reopened_is_prolonged: bool = Field(description="a reopened dispute counts as prolonged")


class IncidentsComparedWithPreviousYear(Parameters):
    """Parameters of ``incidents_compared_with_previous_year``."""

    groups: Groups
    compare: Literal["lower_than_previous_year", "not_higher_than_previous_year"]
    pass_when_none: bool = Field(description="none in either year meets the check")


class SeriousIncidents(Parameters):
    """Parameters of ``serious_incidents``."""

    groups: Groups
    min_severity: Severity = Field(description="this severity or above is serious")


class IncidentHotspot(Parameters):
    """Parameters of ``incident_hotspot``."""

    categories: Categories = Field(description="incident category codes, e.g. drugs")
    min_incidents: int = Field(ge=2, le=1000, description="this many make a hotspot")
    window_days: int = Field(ge=1, le=366, description="within any window of this many days")


class TeamActive(Parameters):
    """Parameters of ``team_active``."""

    team_kind: TeamKind
    min_members: int = Field(ge=1, le=100)
    min_activities: int = Field(ge=0, le=1000, description="recorded in the evaluation year")


@dataclass(frozen=True)
class Computation:
    """A check the evaluation knows how to compute: its parameter model and what it means."""

    parameters: type[Parameters]
    description: str


COMPUTATIONS: dict[str, Computation] = {
    "enrolment_registered": Computation(
        EnrolmentRegistered,
        "The hamlet has a registered (not withdrawn) enrolment for the evaluation year, "
        "registered no later than the last day of month `by_month` of that year.",
    ),
    "household_registration_ratio": Computation(
        HouseholdRegistrationRatio,
        "Of the households of the hamlet that are active at the end of the evaluation period, "
        "the share with a pledge (registration) for the year is at least `min_ratio`.",
    ),
    "prolonged_disputes": Computation(
        ProlongedDisputes,
        "No incident of group `dispute` in the hamlet was open during the evaluation period "
        "for more than `max_open_days` days in a row, and, if `reopened_is_prolonged`, none "
        "was reopened in the period.",
    ),
    "incidents_compared_with_previous_year": Computation(
        IncidentsComparedWithPreviousYear,
        "Incidents of the `groups` reported in the hamlet during the evaluation period (not "
        "rejected, not duplicates) compare with those of the previous period as `compare` "
        "says; with none in both periods the check is met if `pass_when_none`.",
    ),
    "serious_incidents": Computation(
        SeriousIncidents,
        "No incident of the `groups` in the hamlet during the evaluation period (not rejected, "
        "not a duplicate) has a severity of `min_severity` or above.",
    ),
    "incident_hotspot": Computation(
        IncidentHotspot,
        "No window of `window_days` days within the evaluation period holds `min_incidents` "
        "or more incidents of the `categories` in the hamlet (not rejected, not duplicates).",
    ),
    "team_active": Computation(
        TeamActive,
        "The hamlet has an active team of kind `team_kind` with at least `min_members` "
        "members during the evaluation period and at least `min_activities` recorded "
        "activities in it (duty shifts, incidents assigned, mediations held).",
    ),
}
"""Every computed check a rule set may name, by name."""
