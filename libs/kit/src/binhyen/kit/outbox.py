"""Document-embedded transactional outbox and its relay to Kafka.

A change and the events it causes are written in ONE single-document write: the
state plus entries appended to the document's ``_outbox`` array. The relay sends
those entries to Kafka and removes each one only after Kafka acknowledged it, so
no accepted event is lost (at-least-once; consumers deduplicate on the event id).
This needs no multi-document transactions, so it works on a standalone MongoDB
and on FerretDB.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from binhyen.contracts import CloudEvent
from binhyen.kit.metrics import OUTBOX_PENDING_SECONDS, OUTBOX_RELAYED

log = logging.getLogger(__name__)

OUTBOX = "_outbox"
_OWNER = "_outbox_owner"
_UNTIL = "_outbox_until"

Document = dict[str, Any]
MAX_BULK = 50  # statements per bulk write
FEW = 8  # up to this many documents are claimed one by one, by _id
ProducerFactory = Callable[[], Awaitable[AIOKafkaProducer]]


def outbox_entry(event: CloudEvent, topic: str) -> Document:
    """An outbox entry for ``event`` to be published on ``topic``, keyed by its subject."""
    return {
        "id": event.id,
        "topic": topic,
        "key": event.subject,
        "value": event.to_json().decode(),
        "type": event.type,
        "created_at": datetime.now(UTC),
    }


def tombstone_entry(key: str, topic: str) -> Document:
    """An outbox entry that deletes ``key`` from a compacted topic (a null value)."""
    return {
        "id": f"tombstone-{uuid.uuid4()}",
        "topic": topic,
        "key": key,
        "value": None,
        "type": None,
        "created_at": datetime.now(UTC),
    }


def with_outbox(document: Document, entries: Sequence[Document]) -> Document:
    """Return a new document to insert, carrying its pending events."""
    return {**document, OUTBOX: list(entries)}


def push_outbox(update: Document, entries: Sequence[Document]) -> Document:
    """Add the pending events to an update document ($push onto the outbox array)."""
    merged = {op: dict(spec) for op, spec in update.items()}
    merged.setdefault("$push", {})[OUTBOX] = {"$each": list(entries)}
    return merged


class OutboxRelay:
    """Sends pending outbox entries of some collections to Kafka, then removes them."""

    def __init__(
        self,
        *,
        collections: Sequence[AsyncCollection[Document]],
        producer_factory: ProducerFactory,
        sweep_seconds: float = 5.0,
        lease_seconds: float = 30.0,
        batch_size: int = 200,
        scan_db: AsyncDatabase[Document] | None = None,
    ) -> None:
        self._collections = list(collections)
        # The sweep's look-up of pending documents may scan: on ``scan_db`` if given.
        self._scan_db = scan_db
        self._producer_factory = producer_factory
        self._producer: AIOKafkaProducer | None = None
        self._sweep = sweep_seconds
        self._lease = timedelta(seconds=lease_seconds)
        self._batch = batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stopped = asyncio.Event()
        self._by_name = {c.name: c for c in self._collections}
        self._hints: dict[str, set[Any]] = {}
        self._handed: dict[str, dict[Any, list[Document]]] = {}
        self._scan = True

    def wake(self, collection: str | None = None, *doc_ids: Any) -> None:
        """Ask the relay to send pending events now (call right after a write).

        Naming the collection and the documents written lets the relay go straight
        to them; without them it scans every collection, as the periodic sweep does.
        """
        if collection in self._by_name and doc_ids:
            self._hints.setdefault(collection, set()).update(doc_ids)
        else:
            self._scan = True
        self._wake.set()

    def hand_over(self, collection: str, doc_id: Any, entries: Sequence[Document]) -> None:
        """Send entries just written to a document, without reading the document back.

        The write is durable, so the relay may send what the writer holds in memory and
        then pull those entries from the document by ``_id`` alone: no claim, no read.
        (A sweep of another replica may send them too; consumers deduplicate on the id.)
        On FerretDB v1, which scans the collection for any filter but ``_id``, this keeps
        the relay's cost per write to one update. BSON keeps times to the millisecond
        both in the stored entry and in the pull, so the entries match.
        """
        if collection not in self._by_name:
            self.wake()
            return
        self._handed.setdefault(collection, {}).setdefault(doc_id, []).extend(entries)
        self._wake.set()

    async def start(self) -> None:
        """Run the relay loop in the background."""
        self._stopping = False
        self._stopped.clear()
        self._task = asyncio.create_task(self._loop(), name="outbox-relay")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish the current pass (cancel it after ``grace_seconds``), close the producer.

        Cancelling is safe: entries leave a document only after Kafka acknowledged them,
        and a claim left behind expires with its lease.
        """
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=grace_seconds)
            if not done:
                log.warning("outbox relay pass cancelled at shutdown")
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close_producer()

    async def _loop(self) -> None:
        backoff = 0.2
        next_sweep = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wake.clear()
            try:
                if self._handed:
                    more = await self._relay_handed()
                elif self._scan or loop.time() >= next_sweep:
                    self._scan = False
                    next_sweep = loop.time() + self._sweep
                    more = await self.relay_once()
                else:
                    more = await self._relay_hinted()
            except Exception as exc:  # entries stay in the outbox; try again after a backoff
                log.warning(
                    "outbox relay pass failed, retrying", extra={"error": type(exc).__name__}
                )
                await self._close_producer()
                await self._sleep(self._stopped, backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.2
            if not more:
                await self._sleep(self._wake, self._sweep)

    @staticmethod
    async def _sleep(event: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=seconds)

    async def relay_once(self) -> bool:
        """Relay one batch per collection; return True if more may be pending."""
        more = False
        for collection in self._collections:
            _sent, left = await self._relay_collection(collection)
            more = more or left
        return more

    async def _relay_hinted(self) -> bool:
        """Relay the documents named by recent writes; True if more may be pending."""
        hints, self._hints = self._hints, {}
        for name, ids in hints.items():
            pending = sorted(ids, key=str)
            for start in range(0, len(pending), self._batch):
                await self._relay_ids(self._by_name[name], pending[start : start + self._batch])
        return bool(self._hints)

    async def _relay_handed(self) -> bool:
        """Send entries handed over by writers, then pull what Kafka acked, by _id."""
        handed, self._handed = self._handed, {}
        try:
            for name, docs in handed.items():
                await self._send_and_pull(self._by_name[name], docs)
        except Exception:
            self._scan = True  # whatever was not acked is still in the documents
            raise
        return bool(self._handed)

    async def _send_and_pull(
        self, collection: AsyncCollection[Document], docs: dict[Any, list[Document]]
    ) -> None:
        producer = await self._get_producer()
        acked: dict[Any, list[Document]] = {}
        try:
            pending = [(doc_id, entry) for doc_id, entries in docs.items() for entry in entries]
            await _send(producer, pending, acked)
        finally:
            ops = [
                UpdateOne({"_id": doc_id}, {"$pullAll": {OUTBOX: entries}})
                for doc_id, entries in acked.items()
            ]
            for start in range(0, len(ops), MAX_BULK):
                await collection.bulk_write(ops[start : start + MAX_BULK], ordered=False)

    async def _relay_collection(self, collection: AsyncCollection[Document]) -> tuple[int, bool]:
        source = collection if self._scan_db is None else self._scan_db[collection.name]
        ids = [
            doc["_id"]
            async for doc in source.find(
                {f"{OUTBOX}.0": {"$exists": True}}, {"_id": 1}, limit=self._batch
            )
        ]
        if not ids:
            return 0, False
        return await self._relay_ids(collection, ids), len(ids) == self._batch

    async def _relay_ids(self, collection: AsyncCollection[Document], ids: list[Any]) -> int:
        """Claim these documents, send their pending events, remove what Kafka acked."""
        now = datetime.now(UTC)
        # Claim the documents with a lease so replicas do not send the same events at
        # once. Only top-level conditions: FerretDB v1 scans for anything but _id.
        token = uuid.uuid4().hex
        claimed: list[Document] = []
        free = {_UNTIL: {"$not": {"$gt": now}}}
        claim = {"$set": {_OWNER: token, _UNTIL: now + self._lease}}
        if len(ids) > FEW:
            # A batch: two queries in all (each may scan on FerretDB, once per batch).
            await collection.update_many({"_id": {"$in": ids}, **free}, claim)
            claimed = [d async for d in collection.find({"_id": {"$in": ids}, _OWNER: token})]
        else:
            # A few documents just written: by _id, the lookup no server has to scan for.
            for doc_id in ids:
                result = await collection.update_one({"_id": doc_id, **free}, claim)
                if result.modified_count:
                    doc = await collection.find_one({"_id": doc_id, _OWNER: token})
                    if doc is not None:
                        claimed.append(doc)
        if not claimed:
            return 0
        producer = await self._get_producer()
        acked: dict[Any, list[Document]] = {}
        try:
            pending = [(doc["_id"], entry) for doc in claimed for entry in doc.get(OUTBOX, [])]
            await _send(producer, pending, acked)
        finally:
            self._forget_handed(collection.name, acked)
            await self._remove_sent(collection, claimed, acked)
        return sum(len(entries) for entries in acked.values())

    def _forget_handed(self, name: str, acked: dict[Any, list[Document]]) -> None:
        """Entries a sweep just sent need not be sent again by the hand-over path."""
        pending = self._handed.get(name)
        if not pending:
            return
        for doc_id, entries in acked.items():
            sent = {entry["id"] for entry in entries}
            left = [e for e in pending.get(doc_id, []) if e["id"] not in sent]
            if left:
                pending[doc_id] = left
            else:
                pending.pop(doc_id, None)
        if not pending:
            self._handed.pop(name, None)

    async def _remove_sent(
        self,
        collection: AsyncCollection[Document],
        claimed: list[Document],
        acked: dict[Any, list[Document]],
    ) -> None:
        """Remove acknowledged entries and release the lease (the only removal point)."""
        ops = [
            UpdateOne(
                {"_id": doc["_id"]},
                {
                    "$pullAll": {OUTBOX: acked.get(doc["_id"], [])},
                    "$unset": {_OWNER: "", _UNTIL: ""},
                }
                if acked.get(doc["_id"])
                else {"$unset": {_OWNER: "", _UNTIL: ""}},
            )
            for doc in claimed
        ]
        # FerretDB v1 never answers an update command of 100 or more statements.
        for start in range(0, len(ops), MAX_BULK):
            await collection.bulk_write(ops[start : start + MAX_BULK], ordered=False)

    async def _get_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            self._producer = await self._producer_factory()
        return self._producer

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()


async def _send(
    producer: AIOKafkaProducer,
    pending: Sequence[tuple[Any, Document]],
    acked: dict[Any, list[Document]],
) -> None:
    """Send (document id, entry) pairs, then record in ``acked`` each one Kafka acknowledged.

    ``acked`` fills as acknowledgements come, so a caller's ``finally`` removes exactly
    what was acknowledged when a later send fails.
    """
    now = datetime.now(UTC)
    futures = []
    for doc_id, entry in pending:
        future = await producer.send(
            entry["topic"],
            value=None if entry["value"] is None else entry["value"].encode(),
            key=entry["key"].encode() if entry.get("key") else None,
            headers=[("content-type", b"application/cloudevents+json")],
        )
        futures.append((doc_id, entry, future))
    for doc_id, entry, future in futures:
        await future
        acked.setdefault(doc_id, []).append(entry)
        OUTBOX_RELAYED.labels(topic=entry["topic"]).inc()
        OUTBOX_PENDING_SECONDS.observe((now - _aware(entry["created_at"])).total_seconds())


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
