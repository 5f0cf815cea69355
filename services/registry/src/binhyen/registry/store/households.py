"""MongoDB access for households (indexes declared here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from binhyen.kit.idempotency import FINGERPRINT
from binhyen.kit.outbox import OUTBOX
from binhyen.kit.text import fold
from binhyen.registry.domain.households import Household, Pledge

Document = dict[str, Any]
PENDING = "_pending"  # the rest of a write that spans documents (residents to insert, …)


def household_document(household: Household) -> Document:
    """The stored form of a household."""
    return {
        "_id": household.id,
        "unit_id": household.unit_id,
        "address": household.address,
        "search_address": fold(household.address),
        "head_person_id": household.head_person_id,
        "registration_code": household.registration_code,
        "status": household.status,
        "pledges": [
            {
                "year": p.year,
                "signed_on": p.signed_on.isoformat(),
                "collected_by": p.collected_by,
                "commitments": list(p.commitments),
            }
            for p in household.pledges
        ],
        "pledge_years": [p.year for p in household.pledges],
        "registered_on": _day(household.registered_on),
        "dissolved_on": _day(household.dissolved_on),
        "version": household.version,
    }


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def to_household(doc: Document) -> Household:
    """Rebuild a household from its document."""
    return Household(
        id=doc["_id"],
        unit_id=doc["unit_id"],
        address=doc["address"],
        head_person_id=doc.get("head_person_id"),
        registration_code=doc.get("registration_code"),
        status=doc.get("status", "active"),
        pledges=tuple(
            Pledge(
                p["year"],
                date.fromisoformat(p["signed_on"]),
                p["collected_by"],
                tuple(p["commitments"]),
            )
            for p in doc.get("pledges", ())
        ),
        version=doc.get("version", 1),
        registered_on=_parse_day(doc.get("registered_on")),
        dissolved_on=_parse_day(doc.get("dissolved_on")),
    )


class HouseholdStore:
    """The ``households`` collection: one document per household, with its outbox."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["households"]

    async def create_indexes(self) -> None:
        """Declare the indexes this store relies on."""
        await self.collection.create_index([("unit_id", ASCENDING)], name="unit")
        await self.collection.create_index([("search_address", ASCENDING)], name="address")

    async def get(self, household_id: str) -> Household | None:
        """The household, or None."""
        doc = await self.collection.find_one({"_id": household_id})
        return to_household(doc) if doc else None

    async def get_many(self, ids: Sequence[str]) -> dict[str, Household]:
        """Households by id."""
        cursor = self.collection.find({"_id": {"$in": list(ids)}})
        return {d["_id"]: to_household(d) async for d in cursor}

    async def with_fingerprint(self, household_id: str) -> tuple[Household, str] | None:
        """The household and the fingerprint of the request that created it."""
        doc = await self.collection.find_one({"_id": household_id})
        return (to_household(doc), doc.get(FINGERPRINT, "")) if doc else None

    async def insert(
        self,
        household: Household,
        *,
        outbox: list[Document],
        pending: Document | None = None,
        record: Document | None = None,
    ) -> bool:
        """Insert a household, its events, ``record`` and what remains; False if the id is taken."""
        doc = household_document(household) | {"created_at": datetime.now(UTC), OUTBOX: outbox}
        doc |= record or {}
        if pending:
            doc[PENDING] = pending
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def insert_many(self, docs: Sequence[Document]) -> None:
        """Insert prepared household documents in bulk (bulk import)."""
        if docs:
            await self.collection.insert_many(list(docs), ordered=False)

    async def save(
        self,
        household: Household,
        *,
        expected_version: int,
        outbox: list[Document],
        pending: Document | None = None,
    ) -> bool:
        """Write a changed household and its events unless someone changed it meanwhile."""
        state = household_document(household)
        del state["_id"]
        update: Document = {
            "$set": {**state, "updated_at": datetime.now(UTC)},
            "$push": {OUTBOX: {"$each": outbox}},
        }
        if pending:
            update["$set"][PENDING] = pending
        result = await self.collection.update_one(
            {"_id": household.id, "version": expected_version}, update
        )
        return result.modified_count == 1

    async def pending(self, household_id: str | None = None) -> list[tuple[str, Document]]:
        """Households whose multi-document writes may be unfinished."""
        query: Document = {PENDING: {"$exists": True}}
        if household_id:
            query["_id"] = household_id
        return [(d["_id"], d[PENDING]) async for d in self.collection.find(query, {PENDING: 1})]

    async def clear_pending(self, household_id: str, pending: Document) -> bool:
        """The multi-document write ``pending`` of this household is complete.

        Only that one: what a later change of the household left meanwhile stays.
        """
        result = await self.collection.update_one(
            {"_id": household_id, PENDING: pending}, {"$unset": {PENDING: ""}}
        )
        return result.modified_count == 1

    async def search(
        self,
        *,
        unit_ids: set[str] | None,
        text: str | None,
        status: str | None,
        pledged_in: int | None,
        after: str | None,
        limit: int,
    ) -> list[Household]:
        """Households matching the filters, in the given units (None: anywhere)."""
        query: Document = {}
        if unit_ids is not None:
            query["unit_id"] = {"$in": sorted(unit_ids)}
        if text:
            query["search_address"] = {
                "$regex": "".join(
                    "\\" + ch if ch in r".^$*+?()[]{}|\/" else ch for ch in fold(text)
                )
            }
        if status:
            query["status"] = status
        if pledged_in is not None:
            query["pledge_years"] = pledged_in
        if after:
            query["_id"] = {"$gt": after}
        cursor = self.collection.find(query).sort("_id", ASCENDING).limit(limit)
        return [to_household(d) async for d in cursor]
