"""Rate limits: requests counted per client and window, shared by replicas."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


class RateLimitStore:
    """``rate_limits``: requests counted per client and fixed window, shared by replicas."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["rate_limits"]

    async def hit(
        self, bucket: str, client: str, window: timedelta, *, salt: str
    ) -> tuple[int, datetime]:
        """Count one request; return the count in the current window and when it ends."""
        now = datetime.now(UTC)
        seconds = int(window.total_seconds())
        start = int(now.timestamp()) // seconds * seconds
        ends = datetime.fromtimestamp(start + seconds, UTC)
        # The client address is personal data: only a salted hash is stored.
        digest = hashlib.sha256(f"{salt}:{client}".encode()).hexdigest()[:32]
        doc = await self.collection.find_one_and_update(
            {"_id": f"{bucket}:{digest}:{start}"},
            {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": ends}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(doc["count"]) if doc else 1, ends

    async def purge(self) -> int:
        """Delete windows that have ended."""
        result = await self.collection.delete_many({"expires_at": {"$lt": datetime.now(UTC)}})
        return result.deleted_count
