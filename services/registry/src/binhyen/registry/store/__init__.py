"""MongoDB access for the registry: one store per aggregate, each declaring its indexes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from binhyen.registry.store.enrolments import EnrolmentStore
from binhyen.registry.store.households import HouseholdStore
from binhyen.registry.store.identity import IdentityStore
from binhyen.registry.store.organisations import OrganisationStore
from binhyen.registry.store.people import PersonStore
from binhyen.registry.store.tasks import TaskStore
from binhyen.registry.store.units import UnitStore

Document = dict[str, Any]


@dataclass
class Stores:
    """Every store of the registry, opened on one database."""

    units: UnitStore
    households: HouseholdStore
    people: PersonStore
    organisations: OrganisationStore
    tasks: TaskStore
    enrolments: EnrolmentStore
    identity: IdentityStore

    @property
    def db(self) -> AsyncDatabase[Document]:
        """The registry's database (leases and other service-wide collections live there)."""
        return self.units.collection.database

    @classmethod
    def open(cls, db: AsyncDatabase[Document]) -> Stores:
        """Open every store on ``db``."""
        return cls(
            units=UnitStore(db),
            households=HouseholdStore(db),
            people=PersonStore(db),
            organisations=OrganisationStore(db),
            tasks=TaskStore(db),
            enrolments=EnrolmentStore(db),
            identity=IdentityStore(db),
        )

    async def create_indexes(self) -> None:
        """Declare every index (and drop the ones no longer used)."""
        for store in self._all():
            await store.create_indexes()
        # Idempotency-Keys were global then; a created record's id now carries its caller's key.
        for collection in (*self.outbox_collections(), self.tasks.plans):
            with contextlib.suppress(OperationFailure):  # already gone
                await collection.drop_index("idempotency_unique")

    def outbox_collections(self) -> list[AsyncCollection[Document]]:
        """Collections whose documents carry outbox entries."""
        return [
            self.units.collection,
            self.households.collection,
            self.people.collection,
            self.organisations.collection,
            self.tasks.collection,
            self.enrolments.collection,
            self.identity.collection,  # account state changes (binhyen.registry.accounts.v1)
        ]

    def _all(self) -> tuple[Any, ...]:
        return (
            self.units,
            self.households,
            self.people,
            self.organisations,
            self.tasks,
            self.enrolments,
            self.identity,
        )
