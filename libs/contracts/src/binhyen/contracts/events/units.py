"""Admin-unit events of the registry (topic binhyen.registry.units.v1)."""

from datetime import date
from typing import ClassVar

from pydantic import Field

from binhyen.contracts.envelope import EventData
from binhyen.contracts.spec import TopicSpec
from binhyen.contracts.units import UnitKind, UnitLevel

REGISTRY_SOURCE = "/binhyen/registry"


class UnitRegistered(EventData):
    """An admin unit was registered; carries the unit's full current state."""

    event_type: ClassVar[str] = "vn.binhyen.registry.unit.registered.v1"
    source: ClassVar[str] = REGISTRY_SOURCE

    unit_id: str = Field(description="Stable id of the unit (UUID).")
    kind: UnitKind = Field(description="Kind of unit: province, commune, hamlet, …")
    level: UnitLevel = Field(description="Tier of the tree: province, district, commune, hamlet.")
    name: str = Field(description="Official name in Vietnamese, Unicode NFC, e.g. 'Tân Thành'.")
    official_code: str | None = Field(
        None, description="Code in the national list of admin units, when known."
    )
    parent_id: str | None = Field(None, description="Id of the parent unit; null for a root.")
    ancestor_ids: list[str] = Field(
        default_factory=list, description="Ids of all ancestors, root first, parent last."
    )
    valid_from: date = Field(description="Date from which the unit exists in this form.")
    version: int = Field(
        ge=1, description="Version of the unit's state; increases by one per change."
    )

    def subject(self) -> str:
        """Return the unit id."""
        return self.unit_id


TOPIC = TopicSpec(
    name="binhyen.registry.units.v1",
    key="unit id",
    description=(
        "Admin units (province, commune, hamlet, …) with their full current state. "
        "Log-compacted: read from offset 0 to bootstrap a replica of the tree."
    ),
    compacted=True,
    visibility="public",
    event_types=(UnitRegistered.event_type,),
)
