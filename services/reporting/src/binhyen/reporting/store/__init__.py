"""The reporting database: generations of the read model, and the service's own records.

The read model (units, households, teams, enrolments, incidents, alerts) is derived from
the topics and can be thrown away: it lives in **generations**, each a set of collections
named ``g<N>_<name>``. One generation is current (reads and the live consumers use it); a
rebuild fills the next one from offset 0 while the current one keeps serving, and the
pointer moves when it has caught up (``service.rebuild``). What officers enter
(evaluations, attestations) is not derived from topics and lives outside generations.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from binhyen.reporting.projections import (
    ALERTS,
    COLLECTIONS,
    ENROLMENTS,
    HOUSEHOLDS,
    INCIDENTS,
    TEAMS,
    UNITS,
    Change,
)

Document = dict[str, Any]
DUPLICATE_KEY = 11000
POINTER = "pointer"  # the _id of the document that names the current generation

# Look-ups statistics make: equality and $in on a top-level field (FerretDB as built by
# deploy/local uses an index for those, see deploy/local/README.md).
INDEXES: dict[str, tuple[str, ...]] = {
    UNITS: ("parent_id", "successor_id"),
    HOUSEHOLDS: ("unit_id",),
    TEAMS: ("unit_id",),
    ENROLMENTS: ("unit_id",),
    INCIDENTS: ("hamlet_id",),
    ALERTS: ("hamlet_ids",),
}


class ReadModel:
    """One generation of the read model."""

    def __init__(self, db: AsyncDatabase[Document], generation: int) -> None:
        self.db = db
        self.generation = generation
        self.collections: dict[str, AsyncCollection[Document]] = {
            name: db[f"g{generation}_{name}"] for name in COLLECTIONS
        }

    def __getitem__(self, name: str) -> AsyncCollection[Document]:
        return self.collections[name]

    async def create_indexes(self) -> None:
        """The indexes of every collection of this generation."""
        for name, fields in INDEXES.items():
            for name_of_field in fields:
                await self.collections[name].create_index(name_of_field)

    async def drop(self) -> None:
        """Remove every collection of this generation."""
        for collection in self.collections.values():
            await collection.drop()

    async def apply(self, changes: list[Change]) -> None:
        """Write changes: each state only over an older version, facts always (idempotent).

        One unordered bulk write per collection: a state refused because the stored
        version is as new or newer (a duplicate key on the upsert) does not stop the others
        nor the facts.
        """
        by_collection: dict[str, list[UpdateOne]] = {}
        for change in changes:
            ops = by_collection.setdefault(change.collection, [])
            if change.version is not None:
                ops.append(
                    UpdateOne(
                        {"_id": change.doc_id, "version": {"$not": {"$gte": change.version}}},
                        {"$set": {**change.state, "version": change.version}},
                        upsert=True,
                    )
                )
            if change.facts:
                ops.append(UpdateOne({"_id": change.doc_id}, {"$set": change.facts}, upsert=True))
        for name, ops in by_collection.items():
            if not ops:
                continue
            try:
                await self.collections[name].bulk_write(ops, ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if any(e.get("code") != DUPLICATE_KEY for e in errors):
                    raise


@dataclass(frozen=True)
class Generation:
    """A generation's record: its number, state, consumer group and the offsets it reached."""

    number: int
    status: str  # building, live, retired
    group: str
    offsets: dict[str, int]  # "topic:partition" -> next offset to read
    events: int
    started_at: datetime
    switched_at: datetime | None
    end_offsets: dict[str, int]


