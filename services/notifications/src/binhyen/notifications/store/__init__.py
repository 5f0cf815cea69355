"""MongoDB access for the notifications service (indexes declared here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from binhyen.notifications.store.alerts import AlertStore, DeliveryStore, RecipientStore
from binhyen.notifications.store.contacts import PreferenceStore, PushStore, StaffStore
from binhyen.notifications.store.endpoints import EndpointStore
from binhyen.notifications.store.policies import PolicyStore
from binhyen.notifications.store.replicas import ResidentStore, TeamStore, UnitStore
from binhyen.notifications.store.throttle import ThrottleStore

Document = dict[str, Any]


@dataclass(frozen=True)
class Stores:
    """Every store of the service, over one database."""

    db: AsyncDatabase[Document]
    units: UnitStore
    residents: ResidentStore
    teams: TeamStore
    staff: StaffStore
    preferences: PreferenceStore
    push: PushStore
    endpoints: EndpointStore
    policies: PolicyStore
    alerts: AlertStore
    recipients: RecipientStore
    deliveries: DeliveryStore
    throttle: ThrottleStore

    @classmethod
    def of(cls, db: AsyncDatabase[Document]) -> Stores:
        """The stores over ``db``."""
        return cls(
            db=db,
            units=UnitStore(db),
            residents=ResidentStore(db),
            teams=TeamStore(db),
            staff=StaffStore(db),
            preferences=PreferenceStore(db),
            push=PushStore(db),
            endpoints=EndpointStore(db),
            policies=PolicyStore(db),
            alerts=AlertStore(db),
            recipients=RecipientStore(db),
            deliveries=DeliveryStore(db),
            throttle=ThrottleStore(db),
        )

    async def create_indexes(self) -> None:
        """Declare every index."""
        await self.residents.create_indexes()
        await self.teams.create_indexes()
        await self.staff.create_indexes()
        await self.push.create_indexes()
        await self.endpoints.create_indexes()
        await self.policies.create_indexes()
        await self.alerts.create_indexes()
        await self.recipients.create_indexes()
        await self.deliveries.create_indexes()


__all__ = ["Document", "Stores"]
