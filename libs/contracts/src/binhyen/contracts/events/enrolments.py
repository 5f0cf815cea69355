"""Enrolment events on topic binhyen.registry.enrolments.v1."""

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from binhyen.contracts.envelope import EventData
from binhyen.contracts.spec import TopicSpec

SOURCE = "/binhyen/registry"


class EnrolmentState(EventData):
    """A hamlet's yearly enrolment in the programme, full current state."""

    enrolment_id: str = Field(description="'<hamlet id>:<year>'.")
    unit_id: str = Field(description="The hamlet.")
    year: int = Field(description="Programme year.")
    resolution_date: date = Field(description="Date the Party cell adopted its resolution.")
    registered_on: date = Field(
        description="Date the hamlet registered to strive for the standard."
    )
    resolution_in_first_quarter: bool = Field(
        description="Criterion 1 of Circular 124/2021/TT-BCA asks for it in the first quarter."
    )
    status: Literal["registered", "withdrawn"] = Field(description="registered or withdrawn.")
    version: int = Field(ge=1, description="Version of the enrolment's state.")

    def subject(self) -> str:
        """Return the enrolment id."""
        return self.enrolment_id


class HamletEnrolled(EnrolmentState):
    """A hamlet enrolled to strive for the standard in a year."""

    event_type: ClassVar[str] = "vn.binhyen.registry.enrolment.registered.v1"
    source: ClassVar[str] = SOURCE


class EnrolmentWithdrawn(EnrolmentState):
    """A hamlet withdrew its enrolment for a year."""

    event_type: ClassVar[str] = "vn.binhyen.registry.enrolment.withdrawn.v1"
    source: ClassVar[str] = SOURCE


TOPIC = TopicSpec(
    name="binhyen.registry.enrolments.v1",
    key="enrolment id (hamlet id and year)",
    description="Yearly enrolment of each hamlet in the programme, full current state.",
    compacted=True,
    visibility="internal",
    event_types=(HamletEnrolled.event_type, EnrolmentWithdrawn.event_type),
)
