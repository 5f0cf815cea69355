"""``endpoints``: webhook endpoints that receive a unit's alerts (e.g. the commune police's system).

The secret (``whsec_…``) is shown once when the endpoint is made and kept here to sign; a
rotation keeps the previous one for a grace period (both signatures are sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    """A webhook endpoint."""

    id: str
    unit_id: str
    unit_path: tuple[str, ...]
    name: str
    url: str
    secret: str
    secret_previous: str | None
    enabled: bool
    disabled_reason: str | None
    created_by: str
    version: int


class EndpointStore:
    """Webhook endpoints."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["endpoints"]

    async def create_indexes(self) -> None:
        """Audiences read the endpoints of the units above a hamlet."""
        await self.collection.create_index("unit_id")

    async def insert(self, endpoint: Endpoint) -> None:
        """Store a new endpoint."""
        await self.collection.insert_one(_doc(endpoint) | {"created_at": datetime.now(UTC)})

    async def get(self, endpoint_id: str) -> Endpoint | None:
        """An endpoint, or None."""
        doc = await self.collection.find_one({"_id": endpoint_id})
        return None if doc is None else _endpoint(doc)

    async def at_units(self, unit_ids: list[str]) -> list[Endpoint]:
        """The enabled endpoints of these units."""
        found = self.collection.find({"unit_id": {"$in": unit_ids}, "enabled": True})
        return [_endpoint(doc) async for doc in found]

    async def in_subtree(self, unit_ids: list[str]) -> list[Endpoint]:
        """Every endpoint of these units, enabled or not."""
        found = self.collection.find({"unit_id": {"$in": unit_ids}})
        return [_endpoint(doc) async for doc in found]

    async def disable(self, endpoint_id: str, reason: str) -> bool:
        """Stop sending to an endpoint (410 Gone, or an officer's decision)."""
        result = await self.collection.update_one(
            {"_id": endpoint_id, "enabled": True},
            {"$set": {"enabled": False, "disabled_reason": reason}, "$inc": {"version": 1}},
        )
        return result.modified_count == 1

    async def delete(self, endpoint_id: str) -> bool:
        """Forget an endpoint."""
        return (await self.collection.delete_one({"_id": endpoint_id})).deleted_count == 1


def _doc(e: Endpoint) -> Document:
    return {
        "_id": e.id,
        "unit_id": e.unit_id,
        "unit_path": list(e.unit_path),
        "name": e.name,
        "url": e.url,
        "secret": e.secret,
        "secret_previous": e.secret_previous,
        "enabled": e.enabled,
        "disabled_reason": e.disabled_reason,
        "created_by": e.created_by,
        "version": e.version,
    }


def _endpoint(doc: Document) -> Endpoint:
    return Endpoint(
        id=doc["_id"],
        unit_id=doc["unit_id"],
        unit_path=tuple(doc.get("unit_path", ())),
        name=doc.get("name", ""),
        url=doc["url"],
        secret=doc["secret"],
        secret_previous=doc.get("secret_previous"),
        enabled=bool(doc.get("enabled", True)),
        disabled_reason=doc.get("disabled_reason"),
        created_by=doc.get("created_by", ""),
        version=int(doc.get("version", 1)),
    )
