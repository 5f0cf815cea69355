"""``alerts``, ``alert_recipients`` and ``deliveries``.

- An alert document holds its state, the policy version it follows (embedded: editing the
  policy never reaches it), its escalation and its outbox.
- ``alert_recipients``: one document per (alert, recipient): household, whether a responder,
  the SMS reply code, when first delivered and when acknowledged. Reach is counted here.
- ``deliveries``: one document per (alert, wave, recipient, channel), its id derived from
  those, so writing a wave twice (a crash, a redelivered event) inserts nothing new. The
  dispatcher claims a delivery with a compare-and-set before it sends, and records the
  outcome with its outbox event in one write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from binhyen.kit.outbox import OUTBOX, push_outbox, with_outbox

Document = dict[str, Any]


class AlertStore:
    """Alerts."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["alerts"]

    async def create_indexes(self) -> None:
        """Alerts are found by incident, by hamlet and by due escalation."""
        await self.collection.create_index("incident_id")
        await self.collection.create_index("scope")
        await self.collection.create_index("status")

    async def insert(self, doc: Document, entries: list[Document]) -> bool:
        """Insert a new alert with its first events; False if it exists (same trigger)."""
        try:
            await self.collection.insert_one(with_outbox(doc, entries))
        except DuplicateKeyError:
            return False
        return True

    async def get(self, alert_id: str) -> Document | None:
        """An alert, or None."""
        return await self.collection.find_one({"_id": alert_id}, {OUTBOX: 0})

    async def change(
        self, alert_id: str, version: int, fields: Document, entries: list[Document]
    ) -> bool:
        """Set ``fields`` (version + 1) if the alert is still at ``version``."""
        update = push_outbox({"$set": {**fields, "version": version + 1}}, entries)
        result = await self.collection.update_one({"_id": alert_id, "version": version}, update)
        return result.modified_count == 1

    async def of_incident(self, incident_id: str) -> list[Document]:
        """The alerts raised for an incident."""
        found = self.collection.find({"incident_id": incident_id}, {OUTBOX: 0})
        return [doc async for doc in found]

    async def open_ones(self) -> list[Document]:
        """Alerts not closed (the escalation sweep looks at these)."""
        found = self.collection.find({"status": {"$in": ["active", "acknowledged"]}}, {OUTBOX: 0})
        return [doc async for doc in found]

    async def listing(
        self, *, unit_id: str, limit: int, before: datetime | None = None
    ) -> list[Document]:
        """Alerts of the hamlets under a unit (its id is in their ``scope``), newest first."""
        query: Document = {"scope": unit_id}
        if before is not None:
            query["sent_at"] = {"$lt": before}
        found = self.collection.find(query, {OUTBOX: 0}).sort("sent_at", -1).limit(limit)
        return [doc async for doc in found]


@dataclass(frozen=True)
class Reach:
    """Counts over an alert's recipients."""

    recipients: int
    households: int
    delivered: int
    acknowledged: int
    first_ack_at: datetime | None


class RecipientStore:
    """Who an alert reached, one document per (alert, recipient)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["alert_recipients"]

    async def create_indexes(self) -> None:
        """Reach counts read an alert's recipients; SMS replies find one by its code."""
        await self.collection.create_index("alert_id")
        await self.collection.create_index("code")

    async def add(self, docs: list[Document]) -> None:
        """Insert recipients not yet there (a wave repeated inserts nothing new)."""
        if not docs:
            return
        try:
            await self.collection.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise

    async def links(self, ids: list[str]) -> dict[str, tuple[str, str]]:
        """The link token and reply code already given to these recipients (by document id)."""
        found = self.collection.find({"_id": {"$in": ids}}, {"link": 1, "code": 1})
        return {doc["_id"]: (doc["link"], doc["code"]) async for doc in found}

    async def of_alert(self, alert_id: str) -> list[Document]:
        """Every recipient of an alert."""
        return [doc async for doc in self.collection.find({"alert_id": alert_id})]

    async def get(self, alert_id: str, rkey: str) -> Document | None:
        """One recipient of an alert."""
        return await self.collection.find_one({"_id": f"{alert_id}:{rkey}"})

    async def delivered(self, alert_id: str, rkey: str, at: datetime) -> None:
        """Note the first delivery to a recipient."""
        await self.collection.update_one(
            {"_id": f"{alert_id}:{rkey}", "delivered_at": None}, {"$set": {"delivered_at": at}}
        )

    async def delivered_many(self, ids: list[str], at: datetime) -> None:
        """:meth:`delivered` for many recipients (by ``alert_id:rkey``) in one write."""
        await self.collection.update_many(
            {"_id": {"$in": ids}, "delivered_at": None}, {"$set": {"delivered_at": at}}
        )

    async def acknowledge(self, alert_id: str, rkey: str, kind: str, at: datetime) -> bool:
        """Record an acknowledgement once; False if it was already acknowledged."""
        result = await self.collection.update_one(
            {"_id": f"{alert_id}:{rkey}", "acked_at": None},
            {"$set": {"acked_at": at, "ack_kind": kind}},
        )
        return result.modified_count == 1

    async def reach(self, alert_id: str) -> Reach:
        """Recipients, households, delivered and acknowledged, and the first ack.

        One indexed read of three small fields per recipient (FerretDB 1.x counts without its
        indexes, so four server-side counts cost more than this).
        """
        households: set[str] = set()
        recipients = delivered = acked = 0
        first: datetime | None = None
        found = self.collection.find(
            {"alert_id": alert_id}, {"_id": 0, "household_id": 1, "delivered_at": 1, "acked_at": 1}
        )
        async for doc in found:
            recipients += 1
            if doc.get("household_id"):
                households.add(doc["household_id"])
            at = doc.get("acked_at")
            if at is not None:
                acked += 1
                first = at if first is None or at < first else first
            if at is not None or doc.get("delivered_at") is not None:
                delivered += 1
        return Reach(recipients, len(households), delivered, acked, first)


