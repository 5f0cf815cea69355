"""Hotspots as suggested: one document per hotspot, outside the generations of the read model.

What was suggested to the commune is not derived data to throw away: a rebuild of the read
model gives the same hotspots, and comparing with these documents is what keeps it from
suggesting them again. Each document carries its pending events (``_outbox``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from binhyen.kit.outbox import push_outbox, with_outbox

Document = dict[str, Any]
HOTSPOTS = "hotspots"
ACTIVE, WITHDRAWN = "active", "withdrawn"


class Hotspots:
    """The ``hotspots`` collection."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db[HOTSPOTS]

    async def create_indexes(self) -> None:
        """Hotspots are looked up by hamlet."""
        await self.collection.create_index("hamlet_id")

    async def of_hamlets(
        self,
        hamlet_ids: Sequence[str] | None,
        *,
        active_only: bool = False,
        group: str | None = None,
    ) -> list[Document]:
        """The hotspots of these hamlets (None: of every hamlet), without their outboxes;
        ``active_only``: not those withdrawn; ``group``: of that incident group only."""
        query: Document = {} if hamlet_ids is None else {"hamlet_id": {"$in": list(hamlet_ids)}}
        if active_only:
            query["status"] = ACTIVE
        if group is not None:
            query["group"] = group
        found = self.collection.find(query, {"_outbox": 0})
        return [doc async for doc in found]

    async def insert(self, doc: Document, entries: Sequence[Document]) -> bool:
        """Store a new hotspot with its events; False if it exists already."""
        try:
            await self.collection.insert_one(with_outbox(doc, entries))
        except DuplicateKeyError:
            return False
        return True

    async def revise(
        self, hotspot_id: str, version: int, fields: Document, entries: Sequence[Document]
    ) -> bool:
        """Write a new version over ``version`` with its events; False if it changed meanwhile."""
        result = await self.collection.update_one(
            {"_id": hotspot_id, "version": version}, push_outbox({"$set": fields}, entries)
        )
        return result.modified_count == 1
