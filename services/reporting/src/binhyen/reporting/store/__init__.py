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

from binhyen.kit.mongo import MAX_BULK
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
LOOKUP_IDS = 500  # documents per apply(): the embedded server's indexed $in holds 500 values
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

    async def apply(self, changes: list[Change], *, attempts: int = 3) -> None:
        """Write changes: each state only over an older version, facts always (idempotent).

        Per collection: one read of which documents exist (and their versions), one
        ``insert_many`` of the new ones, unordered ``bulk_write``s of the updates (the state
        guarded by the version in the filter, so a newer state written meanwhile wins), at
        most ``MAX_BULK`` statements each (FerretDB v1 never answers an update command of
        100 statements or more). Callers pass at most ``LOOKUP_IDS`` documents: the
        embedded server uses the ``_id`` index for an ``$in`` of at most 500 values.

        Nothing here relies on an upsert's duplicate-key error: FerretDB answers an unordered
        bulk with such an error without the counts PyMongo reads. A document another writer
        inserted between the read and the insert is retried as an update.
        """
        by_collection: dict[str, list[Change]] = {}
        for change in changes:
            by_collection.setdefault(change.collection, []).append(change)
        for name, group in by_collection.items():
            collection = self.collections[name]
            ids = list({c.doc_id for c in group})
            versions = {
                d["_id"]: d.get("version")
                async for d in collection.find({"_id": {"$in": ids}}, {"version": 1})
            }
            inserts: list[Document] = []
            inserted: list[Change] = []
            updates: list[UpdateOne] = []
            for change in group:
                if change.doc_id not in versions:
                    inserts.append(_new_document(change))
                    inserted.append(change)
                    continue
                if change.version is not None:
                    stored = versions[change.doc_id]
                    if stored is None or stored < change.version:
                        updates.append(
                            UpdateOne(
                                {"_id": change.doc_id,
                                 "version": {"$not": {"$gte": change.version}}},
                                {"$set": {**change.state, "version": change.version}},
                            )
                        )  # fmt: skip
                if change.facts:
                    updates.append(UpdateOne({"_id": change.doc_id}, {"$set": change.facts}))
            retry: list[Change] = []
            if inserts:
                try:
                    await collection.insert_many(inserts, ordered=False)
                except BulkWriteError as exc:
                    errors = exc.details.get("writeErrors", [])
                    if any(e.get("code") != DUPLICATE_KEY for e in errors) or attempts <= 1:
                        raise
                    retry = [inserted[e["index"]] for e in errors]
            for start in range(0, len(updates), MAX_BULK):
                await collection.bulk_write(updates[start : start + MAX_BULK], ordered=False)
            if retry:
                await self.apply(retry, attempts=attempts - 1)


def _new_document(change: Change) -> Document:
    """A document holding one change: its state and its facts (dotted paths unfolded)."""
    doc: Document = {"_id": change.doc_id}
    if change.version is not None:
        doc.update(change.state)
        doc["version"] = change.version
    for path, value in change.facts.items():
        *parents, leaf = path.split(".")
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return doc


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
            "offsets": [],
            "end_offsets": [],
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
        # Topic names hold dots, which field names may not: offsets are kept as lists.
        await self.collection.update_one(
            {"_id": f"g{number}"},
            {"$set": {"offsets": _listed(offsets), "end_offsets": _listed(end_offsets),
                      "events": events, "progress_at": datetime.now(UTC)}},
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
            offsets=_mapped(doc.get("offsets")),
            events=int(doc.get("events") or 0),
            started_at=doc["started_at"],
            switched_at=doc.get("switched_at"),
            end_offsets=_mapped(doc.get("end_offsets")),
        )


def _listed(offsets: dict[str, int]) -> list[Document]:
    return [{"partition": key, "offset": value} for key, value in sorted(offsets.items())]


def _mapped(stored: Any) -> dict[str, int]:
    if not isinstance(stored, list):
        return {}
    return {entry["partition"]: int(entry["offset"]) for entry in stored}


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