class DeliveryStore:
    """Deliveries: one per (alert, wave, recipient, channel)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["deliveries"]

    async def create_indexes(self) -> None:
        """The dispatcher finds queued and sent ones; reach and reports read by alert."""
        await self.collection.create_index("status")
        await self.collection.create_index("alert_id")

    async def add(self, docs: list[Document]) -> list[str]:
        """Insert deliveries not yet there; the ids inserted now."""
        if not docs:
            return []
        try:
            await self.collection.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            dup = {docs[e["index"]]["_id"] for e in errors}
            return [d["_id"] for d in docs if d["_id"] not in dup]
        return [d["_id"] for d in docs]

    async def get(self, delivery_id: str) -> Document | None:
        """A delivery, or None."""
        return await self.collection.find_one({"_id": delivery_id}, {OUTBOX: 0})

    async def claim_many(
        self, ids: list[str], *, owner: str, now: datetime, seconds: float
    ) -> dict[str, Document]:
        """Take the queued, due, unclaimed (or abandoned) ones of these deliveries, counting an
        attempt on each, in one write (and one read): those taken, by id."""
        token = uuid.uuid4().hex  # tells this batch's claims from earlier ones of the owner
        taken = await self.collection.update_many(
            {
                "_id": {"$in": ids},
                "status": "queued",
                "due_at": {"$lte": now},
                "$or": [{"claimed_until": None}, {"claimed_until": {"$lte": now}}],
            },
            {
                "$set": {
                    "claimed_until": now + timedelta(seconds=seconds),
                    "claimed_by": owner,
                    "claim_token": token,
                },
                "$inc": {"attempts": 1},
            },
        )
        if not taken.modified_count:
            return {}
        found = self.collection.find({"_id": {"$in": ids}, "claim_token": token}, {OUTBOX: 0})
        return {doc["_id"]: doc async for doc in found}

    async def due(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """(id, target key) of queued deliveries that are due and not held by a live claim."""
        found = self.collection.find(
            {
                "status": "queued",
                "due_at": {"$lte": now},
                "$or": [{"claimed_until": None}, {"claimed_until": {"$lte": now}}],
            },
            {"_id": 1, "target_key": 1},
        ).limit(limit)
        return [(doc["_id"], doc.get("target_key", "")) async for doc in found]

    async def overdue_sent(self, now: datetime, limit: int) -> list[Document]:
        """Sent deliveries whose channel did not report delivery by its deadline."""
        found = self.collection.find(
            {"status": "sent", "deliver_by": {"$lte": now}, "fell_back": {"$ne": True}},
            {OUTBOX: 0},
        ).limit(limit)
        return [doc async for doc in found]

    async def finish(
        self,
        delivery_id: str,
        *,
        version: int,
        fields: Document,
        entries: list[Document],
        owner: str | None = None,
    ) -> bool:
        """Record an outcome (version + 1) if nobody changed the delivery meanwhile."""
        query: Document = {"_id": delivery_id, "version": version}
        if owner is not None:
            query["claimed_by"] = owner
        update = push_outbox({"$set": {**fields, "version": version + 1}}, entries)
        result = await self.collection.update_one(query, update)
        return result.modified_count == 1

    async def of_alert(self, alert_id: str, *, status: list[str] | None = None) -> list[Document]:
        """The deliveries of an alert (optionally only in these states)."""
        query: Document = {"alert_id": alert_id}
        if status:
            query["status"] = {"$in": status}
        return [doc async for doc in self.collection.find(query, {OUTBOX: 0})]

    async def of_recipient(self, alert_id: str, rkey: str) -> list[Document]:
        """One recipient's deliveries of an alert (every wave and channel)."""
        found = self.collection.find({"alert_id": alert_id, "rkey": rkey}, {OUTBOX: 0})
        return [doc async for doc in found]

    async def by_provider_id(self, channel: str, provider_id: str) -> Document | None:
        """The delivery a provider's report is about."""
        return await self.collection.find_one(
            {"provider_id": provider_id, "channel": channel}, {OUTBOX: 0}
        )
