"""MongoDB access for admin units (indexes declared here)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from binhyen.kit.idempotency import FINGERPRINT
from binhyen.kit.outbox import OUTBOX, with_outbox
from binhyen.kit.text import fold
from binhyen.registry.domain.units import Unit, UnitVersion

Document = dict[str, Any]
CASCADE = "_cascade"


class DuplicateValue(Exception):
    """A unique field already holds this value."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class UnitStore:
    """The ``units`` collection: one document per admin unit, its history and its outbox."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["units"]

    async def create_indexes(self) -> None:
        """Declare the indexes the registry relies on."""
        await self.collection.create_index(
            [("official_code", ASCENDING)], unique=True, sparse=True, name="official_code_unique"
        )
        await self.collection.create_index([("parent_id", ASCENDING)], name="parent")
        await self.collection.create_index([("ancestor_ids", ASCENDING)], name="ancestors")
        await self.collection.create_index([("all_ancestor_ids", ASCENDING)], name="ever_under")
        await self.collection.create_index([("search_name", ASCENDING)], name="search_name")

    async def get(self, unit_id: str) -> Unit | None:
        """The unit with this id, or None."""
        doc = await self.collection.find_one({"_id": unit_id})
        return to_unit(doc) if doc else None

    async def get_many(self, unit_ids: Iterable[str]) -> dict[str, Unit]:
        """The units with these ids, by id."""
        ids = list(set(unit_ids))
        return {d["_id"]: to_unit(d) async for d in self.collection.find({"_id": {"$in": ids}})}

    async def path_of(self, unit_id: str) -> tuple[str, ...] | None:
        """The unit's ancestors and itself, or None if it does not exist."""
        doc = await self.collection.find_one({"_id": unit_id}, {"ancestor_ids": 1})
        return None if doc is None else (*doc.get("ancestor_ids", ()), unit_id)

    async def with_fingerprint(self, unit_id: str) -> tuple[Unit, str] | None:
        """The unit and the fingerprint of the request that created it (Idempotency-Key)."""
        doc = await self.collection.find_one({"_id": unit_id})
        return (to_unit(doc), doc.get(FINGERPRINT, "")) if doc else None

    async def insert(
        self, unit: Unit, *, outbox: list[Document], record: Document | None = None
    ) -> None:
        """Insert a new unit, its pending events and ``record`` in one atomic write."""
        doc: Document = {
            "_id": unit.id,
            **_state(unit),
            **(record or {}),
            "created_at": datetime.now(UTC),
        }
        if unit.official_code is not None:
            doc["official_code"] = unit.official_code
        try:
            await self.collection.insert_one(with_outbox(doc, outbox))
        except DuplicateKeyError as exc:
            # FerretDB does not name the index in the error, so look which value clashed.
            raise DuplicateValue(await self._clashing_field(doc)) from exc

    async def _clashing_field(self, doc: Document) -> str:
        for field in ("_id", "official_code"):
            if field in doc and await self.collection.find_one({field: doc[field]}, {"_id": 1}):
                return field
        return "_id"

    async def save(
        self,
        unit: Unit,
        *,
        expected_version: int,
        outbox: list[Document],
        cascade: Document | None = None,
    ) -> bool:
        """Write a changed unit and its events if nobody changed it since ``expected_version``."""
        update: Document = {
            "$set": {**_state(unit), "updated_at": datetime.now(UTC)},
            "$push": {OUTBOX: {"$each": outbox}},
        }
        if cascade is not None:
            update["$set"][CASCADE] = cascade
        result = await self.collection.update_one(
            {"_id": unit.id, "version": expected_version}, update
        )
        return result.modified_count == 1

    async def cascade(self, unit_id: str) -> Document | None:
        """The marker of a move or merge whose subtree may still need updating, if any."""
        doc = await self.collection.find_one({"_id": unit_id}, {CASCADE: 1})
        marker: Document | None = (doc or {}).get(CASCADE)
        return marker

    async def clear_cascade(self, unit_id: str, marker: Document) -> bool:
        """Mark the descendants of a moved or merged unit as updated.

        Only this marker: one a later move or merge set meanwhile stays for its own update.
        """
        result = await self.collection.update_one(
            {"_id": unit_id, CASCADE: marker}, {"$unset": {CASCADE: ""}}
        )
        return result.modified_count == 1

    async def pending_cascades(self) -> list[tuple[str, Document]]:
        """Units whose descendants may still need their ancestors updated."""
        return [
            (d["_id"], d[CASCADE])
            async for d in self.collection.find({CASCADE: {"$exists": True}}, {CASCADE: 1})
        ]

    async def children(self, unit_id: str, *, active_only: bool = True) -> list[Unit]:
        """Units whose current parent is ``unit_id``."""
        query: Document = {"parent_id": unit_id}
        if active_only:
            query["status"] = "active"
        return [to_unit(d) async for d in self.collection.find(query).sort("name", ASCENDING)]

    async def count_active_children(self, unit_id: str) -> int:
        """How many active units are directly under ``unit_id``."""
        return await self.collection.count_documents({"parent_id": unit_id, "status": "active"})

    async def descendants(self, unit_id: str) -> list[Unit]:
        """Every unit currently under ``unit_id``, at any depth."""
        return [to_unit(d) async for d in self.collection.find({"ancestor_ids": unit_id})]

    async def ever_under(self, unit_id: str) -> list[Unit]:
        """Every unit that was under ``unit_id`` at some time (for as-of queries)."""
        return [to_unit(d) async for d in self.collection.find({"all_ancestor_ids": unit_id})]

    async def subtree_ids(self, roots: Sequence[str]) -> set[str]:
        """Ids of ``roots`` and every unit currently under them."""
        found = set(roots)
        async for doc in self.collection.find({"ancestor_ids": {"$in": list(roots)}}, {"_id": 1}):
            found.add(doc["_id"])
        return found

    async def search(
        self,
        *,
        text: str | None,
        kind: str | None,
        parent_id: str | None,
        status: str | None,
        scopes: list[str] | None,
        after: str | None,
        limit: int,
    ) -> list[Unit]:
        """Units matching the filters inside ``scopes`` (None: everywhere), ordered by id."""
        query: Document = {}
        if text:
            query["search_name"] = {"$regex": _escape(fold(text))}
        if kind:
            query["kind"] = kind
        if parent_id:
            query["parent_id"] = parent_id
        if status:
            query["status"] = status
        if scopes is not None:
            query["$or"] = [{"_id": {"$in": scopes}}, {"ancestor_ids": {"$in": scopes}}]
        if after:
            query["_id"] = {"$gt": after}
        cursor = self.collection.find(query).sort("_id", ASCENDING).limit(limit)
        return [to_unit(d) async for d in cursor]


