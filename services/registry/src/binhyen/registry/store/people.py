"""MongoDB access for people (residents; personal data). Indexes declared here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from binhyen.kit.idempotency import FINGERPRINT
from binhyen.kit.mongo import MAX_BULK
from binhyen.kit.outbox import OUTBOX
from binhyen.kit.text import fold
from binhyen.registry.domain.people import Person

Document = dict[str, Any]


@dataclass(frozen=True)
class PersonSummary:
    """What other aggregates may know of a resident: id, unit and name."""

    id: str
    unit_id: str
    full_name: str
    active: bool


def person_document(person: Person) -> Document:
    """The stored form of a resident (without ``_id`` bookkeeping fields)."""
    return {
        "_id": person.id,
        "unit_id": person.unit_id,
        "household_id": person.household_id,
        "full_name": person.full_name,
        "search_name": fold(person.full_name),
        "birth_year": person.birth_year,
        "phones": list(person.phones),
        "preferred_language": person.preferred_language,
        "alert_channels": list(person.alert_channels),
        "alert_consent": person.alert_consent,
        "consent_at": person.consent_at,
        "status": person.status,
        "version": person.version,
    }


def to_person(doc: Document) -> Person:
    """Rebuild a resident from its document."""
    return Person(
        id=doc["_id"],
        unit_id=doc["unit_id"],
        household_id=doc["household_id"],
        full_name=doc["full_name"],
        birth_year=doc.get("birth_year"),
        phones=tuple(doc.get("phones", ())),
        preferred_language=doc.get("preferred_language", "vi"),
        alert_channels=tuple(doc.get("alert_channels", ())),
        alert_consent=doc.get("alert_consent", False),
        consent_at=doc.get("consent_at"),
        status=doc.get("status", "active"),
        version=doc.get("version", 1),
    )


class PersonStore:
    """The ``people`` collection: one document per resident, with its outbox."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["people"]

    async def create_indexes(self) -> None:
        """Declare the indexes this store relies on."""
        await self.collection.create_index([("household_id", ASCENDING)], name="household")
        await self.collection.create_index([("unit_id", ASCENDING)], name="unit")
        await self.collection.create_index([("search_name", ASCENDING)], name="search_name")
        await self.collection.create_index([("phones", ASCENDING)], name="phones")

    async def summary(self, person_id: str) -> PersonSummary | None:
        """The resident's id, unit and name, or None."""
        doc = await self.collection.find_one(
            {"_id": person_id}, {"unit_id": 1, "full_name": 1, "status": 1}
        )
        if doc is None:
            return None
        return PersonSummary(
            doc["_id"], doc["unit_id"], doc["full_name"], doc.get("status", "active") == "active"
        )

    async def get(self, person_id: str) -> Person | None:
        """The resident, or None."""
        doc = await self.collection.find_one({"_id": person_id})
        return to_person(doc) if doc else None

    async def with_fingerprint(self, person_id: str) -> tuple[Person, str] | None:
        """The resident and the fingerprint of the request that registered them."""
        doc = await self.collection.find_one({"_id": person_id})
        return (to_person(doc), doc.get(FINGERPRINT, "")) if doc else None

    async def insert(self, doc: Document) -> bool:
        """Insert one resident (with its outbox); False if the id is taken."""
        try:
            await self.collection.insert_one({**doc, "created_at": datetime.now(UTC)})
        except DuplicateKeyError:
            return False
        return True

    async def insert_many(self, docs: Sequence[Document]) -> None:
        """Insert residents (with their outboxes); ones already there are left as they are."""
        if not docs:
            return
        now = datetime.now(UTC)
        try:
            await self.collection.insert_many(
                [{**d, "created_at": now} for d in docs], ordered=False
            )
        except BulkWriteError as exc:
            # Re-running an interrupted write: duplicates (code 11000) mean already done.
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise

    async def save(self, person: Person, *, expected_version: int, outbox: list[Document]) -> bool:
        """Write a changed resident and its events unless someone changed it meanwhile."""
        state = person_document(person)
        del state["_id"]
        result = await self.collection.update_one(
            {"_id": person.id, "version": expected_version},
            {
                "$set": {**state, "updated_at": datetime.now(UTC)},
                "$push": {OUTBOX: {"$each": outbox}},
            },
        )
        return result.modified_count == 1

    async def save_many(self, changes: Sequence[tuple[Person, int, list[Document]]]) -> int:
        """Write several changed residents (each guarded by its version); returns how many."""
        if not changes:
            return 0
        now = datetime.now(UTC)
        ops = []
        for person, expected, outbox in changes:
            state = person_document(person)
            del state["_id"]
            ops.append(
                UpdateOne(
                    {"_id": person.id, "version": expected},
                    {"$set": {**state, "updated_at": now}, "$push": {OUTBOX: {"$each": outbox}}},
                )
            )
        modified = 0
        for start in range(0, len(ops), MAX_BULK):  # FerretDB v1 hangs on 100+ statements
            result = await self.collection.bulk_write(ops[start : start + MAX_BULK], ordered=False)
            modified += result.modified_count
        return modified

    async def of_household(self, household_id: str, *, active_only: bool = True) -> list[Person]:
        """Residents of a household."""
        query: Document = {"household_id": household_id}
        if active_only:
            query["status"] = "active"
        return [to_person(d) async for d in self.collection.find(query).sort("_id", ASCENDING)]

    async def count_active(self, household_id: str) -> int:
        """Active residents of a household."""
        return await self.collection.count_documents(
            {"household_id": household_id, "status": "active"}
        )

    async def search(
        self,
        *,
        unit_ids: set[str] | None,
        household_id: str | None,
        text: str | None,
        phone: str | None,
        status: str | None,
        after: str | None,
        limit: int,
    ) -> list[Person]:
        """Residents matching the filters, in the given units (None: anywhere)."""
        query: Document = {}
        if unit_ids is not None:
            query["unit_id"] = {"$in": sorted(unit_ids)}
        if household_id:
            query["household_id"] = household_id
        if text:
            query["search_name"] = {"$regex": _escape(fold(text))}
        if phone:
            query["phones"] = phone
        if status:
            query["status"] = status
        if after:
            query["_id"] = {"$gt": after}
        cursor = self.collection.find(query).sort("_id", ASCENDING).limit(limit)
        return [to_person(d) async for d in cursor]


def _escape(text: str) -> str:
    return "".join("\\" + ch if ch in r".^$*+?()[]{}|\/" else ch for ch in text)
