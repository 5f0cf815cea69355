"""Public statistics as published: one document per unit and quarter, with its outbox.

Published once and frozen (see ``service.public``): the document keeps the event's content,
which the endpoint answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from binhyen.kit.outbox import with_outbox

Document = dict[str, Any]
PUBLIC_STATISTICS = "public_statistics"


class PublicStatisticsStore:
    """The ``public_statistics`` collection, keyed ``<unit id>:<period key>``."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db[PUBLIC_STATISTICS]

    async def contents(self, keys: Sequence[str]) -> dict[str, Document]:
        """The stored version and content of each key that has been published."""
        found = self.collection.find({"_id": {"$in": list(keys)}}, {"version": 1, "content": 1})
        return {doc["_id"]: doc async for doc in found}

    async def insert(self, doc: Document, entries: Sequence[Document]) -> bool:
        """Store the first publication of a key; False if another replica did it first."""
        try:
            await self.collection.insert_one(with_outbox(doc, entries))
        except DuplicateKeyError:
            return False
        return True
