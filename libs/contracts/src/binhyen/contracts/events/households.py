"""Household events on topic binhyen.registry.households.v1 (internal: addresses)."""

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from binhyen.contracts.envelope import EventData
from binhyen.contracts.spec import TopicSpec

SOURCE = "/binhyen/registry"


class PledgeState(BaseModel):
    """A household's signed pledge for one programme year."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    year: int = Field(description="Programme year.")
    signed_on: date = Field(description="Date the household signed.")
    collected_by: str = Field(description="User id of whoever collected it.")
    commitments: list[str] = Field(
        description="no_drugs, no_gambling, no_traffic_violations (Ba Không), and others."
    )


class HouseholdState(EventData):
    """The full current state of a household (every household event carries it)."""

    household_id: str = Field(description="Stable id of the household.")
    unit_id: str = Field(description="The hamlet the household lives in.")
    address: str = Field(description="Address, Unicode NFC. Personal data.")
    head_person_id: str | None = Field(None, description="The head of household (a resident).")
    registration_code: str | None = Field(None, description="Household registration number.")
    status: Literal["active", "dissolved"] = Field(description="active or dissolved.")
    pledges: list[PledgeState] = Field(default_factory=list, description="Pledges by year.")
    registered_on: date | None = Field(
        None,
        description=(
            "Local day the household was registered in its hamlet: the day it was entered, or "
            "the day the officer gave for one that existed before. None in events published "
            "before December 2026."
        ),
    )
    dissolved_on: date | None = Field(
        None, description="Local day the household was dissolved; None while it is active."
    )
    version: int = Field(ge=1, description="Version of the household's state.")

    def subject(self) -> str:
        """Return the household id."""
        return self.household_id


class HouseholdRegistered(HouseholdState):
    """A household was registered in a hamlet."""

    event_type: ClassVar[str] = "vn.binhyen.registry.household.registered.v1"
    source: ClassVar[str] = SOURCE


class HouseholdUpdated(HouseholdState):
    """A household's address, code or head changed."""

    event_type: ClassVar[str] = "vn.binhyen.registry.household.updated.v1"
    source: ClassVar[str] = SOURCE


class HouseholdMoved(HouseholdState):
    """A household moved to another hamlet."""

    event_type: ClassVar[str] = "vn.binhyen.registry.household.moved.v1"
    source: ClassVar[str] = SOURCE

    previous_unit_id: str = Field(description="The hamlet before the move.")


class HouseholdPledged(HouseholdState):
    """A household signed (or corrected) its pledge for a year."""

    event_type: ClassVar[str] = "vn.binhyen.registry.household.pledged.v1"
    source: ClassVar[str] = SOURCE

    year: int = Field(description="The year of the pledge recorded by this event.")


class HouseholdDissolved(HouseholdState):
    """A household ended."""

    event_type: ClassVar[str] = "vn.binhyen.registry.household.dissolved.v1"
    source: ClassVar[str] = SOURCE


HOUSEHOLD_EVENTS: tuple[type[HouseholdState], ...] = (
    HouseholdRegistered,
    HouseholdUpdated,
    HouseholdMoved,
    HouseholdPledged,
    HouseholdDissolved,
)

TOPIC = TopicSpec(
    name="binhyen.registry.households.v1",
    key="household id",
    description=(
        "Households with their full current state: hamlet, address, head, pledges. "
        "Members are residents (people topic, household_id). Personal data: internal only."
    ),
    compacted=True,
    visibility="internal",
    event_types=tuple(e.event_type for e in HOUSEHOLD_EVENTS),
)
