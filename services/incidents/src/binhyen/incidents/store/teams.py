"""``teams``: the local read-only replica of the registry's organisations and teams."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from binhyen.kit.idempotency import apply_once

Document = dict[str, Any]


@dataclass(frozen=True)
class TeamReplica:
    """A team or organisation as last announced by the registry."""

    id: str
    unit_id: str
    unit_path: tuple[str, ...]
    category: str
    kind: str
    name: str
    status: str
    member_ids: tuple[str, ...]  # persons with a membership valid today or later
    version: int

    @property
    def active(self) -> bool:
        """Not disbanded."""
        return self.status == "active"


class TeamReplicaStore:
    """Teams replicated from ``binhyen.registry.organisations.v1``."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["teams"]

    async def create_indexes(self) -> None:
        """Nothing beyond _id: teams are read by id."""

    async def apply(self, state: Document, *, event_id: str, sequence: int | None = None) -> bool:
        """Apply a newer state of a team, once per event; True if it changed the replica."""
        version = int(state["version"])
        return await apply_once(
            self.collection,
            doc_id=state["organisation_id"],
            event_id=event_id,
            sequence=sequence,
            update={"$set": {**state, "replicated_at": datetime.now(UTC)}},
            guard={"version": {"$lt": version}},
        )

    async def get(self, team_id: str) -> TeamReplica | None:
        """The replicated team, or None."""
        doc = await self.collection.find_one({"_id": team_id})
        if doc is None:
            return None
        today = datetime.now(UTC).date()
        members = tuple(
            m["person_id"]
            for m in doc.get("members", [])
            if not m.get("valid_to") or date.fromisoformat(str(m["valid_to"])[:10]) >= today
        )
        return TeamReplica(
            id=doc["_id"],
            unit_id=doc["unit_id"],
            unit_path=tuple(doc.get("unit_path", ())),
            category=doc.get("category", "team"),
            kind=doc.get("kind", ""),
            name=doc.get("name", ""),
            status=doc.get("status", "active"),
            member_ids=members,
            version=int(doc["version"]),
        )
