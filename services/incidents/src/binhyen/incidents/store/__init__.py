"""MongoDB access for the incidents service (indexes declared here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from binhyen.incidents.store.categories import CategoryStore
from binhyen.incidents.store.incidents import IncidentStore
from binhyen.incidents.store.rate_limits import RateLimitStore
from binhyen.incidents.store.teams import TeamReplicaStore
from binhyen.incidents.store.units import UnitReplicaStore

Document = dict[str, Any]


@dataclass(frozen=True)
class Stores:
    """Every store of the service, over one database."""

    units: UnitReplicaStore
    teams: TeamReplicaStore
    categories: CategoryStore
    incidents: IncidentStore
    rate_limits: RateLimitStore

    @classmethod
    def of(cls, db: AsyncDatabase[Document]) -> Stores:
        """The stores over ``db``."""
        return cls(
            units=UnitReplicaStore(db),
            teams=TeamReplicaStore(db),
            categories=CategoryStore(db),
            incidents=IncidentStore(db),
            rate_limits=RateLimitStore(db),
        )

    async def create_indexes(self) -> None:
        """Declare every index."""
        await self.units.create_indexes()
        await self.teams.create_indexes()
        await self.categories.create_indexes()
        await self.incidents.create_indexes()


__all__ = [
    "CategoryStore",
    "IncidentStore",
    "RateLimitStore",
    "Stores",
    "TeamReplicaStore",
    "UnitReplicaStore",
]
