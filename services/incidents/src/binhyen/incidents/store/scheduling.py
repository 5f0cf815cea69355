"""Leases and rate limits."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]


class LeaseStore:
    """``leases``: a named lease held by one replica at a time until it expires."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["leases"]

    async def acquire(self, name: str, owner: str, ttl: timedelta) -> bool:
        """Take or renew the lease; True if ``owner`` holds it now."""
        now = datetime.now(UTC)
        until = now + ttl
        doc = await self.collection.find_one_and_update(
            {"_id": name, "$or": [{"owner": owner}, {"until": {"$lte": now}}]},
            {"$set": {"owner": owner, "until": until}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            try:
                await self.collection.insert_one({"_id": name, "owner": owner, "until": until})
            except DuplicateKeyError:
                return False
            return True
        # Re-read: on a server without isolation two claims can both "succeed".
        check = await self.collection.find_one({"_id": name})
        return check is not None and check.get("owner") == owner

    async def release(self, name: str, owner: str) -> None:
        """Give the lease up (if still held)."""
        await self.collection.update_one(
            {"_id": name, "owner": owner}, {"$set": {"until": datetime.now(UTC)}}
        )


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
