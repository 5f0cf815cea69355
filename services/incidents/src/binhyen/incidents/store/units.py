"""MongoDB access for the incidents service (indexes declared here)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from binhyen.incidents.domain.units import UnitReplica
from binhyen.kit.idempotency import apply_once

Document = dict[str, Any]


class UnitReplicaStore:
    """``units``: the local read-only replica of the registry's admin units."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["units"]

    async def create_indexes(self) -> None:
        """Declare the indexes the replica relies on."""
        await self.collection.create_index([("parent_id", ASCENDING)], name="parent")

    async def apply(self, unit: UnitReplica, *, event_id: str, sequence: int | None = None) -> bool:
        """Apply a newer state of a unit, once per event; True if it changed the replica."""
        state = {
            "kind": unit.kind,
            "level": unit.level,
            "name": unit.name,
            "parent_id": unit.parent_id,
            "ancestor_ids": list(unit.ancestor_ids),
            "valid_from": unit.valid_from.isoformat(),
            "version": unit.version,
            "status": unit.status,
            "successor_id": unit.successor_id,
            "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
            "replicated_at": datetime.now(UTC),
        }
        return await apply_once(
            self.collection,
            doc_id=unit.id,
            event_id=event_id,
            sequence=sequence,
            update={
                "$set": state,
                "$push": {"history": {"event_id": event_id, "version": unit.version}},
            },
            guard={"version": {"$lt": unit.version}},
        )

    async def version_of(self, unit_id: str) -> int | None:
        """The replicated version of a unit, or None if unknown."""
        doc = await self.collection.find_one({"_id": unit_id}, {"version": 1})
        return None if doc is None else int(doc["version"])

    async def get(self, unit_id: str) -> UnitReplica | None:
        """The replicated unit, or None."""
        doc = await self.collection.find_one({"_id": unit_id})
        if doc is None:
            return None
        return UnitReplica(
            id=doc["_id"],
            kind=doc["kind"],
            level=doc["level"],
            name=doc["name"],
            parent_id=doc.get("parent_id"),
            ancestor_ids=tuple(doc.get("ancestor_ids", ())),
            valid_from=date.fromisoformat(doc["valid_from"]),
            version=doc["version"],
            status=doc.get("status", "active"),
            successor_id=doc.get("successor_id"),
            valid_to=date.fromisoformat(doc["valid_to"]) if doc.get("valid_to") else None,
        )