class Generations:
    """Which generation is current, which one is being built, and their records."""

    def __init__(self, db: AsyncDatabase[Document], group_prefix: str) -> None:
        self.collection = db["generations"]
        self.db = db
        self.group_prefix = group_prefix

    def group(self, number: int) -> str:
        """The consumer group that feeds generation ``number``."""
        return f"{self.group_prefix}.g{number}"

    def model(self, number: int) -> ReadModel:
        """The read model of generation ``number``."""
        return ReadModel(self.db, number)

    async def current(self) -> int:
        """The current generation; the first start makes generation 1 current."""
        doc = await self.collection.find_one({"_id": POINTER})
        if doc is not None:
            return int(doc["current"])
        now = datetime.now(UTC)
        with contextlib.suppress(DuplicateKeyError):
            await self.collection.insert_one({"_id": "g1", **self._record(1, "live", now)})
        with contextlib.suppress(DuplicateKeyError):
            await self.collection.insert_one(
                {"_id": POINTER, "current": 1, "building": None, "previous": None}
            )
        doc = await self.collection.find_one({"_id": POINTER})
        assert doc is not None
        return int(doc["current"])

    def _record(self, number: int, status: str, now: datetime) -> Document:
        return {
            "number": number,
            "status": status,
            "group": self.group(number),
            "offsets": {},
            "end_offsets": {},
            "events": 0,
            "started_at": now,
            "switched_at": now if status == "live" else None,
        }

    async def pointer(self) -> Document:
        """The pointer document (current, building, previous)."""
        await self.current()
        doc = await self.collection.find_one({"_id": POINTER})
        assert doc is not None
        return doc

    async def start_building(self, *, force: bool = False) -> int | None:
        """Reserve the next generation for a rebuild; None if one is being built already.

        ``force`` takes over a rebuild that died (its generation is dropped and a new one
        started).
        """
        pointer = await self.pointer()
        building = pointer.get("building")
        if building is not None and not force:
            return None
        latest = max(int(pointer["current"]), int(building or 0))
        number = latest + 1
        taken = await self.collection.update_one(
            {"_id": POINTER, "building": building}, {"$set": {"building": number}}
        )
        if not taken.modified_count:
            return None
        if building is not None:
            await self.model(int(building)).drop()
            await self.collection.update_one(
                {"_id": f"g{building}"}, {"$set": {"status": "abandoned"}}
            )
        await self.collection.replace_one(
            {"_id": f"g{number}"},
            self._record(number, "building", datetime.now(UTC)),
            upsert=True,
        )
        return number

    async def record_progress(
        self, number: int, *, offsets: dict[str, int], end_offsets: dict[str, int], events: int
    ) -> None:
        """Store the offsets a rebuild reached beside its data."""
        await self.collection.update_one(
            {"_id": f"g{number}"},
            {"$set": {"offsets": offsets, "end_offsets": end_offsets, "events": events,
                      "progress_at": datetime.now(UTC)}},
        )  # fmt: skip

    async def switch(self, number: int) -> bool:
        """Make the built generation current; the one before it stays as ``previous``."""
        pointer = await self.pointer()
        if pointer.get("building") != number:
            return False
        old = int(pointer["current"])
        now = datetime.now(UTC)
        moved = await self.collection.update_one(
            {"_id": POINTER, "building": number},
            {"$set": {"current": number, "building": None, "previous": old}},
        )
        if not moved.modified_count:
            return False
        await self.collection.update_one(
            {"_id": f"g{number}"}, {"$set": {"status": "live", "switched_at": now}}
        )
        await self.collection.update_one({"_id": f"g{old}"}, {"$set": {"status": "retired"}})
        # Generations older than the previous one are dropped: one is kept to fall back on.
        stale = self.collection.find({"status": "retired", "number": {"$lt": old}}, {"number": 1})
        async for doc in stale:
            await self.model(int(doc["number"])).drop()
            await self.collection.update_one({"_id": doc["_id"]}, {"$set": {"status": "dropped"}})
        return True

    async def record(self, number: int) -> Generation | None:
        """A generation's record."""
        doc = await self.collection.find_one({"_id": f"g{number}"})
        if doc is None:
            return None
        return Generation(
            number=int(doc["number"]),
            status=doc["status"],
            group=doc["group"],
            offsets=dict(doc.get("offsets") or {}),
            events=int(doc.get("events") or 0),
            started_at=doc["started_at"],
            switched_at=doc.get("switched_at"),
            end_offsets=dict(doc.get("end_offsets") or {}),
        )


@dataclass(frozen=True)
class Stores:
    """The reporting service's collections."""

    db: AsyncDatabase[Document]
    generations: Generations

    @classmethod
    def of(cls, db: AsyncDatabase[Document], *, group_prefix: str) -> Stores:
        """The stores on a database."""
        return cls(db, Generations(db, group_prefix))

    async def create_indexes(self) -> None:
        """Indexes of the current generation (a rebuild makes its own)."""
        current = await self.generations.current()
        await self.generations.model(current).create_indexes()

    async def read_model(self) -> ReadModel:
        """The current generation's read model."""
        return self.generations.model(await self.generations.current())
