"""MongoDB access for organisations and teams (indexes declared here)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from binhyen.kit.idempotency import FINGERPRINT
from binhyen.kit.outbox import push_outbox, with_outbox
from binhyen.registry.domain.organisations import Member, Organisation, Shift

Document = dict[str, Any]
KEEP_REQUESTS = 200  # fingerprints of keyed member/shift requests remembered per document


class OrganisationStore:
    """The ``organisations`` collection: one document per organisation or team, with its outbox.

    Members and the duty roster live inside the document, so each change is one atomic
    write guarded by the version (FerretDB v1 ignores conditional ``$pull``, so arrays are
    rewritten whole).
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["organisations"]

    async def create_indexes(self) -> None:
        """Declare the indexes this store relies on."""
        await self.collection.create_index([("unit_id", ASCENDING)], name="unit")
        await self.collection.create_index([("unit_path", ASCENDING)], name="unit_path")

    async def get(self, organisation_id: str) -> Organisation | None:
        """The organisation with this id, or None."""
        doc = await self.collection.find_one({"_id": organisation_id}, {"_outbox": 0})
        return _to_organisation(doc) if doc else None

    async def with_fingerprint(self, organisation_id: str) -> tuple[Organisation, str] | None:
        """The organisation and the fingerprint of the request that registered it."""
        doc = await self.collection.find_one({"_id": organisation_id}, {"_outbox": 0})
        return (_to_organisation(doc), doc.get(FINGERPRINT, "")) if doc else None

    async def request(self, organisation_id: str, result_id: str) -> str | None:
        """The fingerprint of the keyed member/shift request that made ``result_id``, if kept."""
        doc = await self.collection.find_one({"_id": organisation_id}, {"requests": 1})
        for item in (doc or {}).get("requests", []):
            if item.get("result_id") == result_id:
                fingerprint: str = item["fingerprint"]
                return fingerprint
        return None

    async def insert(
        self,
        org: Organisation,
        *,
        search_name: str,
        outbox: list[Document],
        record: Document | None = None,
    ) -> bool:
        """Insert a new organisation, its events and ``record``; False if the id is taken."""
        now = datetime.now(UTC)
        doc: Document = {
            "_id": org.id,
            **_state(org),
            **(record or {}),
            "search_name": search_name,
            "created_at": now,
            "updated_at": now,
        }
        try:
            await self.collection.insert_one(with_outbox(doc, outbox))
        except DuplicateKeyError:
            return False
        return True

    async def replace(
        self,
        org: Organisation,
        *,
        expected_version: int,
        search_name: str,
        outbox: list[Document],
        request: tuple[str, str] | None = None,
    ) -> bool:
        """Write the new state and its events if the stored version is still the expected one."""
        update: Document = {
            "$set": {**_state(org), "search_name": search_name, "updated_at": datetime.now(UTC)}
        }
        update = push_outbox(update, outbox)
        if request is not None:  # (result id, fingerprint) of a keyed member/shift request
            result_id, fingerprint = request
            update["$push"]["requests"] = {
                "$each": [{"result_id": result_id, "fingerprint": fingerprint}],
                "$slice": -KEEP_REQUESTS,
            }
        result = await self.collection.update_one(
            {"_id": org.id, "version": expected_version}, update
        )
        return result.modified_count == 1

    async def find(
        self,
        *,
        scopes: list[str] | None,
        unit_id: str | None = None,
        kind: str | None = None,
        category_kinds: tuple[str, ...] | None = None,
        status: str | None = None,
        name: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Organisation], int]:
        """Organisations matching the filters inside the caller's scopes, and the total."""
        query: Document = {}
        if scopes is not None:
            query["unit_path"] = {"$in": scopes}
        if unit_id is not None:
            query["unit_id"] = unit_id
        if kind is not None:
            query["kind"] = kind
        elif category_kinds is not None:
            query["kind"] = {"$in": list(category_kinds)}
        if status is not None:
            query["status"] = status
        if name:
            query["search_name"] = {"$regex": re.escape(name)}
        total = await self.collection.count_documents(query)
        cursor = self.collection.find(
            query, {"_outbox": 0, "requests": 0}, sort=[("search_name", 1), ("_id", 1)]
        )
        docs = await cursor.skip(offset).limit(limit).to_list()
        return [_to_organisation(d) for d in docs], total

    async def ids_under(self, unit_id: str) -> list[str]:
        """Ids of the organisations whose unit path passes through ``unit_id``."""
        return [d["_id"] async for d in self.collection.find({"unit_path": unit_id}, {"_id": 1})]

    async def of_unit(self, unit_id: str) -> list[Organisation]:
        """Active organisations and teams of exactly this unit."""
        cursor = self.collection.find(
            {"unit_id": unit_id, "status": "active"}, {"_outbox": 0, "requests": 0}
        )
        return [_to_organisation(d) async for d in cursor]


def _state(org: Organisation) -> Document:
    return {
        "unit_id": org.unit_id,
        "unit_path": list(org.unit_path),
        "category": org.category,
        "kind": org.kind,
        "name": org.name,
        "status": org.status,
        "valid_from": org.valid_from.isoformat(),
        "valid_to": org.valid_to.isoformat() if org.valid_to else None,
        "members": [
            {
                "id": m.id,
                "person_id": m.person_id,
                "role": m.role,
                "valid_from": m.valid_from.isoformat(),
                "valid_to": m.valid_to.isoformat() if m.valid_to else None,
                "contact_order": m.contact_order,
            }
            for m in org.members
        ],
        "shifts": [
            {
                "id": s.id,
                "starts_at": s.starts_at,
                "ends_at": s.ends_at,
                "person_ids": list(s.person_ids),
                "note": s.note,
            }
            for s in org.shifts
        ],
        "version": org.version,
    }


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _to_organisation(doc: Document) -> Organisation:
    return Organisation(
        id=doc["_id"],
        unit_id=doc["unit_id"],
        unit_path=tuple(doc.get("unit_path", ())),
        kind=doc["kind"],
        name=doc["name"],
        valid_from=date.fromisoformat(doc["valid_from"]),
        status=doc.get("status", "active"),
        valid_to=_date(doc.get("valid_to")),
        members=tuple(
            Member(
                id=m["id"],
                person_id=m["person_id"],
                role=m["role"],
                valid_from=date.fromisoformat(m["valid_from"]),
                valid_to=_date(m.get("valid_to")),
                contact_order=m.get("contact_order"),
            )
            for m in doc.get("members", [])
        ),
        shifts=tuple(
            Shift(
                id=s["id"],
                starts_at=_aware(s["starts_at"]).astimezone(UTC),
                ends_at=_aware(s["ends_at"]).astimezone(UTC),
                person_ids=tuple(s.get("person_ids", ())),
                note=s.get("note"),
            )
            for s in doc.get("shifts", [])
        ),
        version=doc.get("version", 1),
    )
