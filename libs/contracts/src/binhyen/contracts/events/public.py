"""Registry events for other agencies, on topic binhyen.registry.public.v1.

Never personal data: units, teams without their members, and counts. Keyed by
``unit:<id>``, ``team:<id>`` and ``counts:<unit id>`` so the compacted topic keeps
the latest snapshot of each.
"""

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import Field

from binhyen.contracts.envelope import Sequenced
from binhyen.contracts.spec import TopicSpec
from binhyen.contracts.units import UnitKind, UnitLevel

SOURCE = "/binhyen/registry"


class PublicUnit(Sequenced):
    """The current public state of an admin unit."""

    event_type: ClassVar[str] = "vn.binhyen.registry.public.unit.v1"
    source: ClassVar[str] = SOURCE

    unit_id: str = Field(description="Id of the unit.")
    kind: UnitKind = Field(description="Kind of unit.")
    level: UnitLevel = Field(description="Tier of the tree.")
    name: str = Field(description="Official name (Unicode NFC).")
    official_code: str | None = Field(None, description="National code, when known.")
    parent_id: str | None = Field(None, description="Parent unit.")
    ancestor_ids: list[str] = Field(default_factory=list, description="Ancestors, root first.")
    status: Literal["active", "merged", "dissolved"] = Field(description="Lifecycle state.")
    successor_id: str | None = Field(None, description="Unit it was merged into.")
    valid_from: date = Field(description="Date the unit exists from.")
    valid_to: date | None = Field(None, description="Date it stopped existing (merge, dissolve).")
    version: int = Field(ge=1, description="Version of the unit's state.")

    def subject(self) -> str:
        """Return the compaction key."""
        return f"unit:{self.unit_id}"


class PublicTeam(Sequenced):
    """A grassroots team or organisation as the public may know it: no members."""

    event_type: ClassVar[str] = "vn.binhyen.registry.public.team.v1"
    source: ClassVar[str] = SOURCE

    team_id: str = Field(description="Id of the team or organisation.")
    unit_id: str = Field(description="Unit it belongs to (hamlet or commune).")
    kind: str = Field(description="e.g. people_security, mediation, youth_shock_troop.")
    name: str = Field(description="Name of the team.")
    member_count: int = Field(ge=0, description="Active members now.")
    active: bool = Field(description="False once disbanded.")
    version: int = Field(ge=1, description="Version of the team's state.")

    def subject(self) -> str:
        """Return the compaction key."""
        return f"team:{self.team_id}"


class PublicUnitCounts(Sequenced):
    """Counts for a unit and its whole subtree."""

    event_type: ClassVar[str] = "vn.binhyen.registry.public.counts.v1"
    source: ClassVar[str] = SOURCE

    unit_id: str = Field(description="Unit the counts are rolled up to.")
    computed_at: datetime = Field(description="When the counts were taken (UTC).")
    year: int = Field(description="Programme year the pledge figures refer to.")
    households: int = Field(ge=0, description="Active households in the subtree.")
    households_pledged: int = Field(ge=0, description="Households with a pledge for the year.")
    residents: int = Field(ge=0, description="Registered residents in the subtree.")
    teams: int = Field(ge=0, description="Active teams and organisations.")
    team_members: int = Field(ge=0, description="Active memberships of those teams.")

    def subject(self) -> str:
        """Return the compaction key."""
        return f"counts:{self.unit_id}"


TOPIC = TopicSpec(
    name="binhyen.registry.public.v1",
    key="unit:<id>, team:<id> or counts:<unit id>",
    description=(
        "For other agencies: admin units, teams (no members) and counts per unit. "
        "Never personal data."
    ),
    compacted=True,
    visibility="public",
    event_types=(PublicUnit.event_type, PublicTeam.event_type, PublicUnitCounts.event_type),
)
