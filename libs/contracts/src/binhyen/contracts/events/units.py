"""Admin-unit events of the registry (topic binhyen.registry.units.v1)."""

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from binhyen.contracts.envelope import EventData
from binhyen.contracts.spec import TopicSpec
from binhyen.contracts.units import UnitKind, UnitLevel

REGISTRY_SOURCE = "/binhyen/registry"


class UnitState(EventData):
    """The full current state of an admin unit (every unit event carries it)."""

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
    valid_from: date = Field(description="Date from which the unit exists.")
    version: int = Field(
        ge=1, description="Version of the unit's state; increases by one per change."
    )
    status: Literal["active", "merged", "dissolved"] = Field(
        "active", description="active, or ended by a merge or a dissolution."
    )
    successor_id: str | None = Field(None, description="The unit it was merged into.")
    valid_to: date | None = Field(None, description="Date it stopped existing, if it did.")
    changed_on: date | None = Field(
        None, description="Date the change in this event took effect (valid_from for a new unit)."
    )

    def subject(self) -> str:
        """Return the unit id."""
        return self.unit_id


class UnitRegistered(UnitState):
    """An admin unit was registered."""

    event_type: ClassVar[str] = "vn.binhyen.registry.unit.registered.v1"
    source: ClassVar[str] = REGISTRY_SOURCE


class UnitRenamed(UnitState):
    """An admin unit took a new name from ``changed_on``."""

    event_type: ClassVar[str] = "vn.binhyen.registry.unit.renamed.v1"
    source: ClassVar[str] = REGISTRY_SOURCE

    previous_name: str = Field(description="The name before the change.")


class UnitMoved(UnitState):
    """An admin unit moved under another parent from ``changed_on`` (or followed an ancestor)."""

    event_type: ClassVar[str] = "vn.binhyen.registry.unit.moved.v1"
    source: ClassVar[str] = REGISTRY_SOURCE

    previous_parent_id: str | None = Field(description="The parent before the change.")
    because_of: str | None = Field(
        None, description="Id of the ancestor whose move or merge caused this one, if any."
    )


class UnitMerged(UnitState):
    """An admin unit ended by merging into ``successor_id`` on ``changed_on``."""

    event_type: ClassVar[str] = "vn.binhyen.registry.unit.merged.v1"
    source: ClassVar[str] = REGISTRY_SOURCE


class UnitDissolved(UnitState):
    """An admin unit ended on ``changed_on`` without a successor."""

    event_type: ClassVar[str] = "vn.binhyen.registry.unit.dissolved.v1"
    source: ClassVar[str] = REGISTRY_SOURCE


UNIT_EVENTS: tuple[type[UnitState], ...] = (
    UnitRegistered,
    UnitRenamed,
    UnitMoved,
    UnitMerged,
    UnitDissolved,
)


TOPIC = TopicSpec(
    name="binhyen.registry.units.v1",
    key="unit id",
    description=(
        "Admin units (province, commune, hamlet, …); every event carries the unit's full "
        "current state. Log-compacted: read from offset 0 to bootstrap a replica of the tree."
    ),
    compacted=True,
    visibility="internal",
    event_types=tuple(e.event_type for e in UNIT_EVENTS),
)
