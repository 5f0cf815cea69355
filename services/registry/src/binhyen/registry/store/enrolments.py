"""MongoDB access for enrolments (indexes declared here)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from binhyen.kit.outbox import OUTBOX
from binhyen.registry.domain.enrolments import Enrolment

Document = dict[str, Any]


def _document(enrolment: Enrolment) -> Document:
    return {
        "unit_id": enrolment.unit_id,
        "year": enrolment.year,
        "resolution_date": enrolment.resolution_date.isoformat(),
        "registered_on": enrolment.registered_on.isoformat(),
        "note": enrolment.note,
        "status": enrolment.status,
        "version": enrolment.version,
    }


def _enrolment(doc: Document) -> Enrolment:
    return Enrolment(
        id=doc["_id"],
        unit_id=doc["unit_id"],
        year=doc["year"],
        resolution_date=date.fromisoformat(doc["resolution_date"]),
        registered_on=date.fromisoformat(doc["registered_on"]),
        note=doc.get("note", ""),
        status=doc.get("status", "registered"),
        version=doc.get("version", 1),
    )


class EnrolmentStore:
    """The ``enrolments`` collection: one document per hamlet and year, with its outbox."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["enrolments"]

    async def create_indexes(self) -> None:
        """Declare the indexes this store relies on."""
        await self.collection.create_index(
            [("unit_id", ASCENDING), ("year", ASCENDING)], name="unit_year"
        )
        await self.collection.create_index([("year", ASCENDING)], name="year")

    async def get(self, enrolment_id: str) -> Enrolment | None:
        """The enrolment, or None."""
        doc = await self.collection.find_one({"_id": enrolment_id})
        return _enrolment(doc) if doc else None

    async def insert(self, enrolment: Enrolment, *, outbox: list[Document]) -> bool:
        """Insert a new enrolment and its events; False if that hamlet and year exist."""
        doc = {"_id": enrolment.id, **_document(enrolment), "created_at": datetime.now(UTC)}
        try:
            await self.collection.insert_one(doc | {OUTBOX: outbox})
        except DuplicateKeyError:
            return False
        return True

    async def save(
        self, enrolment: Enrolment, *, expected_version: int, outbox: list[Document]
    ) -> bool:
        """Write a changed enrolment unless someone changed it meanwhile."""
        result = await self.collection.update_one(
            {"_id": enrolment.id, "version": expected_version},
            {
                "$set": {**_document(enrolment), "updated_at": datetime.now(UTC)},
                "$push": {OUTBOX: {"$each": outbox}},
            },
        )
        return result.modified_count == 1

    async def search(
        self, *, unit_ids: set[str] | None, year: int | None, limit: int
    ) -> list[Enrolment]:
        """Enrolments in the given units (None: anywhere), newest year first."""
        query: Document = {}
        if unit_ids is not None:
            query["unit_id"] = {"$in": sorted(unit_ids)}
        if year is not None:
            query["year"] = year
        cursor = self.collection.find(query).sort([("year", -1), ("_id", 1)]).limit(limit)
        return [_enrolment(d) async for d in cursor]
