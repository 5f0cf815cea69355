"""Document-embedded transactional outbox and its relay to Kafka.

A change and the events it causes are written in ONE single-document write: the
state plus entries appended to the document's ``_outbox`` array. The relay sends
those entries to Kafka and removes each one only after Kafka acknowledged it, so
no accepted event is lost (at-least-once; consumers deduplicate on the event id or
on the sequence number). This needs no multi-document transactions, so it works on
a standalone MongoDB and on FerretDB.

**Order per document.** Whatever fails and however many replicas relay, the events of
one document reach Kafka in the order they were written:

- a relay always sends a document's entries from the head of its array, one after the
  other, each only once Kafka acknowledged the one before (so after a failed send
  nothing newer of that document is sent before it), and removes only the acknowledged
  prefix;
- a relay claims the document with a lease before reading it, so two replicas do not
  send one document's events at the same time (the writer of a new document sends its
  first entries from memory: nothing older exists);
- every entry gets the document's **sequence number** when sent: the number of entries
  relayed before it (``_outbox_sent``, advanced with each removal by a compare-and-set)
  plus its place in the array. Two relays that race (a lease outlived by a paused
  holder) therefore stamp an entry the same way, and a subscriber drops anything at or
  below the last sequence it applied. It travels as the CloudEvents extension attribute
  ``sequence`` (a zero-padded decimal string, lexicographically orderable, as the
  extension asks) and, for event types that declare a ``sequence`` field (the public
  ones), in the payload too.

**Poison entries.** An entry Kafka refuses for good (too large, an invalid topic, no
permission) is parked: recorded with its error in ``outbox_parked`` and the document
flagged, so later entries of *that* document wait behind it (order wins) while every
other document flows. ``python -m binhyen.<service> outbox list|retry`` lists parked
entries and releases one to be sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
)
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from binhyen.contracts import CloudEvent, event_model
from binhyen.kit.aio import wait_event
from binhyen.kit.metrics import (
    OUTBOX_PARKED,
    OUTBOX_PARKED_NOW,
    OUTBOX_PENDING_SECONDS,
    OUTBOX_RELAYED,
)
from binhyen.kit.mongo import MAX_BULK

log = logging.getLogger(__name__)

OUTBOX = "_outbox"
SENT = "_outbox_sent"  # entries of this document relayed so far: the sequence base
PARKED = "_outbox_parked"  # id of the head entry Kafka refused for good
_OWNER = "_outbox_owner"
_UNTIL = "_outbox_until"
PARKED_COLLECTION = "outbox_parked"
# The fields the relay keeps in a document, left out when comparing business state.
RELAY_FIELDS = (OUTBOX, SENT, PARKED, _OWNER, _UNTIL)
SEQUENCE_DIGITS = 20

Document = dict[str, Any]
ProducerFactory = Callable[[], Awaitable[AIOKafkaProducer]]

# Errors that sending again cannot cure: the entry is parked for an operator.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    InvalidTopicError,
    TopicAuthorizationFailedError,
    ValueError,  # an entry that cannot be encoded (corrupt stored value)
)


def outbox_entry(event: CloudEvent, topic: str) -> Document:
    """An outbox entry for ``event`` to be published on ``topic``, keyed by its subject."""
    model = event_model(event.type)  # (not event_types(): it copies the registry per call)
    return {
        "id": event.id,
        "topic": topic,
        "key": event.subject,
        "value": event.to_json().decode(),
        "type": event.type,
        "created_at": datetime.now(UTC),
        # Public payloads carry the sequence number too (their models declare it).
        "data_sequence": model is not None and "sequence" in model.model_fields,
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


def format_sequence(sequence: int) -> str:
    """The CloudEvents ``sequence`` attribute: zero-padded, so it orders as a string."""
    return str(sequence).zfill(SEQUENCE_DIGITS)


def stamped_value(entry: Document, sequence: int) -> bytes | None:
    """The entry's Kafka value with its sequence number (None for a tombstone)."""
    if entry["value"] is None:
        return None
    event = json.loads(entry["value"])
    event["sequence"] = format_sequence(sequence)
    if entry.get("data_sequence"):
        event["data"]["sequence"] = sequence
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class _Batch:
    """One document's entries to send, from the head of its outbox."""

    collection: AsyncCollection[Document]
    doc_id: Any
    base: int  # entries of this document relayed before the first one here
    entries: list[Document]
    claim: str | None = None  # the lease token to release, if claimed
    acked: int = 0
    error: BaseException | None = None


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
        send_timeout_seconds: float = 10.0,
    ) -> None:
        self._collections = list(collections)
        self._producer_factory = producer_factory
        self._producer: AIOKafkaProducer | None = None
        self._sweep = sweep_seconds
        self._lease = timedelta(seconds=lease_seconds)
        self._batch = batch_size
        # A broker that does not answer must not hold a pass (and the lease) forever: the
        # send is given up, the producer replaced, and the entry sent again later.
        self._send_timeout = send_timeout_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stopped = asyncio.Event()
        self._by_name = {c.name: c for c in self._collections}
        self._hints: dict[str, set[Any]] = {}
        self._handed: dict[str, dict[Any, list[Document]]] = {}
        self._scan = True

    @property
    def parked(self) -> AsyncCollection[Document] | None:
        """Where parked entries are recorded (the service's database)."""
        return self._collections[0].database[PARKED_COLLECTION] if self._collections else None

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
        """Send the entries of a document just *inserted*, without reading it back.

        They are the whole outbox of a new document, so nothing older can be pending:
        the relay sends them from memory and pulls them by ``_id``, one write in all.
        After an update, use :meth:`wake` instead: older entries may be waiting.
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
                # Every kind of work each round: a stream of new documents must not starve
                # the updates of others, nor the sweep that retries what failed.
                # (New documents first: a sweep would otherwise send them a second time.)
                more = False
                if self._handed:
                    more = await self._relay_handed()
                if self._hints:
                    more = await self._relay_hinted() or more
                if self._scan or loop.time() >= next_sweep:
                    self._scan = False
                    next_sweep = loop.time() + self._sweep
                    more = await self.relay_once() or more
            except Exception as exc:  # entries stay in the outbox; try again after a backoff
                log.warning(
                    "outbox relay pass failed, retrying", extra={"error": type(exc).__name__}
                )
                self._scan = True
                await self._close_producer()
                await self._sleep(self._stopped, backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.2
            if not more:
                await self._sleep(self._wake, self._sweep)

    @staticmethod
    async def _sleep(event: asyncio.Event, seconds: float) -> None:
        await wait_event(event, seconds)

    async def relay_once(self) -> bool:
        """Relay one batch of pending documents per collection; True if more may be pending."""
        more = False
        for collection in self._collections:
            ids = [
                doc["_id"]
                async for doc in collection.find(
                    {f"{OUTBOX}.0": {"$exists": True}, PARKED: {"$exists": False}},
                    {"_id": 1},
                    limit=self._batch,
                )
            ]
            if ids:
                await self._relay_ids(collection, ids)
            more = more or len(ids) == self._batch
        await self._count_parked()
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
        """Send the entries of new documents handed over by writers; pull what was acked."""
        handed, self._handed = self._handed, {}
        batches = [
            _Batch(self._by_name[name], doc_id, 0, entries)
            for name, docs in handed.items()
            for doc_id, entries in docs.items()
        ]
        await self._run(batches)
        return bool(self._handed)

    async def _relay_ids(self, collection: AsyncCollection[Document], ids: list[Any]) -> None:
        """Claim these documents, send their pending events in order, remove what was acked."""
        # New documents this relay holds in memory go out with the next hand-over: sending
        # them from here as well would put every such event on the topic twice.
        handed = self._handed.get(collection.name, {})
        ids = [doc_id for doc_id in ids if doc_id not in handed]
        if len(ids) == 1:
            batch = await self._claim(collection, ids[0])
            await self._run([batch] if batch else [])
        elif ids:
            await self._run(await self._claim_many(collection, ids))

    async def _claim_many(
        self, collection: AsyncCollection[Document], ids: list[Any]
    ) -> list[_Batch]:
        """Take the leases of these documents in one write, then read their outboxes.

        Two commands for the batch instead of a find-and-modify per document: the embedded
        server serialises read-modify-writes per collection, and a busy collection (one
        event per delivery) spent most of its time on the relay's claims. The outbox and its
        base are read once the lease is held, so no other relay changes them meanwhile
        (writers only append, and the next pass takes what they add).
        """
        now = datetime.now(UTC)
        token = uuid.uuid4().hex
        claimed = await collection.update_many(
            {
                "_id": {"$in": ids},
                f"{OUTBOX}.0": {"$exists": True},
                PARKED: {"$exists": False},
                _UNTIL: {"$not": {"$gt": now}},
            },
            {"$set": {_OWNER: token, _UNTIL: now + self._lease}},
        )
        if not claimed.modified_count:
            return []
        found = collection.find({"_id": {"$in": ids}, _OWNER: token}, {OUTBOX: 1, SENT: 1})
        docs = {doc["_id"]: doc async for doc in found}
        return [
            _Batch(collection, i, int(docs[i].get(SENT) or 0), list(docs[i][OUTBOX]), token)
            for i in ids
            if i in docs and docs[i].get(OUTBOX)
        ]

    async def _claim(self, collection: AsyncCollection[Document], doc_id: Any) -> _Batch | None:
        """Take the document's lease and read its outbox in the same atomic write."""
        now = datetime.now(UTC)
        token = uuid.uuid4().hex
        doc = await collection.find_one_and_update(
            {
                "_id": doc_id,
                f"{OUTBOX}.0": {"$exists": True},
                PARKED: {"$exists": False},
                _UNTIL: {"$not": {"$gt": now}},
            },
            {"$set": {_OWNER: token, _UNTIL: now + self._lease}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        return _Batch(collection, doc_id, int(doc.get(SENT) or 0), list(doc[OUTBOX]), token)

    async def _run(self, batches: list[_Batch]) -> None:
        """Send every batch (documents concurrently, each in order), then finish each."""
        if not batches:
            return
        try:
            producer = await self._get_producer()
            await asyncio.gather(*(self._send(producer, b) for b in batches))
        finally:
            # New documents whose entries all went out are cleared together (one write for
            # many); every other batch on its own.
            whole = [b for b in batches if b.claim is None and b.base == 0 and _all_sent(b)]
            leased = [b for b in batches if b.claim is not None and _all_sent(b)]
            done = {id(b) for b in whole + leased}
            await asyncio.gather(
                self._finish_new(whole),
                self._finish_leased(leased),
                *(self._finish(b) for b in batches if id(b) not in done),
            )
        failed = [b.error for b in batches if b.error is not None and not _permanent(b.error)]
        if failed:
            raise failed[0]  # the loop backs off and rescans; the others went through

    async def _send(self, producer: AIOKafkaProducer, batch: _Batch) -> None:
        """Send one document's entries one after the other, stopping at the first failure."""
        now = datetime.now(UTC)
        for index, entry in enumerate(batch.entries):
            try:
                async with asyncio.timeout(self._send_timeout):
                    future = await producer.send(
                        entry["topic"],
                        value=stamped_value(entry, batch.base + index + 1),
                        key=entry["key"].encode() if entry.get("key") else None,
                        headers=[("content-type", b"application/cloudevents+json")],
                    )
                    await future
            except Exception as exc:
                batch.error = exc
                return
            batch.acked = index + 1
            OUTBOX_RELAYED.labels(topic=entry["topic"]).inc()
            OUTBOX_PENDING_SECONDS.observe((now - _aware(entry["created_at"])).total_seconds())

    async def _finish(self, batch: _Batch) -> None:
        """Remove the acknowledged prefix, release the lease, park a refused head entry."""
        update: Document = {}
        if batch.acked:
            update["$pullAll"] = {OUTBOX: batch.entries[: batch.acked]}
            update["$set"] = {SENT: batch.base + batch.acked}
        if batch.claim is not None:
            update["$unset"] = {_OWNER: "", _UNTIL: ""}
        refused = batch.error is not None and _permanent(batch.error)
        if refused:
            entry = batch.entries[batch.acked]
            await self._park(batch, entry)
            update.setdefault("$set", {})[PARKED] = entry["id"]
        if not update:
            return
        # Compare-and-set on the sequence base: only one relay removes a given prefix,
        # so the base never counts an entry twice.
        base: Document = {SENT: batch.base} if batch.base else {SENT: {"$exists": False}}
        result = await batch.collection.update_one({"_id": batch.doc_id, **base}, update)
        if not result.matched_count and batch.claim is not None:
            # Another relay removed these entries meanwhile: only give the lease back.
            await batch.collection.update_one(
                {"_id": batch.doc_id, _OWNER: batch.claim}, {"$unset": {_OWNER: "", _UNTIL: ""}}
            )

    async def _finish_leased(self, batches: list[_Batch]) -> None:
        """Remove the entries of claimed documents that all went out, many per write.

        :meth:`_finish` for a group of documents with the same sequence base and count: the
        same compare-and-set on the base, the lease given back; entries are pulled by value
        (their ids are unique, so pulling another document's entries changes nothing).
        """
        groups: dict[tuple[str, int, int, str | None], list[_Batch]] = {}
        for batch in batches:
            key = (batch.collection.name, batch.base, batch.acked, batch.claim)
            groups.setdefault(key, []).append(batch)
        for (_, base, acked, claim), group in groups.items():
            if len(group) == 1:
                await self._finish(group[0])
                continue
            guard: Document = {SENT: base} if base else {SENT: {"$exists": False}}
            for start in range(0, len(group), MAX_BULK):
                chunk = group[start : start + MAX_BULK]
                collection, ids = chunk[0].collection, [b.doc_id for b in chunk]
                result = await collection.update_many(
                    {"_id": {"$in": ids}, **guard},
                    {
                        "$pullAll": {OUTBOX: [e for b in chunk for e in b.entries]},
                        "$set": {SENT: base + acked},
                        "$unset": {_OWNER: "", _UNTIL: ""},
                    },
                )
                if result.matched_count < len(chunk):
                    # Another relay removed some of these meanwhile: give their leases back.
                    await collection.update_many(
                        {"_id": {"$in": ids}, _OWNER: claim}, {"$unset": {_OWNER: "", _UNTIL: ""}}
                    )

    async def _finish_new(self, batches: list[_Batch]) -> None:
        """Remove the relayed entries of new documents, many documents per write.

        Each report the intake takes is a new document whose events the writer's relay sent
        from memory; removing them one document at a time doubled the writes per report.
        The same guard as :meth:`_finish` holds per document: only where nothing was
        relayed before (``_outbox_sent`` absent), so a document another relay already
        cleared is left alone. (``$pullAll`` by value: FerretDB v1 ignores ``$pull`` with
        an operator condition.)
        """
        groups: dict[tuple[str, int], list[_Batch]] = {}
        for batch in batches:
            groups.setdefault((batch.collection.name, batch.acked), []).append(batch)
        for (_, sent), group in groups.items():
            for start in range(0, len(group), MAX_BULK):
                chunk = group[start : start + MAX_BULK]
                await chunk[0].collection.update_many(
                    {"_id": {"$in": [b.doc_id for b in chunk]}, SENT: {"$exists": False}},
                    {
                        "$pullAll": {OUTBOX: [e for b in chunk for e in b.entries]},
                        "$set": {SENT: sent},
                    },
                )

    async def _park(self, batch: _Batch, entry: Document) -> None:
        """Record an entry Kafka refused for good, with its error, for an operator."""
        assert batch.error is not None
        record = {
            "_id": entry["id"],
            "collection": batch.collection.name,
            "doc_id": batch.doc_id,
            "topic": entry["topic"],
            "key": entry.get("key"),
            "type": entry.get("type"),
            "size": len(entry["value"] or ""),
            "error": type(batch.error).__name__,
            "detail": str(batch.error)[:500],
            "parked_at": datetime.now(UTC),
        }
        parked = batch.collection.database[PARKED_COLLECTION]
        with contextlib.suppress(DuplicateKeyError):  # parked again after a failed retry
            await parked.insert_one(record)
        OUTBOX_PARKED.labels(topic=entry["topic"]).inc()
        log.error(
            "outbox entry refused by Kafka for good: parked; later events of its document wait",
            extra={"event_id": entry["id"], "error": type(batch.error).__name__},
        )

    async def _count_parked(self) -> None:
        parked = self.parked
        if parked is not None:
            count = await parked.count_documents({})
            OUTBOX_PARKED_NOW.labels(database=parked.database.name).set(count)

    async def _get_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            self._producer = await self._producer_factory()
        return self._producer

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            # stop() flushes what is queued: bounded, as the broker may be away.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), timeout=5)


def _all_sent(batch: _Batch) -> bool:
    return batch.error is None and 0 < batch.acked == len(batch.entries)


def _permanent(error: BaseException) -> bool:
    return isinstance(error, PERMANENT_ERRORS)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class UnknownParkedEntry(LookupError):
    """No parked outbox entry has this id."""


async def list_parked(db: AsyncDatabase[Document]) -> list[Document]:
    """Every parked entry of this database, oldest first (no event content)."""
    return [doc async for doc in db[PARKED_COLLECTION].find({}, sort=[("parked_at", 1)])]


async def retry_parked(db: AsyncDatabase[Document], entry_id: str) -> Document:
    """Release a parked entry: its document's outbox is relayed again from that entry.

    The relay's next sweep sends it (and what waited behind it); if Kafka refuses it
    again it is parked again.
    """
    record = await db[PARKED_COLLECTION].find_one({"_id": entry_id})
    if record is None:
        raise UnknownParkedEntry(
            f"no parked outbox entry {entry_id!r}: `outbox list` shows the parked ones"
        )
    await db[record["collection"]].update_one(
        {"_id": record["doc_id"], PARKED: entry_id}, {"$unset": {PARKED: ""}}
    )
    await db[PARKED_COLLECTION].delete_one({"_id": entry_id})
    return record
