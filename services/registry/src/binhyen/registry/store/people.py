"""MongoDB access for people (residents; personal data, indexes declared here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


@dataclass(frozen=True)
class PersonSummary:
    """What other aggregates may know of a resident: id, unit and name."""

    id: str
    unit_id: str
    full_name: str
    active: bool


class PersonStore:
    """The ``people`` collection: one document per resident."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["people"]

    async def create_indexes(self) -> None:
        """Declare the indexes this store relies on."""

    async def summary(self, person_id: str) -> PersonSummary | None:
        """The resident's id, unit and name, or None."""
        doc = await self.collection.find_one(
            {"_id": person_id}, {"unit_id": 1, "full_name": 1, "status": 1}
        )
        if doc is None:
            return None
        return PersonSummary(
            doc["_id"], doc["unit_id"], doc["full_name"], doc.get("status", "active") == "active"
        )
