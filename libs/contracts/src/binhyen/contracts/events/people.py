"""Resident events on topic binhyen.registry.people.v1 (personal data: internal only)."""

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from binhyen.contracts.envelope import EventData
from binhyen.contracts.spec import TopicSpec

SOURCE = "/binhyen/registry"


class PersonState(EventData):
    """The full current state of a resident (every person event carries it)."""

    person_id: str = Field(description="Stable id of the resident.")
    unit_id: str = Field(description="The hamlet the resident lives in.")
    household_id: str = Field(description="The household the resident belongs to.")
    full_name: str = Field(description="Full name, Unicode NFC. Personal data.")
    birth_year: int | None = Field(None, description="Year of birth. Personal data.")
    phones: list[str] = Field(default_factory=list, description="Phone numbers, E.164.")
    preferred_language: str = Field("vi", description="Language for alerts (BCP 47).")
    alert_channels: list[str] = Field(
        default_factory=list, description="How the resident accepts alerts: sms, voice, push, …"
    )
    alert_consent: bool = Field(False, description="The resident consented to receive alerts.")
    consent_at: datetime | None = Field(None, description="When consent was given (UTC).")
    status: Literal["active", "moved_out", "deceased", "removed"] = Field(
        description="Whether the resident is still registered here."
    )
    version: int = Field(ge=1, description="Version of the resident's state.")

    def subject(self) -> str:
        """Return the person id."""
        return self.person_id


class PersonRegistered(PersonState):
    """A resident was registered in a household."""

    event_type: ClassVar[str] = "vn.binhyen.registry.person.registered.v1"
    source: ClassVar[str] = SOURCE


class PersonUpdated(PersonState):
    """A resident's details changed."""

    event_type: ClassVar[str] = "vn.binhyen.registry.person.updated.v1"
    source: ClassVar[str] = SOURCE


class PersonMoved(PersonState):
    """A resident joined another household, or followed their household to another hamlet."""

    event_type: ClassVar[str] = "vn.binhyen.registry.person.moved.v1"
    source: ClassVar[str] = SOURCE

    previous_household_id: str = Field(description="The household before the move.")
    previous_unit_id: str = Field(description="The hamlet before the move.")


class PersonEnded(PersonState):
    """A resident moved out, died or was removed from the register."""

    event_type: ClassVar[str] = "vn.binhyen.registry.person.ended.v1"
    source: ClassVar[str] = SOURCE


PERSON_EVENTS: tuple[type[PersonState], ...] = (
    PersonRegistered,
    PersonUpdated,
    PersonMoved,
    PersonEnded,
)

TOPIC = TopicSpec(
    name="binhyen.registry.people.v1",
    key="person id",
    description=(
        "Residents with their full current state. Personal data: internal only. When a "
        "resident's data is erased, a tombstone (null value) removes it from the log."
    ),
    compacted=True,
    visibility="internal",
    event_types=tuple(e.event_type for e in PERSON_EVENTS),
)
