"""``throttle``: how many low-severity alerts each recipient got in the current hour."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


class ThrottleStore:
    """One counter per (recipient, hour)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["throttle"]

    async def count(self, rkey: str, alert_id: str, window: datetime) -> int:
        """Count this alert for the recipient in the hour starting ``window``; the count so far.

        The same alert counted twice (a wave repeated after a crash) counts once.
        """
        doc = await self.collection.find_one_and_update(
            {"_id": f"{rkey}|{window.isoformat()}"},
            {"$addToSet": {"alerts": alert_id}, "$set": {"window": window}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return len(doc["alerts"]) if doc else 1

    async def purge(self, before: datetime) -> int:
        """Forget windows that ended."""
        return (await self.collection.delete_many({"window": {"$lt": before}})).deleted_count
