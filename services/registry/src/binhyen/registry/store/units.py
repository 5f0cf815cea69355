"""MongoDB access for the registry (indexes declared here)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from binhyen.kit.outbox import with_outbox
from binhyen.registry.domain.units import Unit

Document = dict[str, Any]


class DuplicateValue(Exception):
    """A unique field already holds this value."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class UnitStore:
    """The ``units`` collection: one document per admin unit, with its outbox."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["units"]

    async def create_indexes(self) -> None:
        """Declare the indexes the registry relies on."""
        await self.collection.create_index(
            [("official_code", ASCENDING)], unique=True, sparse=True, name="official_code_unique"
        )
        await self.collection.create_index(
            [("idempotency_key", ASCENDING)], unique=True, sparse=True, name="idempotency_unique"
        )
        await self.collection.create_index([("parent_id", ASCENDING)], name="parent")

    async def get(self, unit_id: str) -> Unit | None:
        """The unit with this id, or None."""
        doc = await self.collection.find_one({"_id": unit_id})
        return _to_unit(doc) if doc else None

    async def by_idempotency_key(self, key: str) -> tuple[Unit, str] | None:
        """The unit an earlier request with this Idempotency-Key created, and its fingerprint."""
        doc = await self.collection.find_one({"idempotency_key": key})
        return (_to_unit(doc), doc.get("idempotency_fingerprint", "")) if doc else None

    async def insert(
        self,
        unit: Unit,
        *,
        search_name: str,
        outbox: list[Document],
        idempotency: tuple[str, str] | None,
    ) -> None:
        """Insert a new unit and its pending events in one atomic write."""
        doc: Document = {
            "_id": unit.id,
            "kind": unit.kind,
            "name": unit.name,
            "search_name": search_name,
            "parent_id": unit.parent_id,
            "ancestor_ids": list(unit.ancestor_ids),
            "valid_from": unit.valid_from.isoformat(),
            "version": unit.version,
            "created_at": datetime.now(UTC),
        }
        if unit.official_code is not None:
            doc["official_code"] = unit.official_code
        if idempotency is not None:
            doc["idempotency_key"], doc["idempotency_fingerprint"] = idempotency
        try:
            await self.collection.insert_one(with_outbox(doc, outbox))
        except DuplicateKeyError as exc:
            # FerretDB does not name the index in the error, so look which value clashed.
            raise DuplicateValue(await self._clashing_field(doc)) from exc

    async def _clashing_field(self, doc: Document) -> str:
        for field in ("idempotency_key", "official_code"):
            if field in doc and await self.collection.find_one({field: doc[field]}, {"_id": 1}):
                return field
        return "id"


def _to_unit(doc: Document) -> Unit:
    return Unit(
        id=doc["_id"],
        kind=doc["kind"],
        name=doc["name"],
        valid_from=date.fromisoformat(doc["valid_from"]),
        parent_id=doc.get("parent_id"),
        ancestor_ids=tuple(doc.get("ancestor_ids", ())),
        official_code=doc.get("official_code"),
        version=doc.get("version", 1),
    )
