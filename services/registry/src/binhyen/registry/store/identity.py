"""MongoDB access for identity (indexes declared here)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


class IdentityStore:
    """The ``users`` collection."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["users"]

    async def create_indexes(self) -> None:
        """Declare the indexes this store relies on."""