def _escape(text: str) -> str:
    return "".join("\\" + ch if ch in r".^$*+?()[]{}|\/" else ch for ch in text)


def _state(unit: Unit) -> Document:
    versions = [
        {
            "effective_from": v.effective_from.isoformat(),
            "change": v.change,
            "name": v.name,
            "parent_id": v.parent_id,
            "ancestor_ids": list(v.ancestor_ids),
            "status": v.status,
            "successor_id": v.successor_id,
        }
        for v in unit.versions
    ]
    return {
        "kind": unit.kind,
        "name": unit.name,
        "search_name": fold(unit.name),
        "parent_id": unit.parent_id,
        "ancestor_ids": list(unit.ancestor_ids),
        "all_ancestor_ids": sorted({a for v in unit.versions for a in v.ancestor_ids}),
        "status": unit.status,
        "successor_id": unit.successor_id,
        "valid_from": unit.valid_from.isoformat(),
        "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
        "version": unit.version,
        "versions": versions,
    }


def to_unit(doc: Document) -> Unit:
    """Rebuild the domain unit from its document."""
    versions = tuple(
        UnitVersion(
            effective_from=date.fromisoformat(v["effective_from"]),
            change=v["change"],
            name=v["name"],
            parent_id=v.get("parent_id"),
            ancestor_ids=tuple(v.get("ancestor_ids", ())),
            status=v.get("status", "active"),
            successor_id=v.get("successor_id"),
        )
        for v in doc["versions"]
    )
    return Unit(
        id=doc["_id"],
        kind=doc["kind"],
        versions=versions,
        official_code=doc.get("official_code"),
        version=doc.get("version", 1),
    )
