"""Registry events on topic binhyen.registry.organisations.v1 (internal: members are people)."""

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from binhyen.contracts.envelope import EventData
from binhyen.contracts.spec import TopicSpec

SOURCE = "/binhyen/registry"

OrganisationKind = Literal[
    "party_cell",
    "front_work_committee",
    "youth_union",
    "womens_association",
    "farmers_association",
    "veterans_association",
    "self_management",
    "people_security",
    "mediation",
    "youth_shock_troop",
    "gong_point",
]
OrganisationChange = Literal[
    "renamed",
    "disbanded",
    "member_added",
    "member_changed",
    "member_removed",
    "shift_added",
    "shift_removed",
    "unit_moved",
]


class MemberState(BaseModel):
    """A membership: a resident's role in the body and its validity."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    membership_id: str = Field(description="Id of the membership.")
    person_id: str = Field(description="Id of the resident (registry people).")
    role: str = Field(description="leader, deputy, secretary or member.")
    valid_from: date = Field(description="First day of the membership.")
    valid_to: date | None = Field(None, description="Last day of the membership, if it ends.")
    contact_order: int | None = Field(
        None, description="Explicit place in the contact roster (1 = call first)."
    )


class ShiftState(BaseModel):
    """A duty shift: who is on duty from starts_at until ends_at."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    shift_id: str = Field(description="Id of the shift.")
    starts_at: datetime = Field(description="Start of the shift, UTC (included).")
    ends_at: datetime = Field(description="End of the shift, UTC (excluded).")
    person_ids: list[str] = Field(description="Residents on duty.")
    note: str | None = Field(None, description="Free note of the shift.")


class OrganisationState(EventData):
    """Full current state of an organisation or team (base of its events)."""

    organisation_id: str = Field(description="Id of the organisation or team.")
    unit_id: str = Field(description="Unit it belongs to (hamlet, or commune for commune bodies).")
    unit_path: list[str] = Field(description="Ids of the unit's ancestors, root first, then it.")
    category: Literal["organisation", "team"] = Field(
        description="organisation (party cell, front, unions, associations) or team."
    )
    kind: OrganisationKind = Field(description="Kind of body.")
    name: str = Field(description="Name (Unicode NFC).")
    status: Literal["active", "disbanded"] = Field(description="Lifecycle state.")
    valid_from: date = Field(description="Date founded.")
    valid_to: date | None = Field(None, description="Date disbanded, if it was.")
    members: list[MemberState] = Field(
        default_factory=list, description="Every membership, past, current and future."
    )
    contact_roster: list[str] = Field(
        default_factory=list,
        description=(
            "Person ids of the members active on the event's date, in the order to call them "
            "(explicit contact order, then leader, deputy, secretary, member, then name)."
        ),
    )
    shifts: list[ShiftState] = Field(
        default_factory=list,
        description=(
            "Duty shifts that have not ended at the event's time, and those that ended in "
            "the 400 days before it (the recent history of duty)."
        ),
    )
    version: int = Field(ge=1, description="Version of the state; increases by one per change.")

    def subject(self) -> str:
        """Return the organisation id."""
        return self.organisation_id


class OrganisationRegistered(OrganisationState):
    """An organisation or team was registered; carries its full current state."""

    event_type: ClassVar[str] = "vn.binhyen.registry.organisation.registered.v1"
    source: ClassVar[str] = SOURCE


class OrganisationChanged(OrganisationState):
    """An organisation or team changed (name, status, members, duty roster); full state."""

    event_type: ClassVar[str] = "vn.binhyen.registry.organisation.changed.v1"
    source: ClassVar[str] = SOURCE

    change: OrganisationChange = Field(
        description=(
            "What changed. unit_moved: its unit, or a unit above it, moved or merged, so "
            "unit_path changed."
        )
    )


TOPIC = TopicSpec(
    name="binhyen.registry.organisations.v1",
    key="organisation or team id",
    description=(
        "Organisations and teams with members, contact roster and duty roster, full current state."
        " Personal references (person ids): internal only."
    ),
    compacted=True,
    visibility="internal",
    event_types=(OrganisationRegistered.event_type, OrganisationChanged.event_type),
)
