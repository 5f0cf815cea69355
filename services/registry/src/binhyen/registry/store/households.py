"""MongoDB access for households (indexes declared here)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


class HouseholdStore:
    """The ``households`` collection."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["households"]

    async def create_indexes(self) -> None:
        """Declare the indexes this store relies on."""
