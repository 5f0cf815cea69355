"""Outbox relay against real Kafka and a real MongoDB-wire server."""

from __future__ import annotations

import asyncio
import functools
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from binhyen.contracts import CloudEvent, parse_event
from binhyen.contracts.events.units import UnitRegistered
from binhyen.contracts.topics import REGISTRY_UNITS
from binhyen.contracts.units import UnitKind
from binhyen.kit.idempotency import apply_once
from binhyen.kit.kafka import start_producer
from binhyen.kit.operations import outbox_command
from binhyen.kit.outbox import (
    OUTBOX,
    PARKED,
    OutboxRelay,
    UnknownParkedEntry,
    list_parked,
    outbox_entry,
    push_outbox,
    retry_parked,
    with_outbox,
)
from binhyen.kit.settings import ServiceSettings
from binhyen.kit.testing import Servers, eventually, outbox_drained, read_topic
from binhyen.kit.topics import create_topics, entries_of

Document = dict[str, Any]


class RelayCrash(Exception):
    """Stands for the process dying between Kafka's ack and the removal."""


class CrashAfterAck(OutboxRelay):
    """A relay that dies after Kafka acknowledged, before removing the entries."""

    async def _finish(self, batch: Any) -> None:
        if batch.acked:
            raise RelayCrash


def _event(unit_id: str) -> CloudEvent:
    return CloudEvent.wrap(
        UnitRegistered(
            unit_id=unit_id,
            kind=UnitKind.PROVINCE,
            level=UnitKind.PROVINCE.level,
            name="Hà Tĩnh",
            valid_from=date(2020, 1, 1),
            version=1,
        )
    )


@pytest_asyncio.fixture
async def units(
    mongo: AsyncMongoClient[Document], database_name: str
) -> AsyncIterator[AsyncCollection[Document]]:
    yield mongo[database_name]["units"]
    await mongo.drop_database(database_name)


@pytest.fixture
def topic(topic_prefix: str) -> str:
    return topic_prefix + REGISTRY_UNITS.name


def _relay(
    cls: type[OutboxRelay], servers: Servers, units: AsyncCollection[Document]
) -> OutboxRelay:
    async def factory() -> AIOKafkaProducer:
        return await start_producer(servers.kafka, client_id="test-relay")

    return cls(collections=[units], producer_factory=factory, sweep_seconds=0.5, lease_seconds=1)


async def _all_drained(units: AsyncCollection[Document], events: list[CloudEvent]) -> None:
    for event in events:
        assert event.subject is not None
        await eventually(
            functools.partial(outbox_drained, units, event.subject), what="outbox drained"
        )


async def test_relay_publishes_pending_events_and_removes_them_after_ack(
    servers: Servers, units: AsyncCollection[Document], topic: str, topic_prefix: str
) -> None:
    await create_topics(servers.kafka, entries_of([REGISTRY_UNITS]), prefix=topic_prefix)
    events = [_event(f"u{i}") for i in range(3)]
    for event in events:
        await units.insert_one(with_outbox({"_id": event.subject}, [outbox_entry(event, topic)]))
    relay = _relay(OutboxRelay, servers, units)
    await relay.start()
    try:
        relay.wake()
        await _all_drained(units, events)
    finally:
        await relay.stop()
    records = await read_topic(servers.kafka, topic, until=lambda r: len(r) >= 3)
    assert sorted(parse_event(r.value).id for r in records) == sorted(e.id for e in events)
    assert {r.key for r in records} == {e.subject.encode() for e in events if e.subject}


async def test_entry_stays_in_the_document_when_the_relay_dies_before_removing_it(
    servers: Servers, units: AsyncCollection[Document], topic: str, topic_prefix: str
) -> None:
    """An entry stays in the document until a relay has had Kafka acknowledge it."""
    await create_topics(servers.kafka, entries_of([REGISTRY_UNITS]), prefix=topic_prefix)
    event = _event("kept")
    await units.insert_one(with_outbox({"_id": "kept"}, [outbox_entry(event, topic)]))
    relay = _relay(CrashAfterAck, servers, units)
    with pytest.raises(RelayCrash):
        await relay.relay_once()
    doc = await units.find_one({"_id": "kept"})
    assert doc is not None and [e["id"] for e in doc[OUTBOX]] == [event.id]


async def test_relay_crash_after_ack_resends_and_the_consumer_effect_happens_once(
    servers: Servers,
    units: AsyncCollection[Document],
    topic: str,
    topic_prefix: str,
    mongo: AsyncMongoClient[Document],
    database_name: str,
) -> None:
    await create_topics(servers.kafka, entries_of([REGISTRY_UNITS]), prefix=topic_prefix)
    event = _event("twice")
    await units.insert_one(with_outbox({"_id": "twice"}, [outbox_entry(event, topic)]))

    crashing = _relay(CrashAfterAck, servers, units)
    with pytest.raises(RelayCrash):
        await crashing.relay_once()
    await crashing.stop()
    survivor = _relay(OutboxRelay, servers, units)
    await survivor.start()
    try:
        survivor.wake()
        await eventually(lambda: outbox_drained(units, "twice"), what="resend after lease expiry")
    finally:
        await survivor.stop()

    records = await read_topic(servers.kafka, topic, until=lambda r: len(r) >= 2)
    assert [parse_event(r.value).id for r in records] == [event.id, event.id]

    effects = mongo[database_name]["effects"]
    for record in records:
        delivered = parse_event(record.value)
        await apply_once(
            effects, doc_id="counter", event_id=delivered.id, update={"$inc": {"n": 1}}
        )
    counter = await effects.find_one({"_id": "counter"})
    assert counter is not None and counter["n"] == 1


async def test_entries_handed_over_by_the_writer_are_sent_once_and_pulled_by_id(
    servers: Servers, units: AsyncCollection[Document], topic: str, topic_prefix: str
) -> None:
    await create_topics(servers.kafka, entries_of([REGISTRY_UNITS]), prefix=topic_prefix)

    async def factory() -> AIOKafkaProducer:
        return await start_producer(servers.kafka, client_id="test-relay")

    # No sweep within the test's deadlines: only the hand-over can drain the outboxes.
    relay = OutboxRelay(collections=[units], producer_factory=factory, sweep_seconds=600)
    events = [_event(f"h{i}") for i in range(5)]
    for event in events:
        entries = [outbox_entry(event, topic)]
        await units.insert_one(with_outbox({"_id": event.subject}, entries))
        relay.hand_over("units", event.subject, entries)
    # Started after the writes, so its start-up sweep cannot race the hand-over (which may
    # send twice: at least once is the contract, but this test counts exactly once).
    await relay.start()
    try:
        await _all_drained(units, events)
    finally:
        await relay.stop()
    records = await read_topic(servers.kafka, topic, until=lambda r: len(r) >= 5)
    assert sorted(parse_event(r.value).id for r in records) == sorted(e.id for e in events)


def _renamed(unit_id: str, version: int) -> CloudEvent:
    return CloudEvent.wrap(
        UnitRegistered(
            unit_id=unit_id,
            kind=UnitKind.PROVINCE,
            level=UnitKind.PROVINCE.level,
            name=f"Hà Tĩnh {version}",
            valid_from=date(2020, 1, 1),
            version=version,
        )
    )


def _quick_producer(bootstrap: str) -> Callable[[], Awaitable[AIOKafkaProducer]]:
    """Producers that give a send up after 2 s, so a frozen broker fails sends quickly."""

    async def factory() -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            enable_idempotence=True,
            acks="all",
            request_timeout_ms=2000,
            retry_backoff_ms=100,
        )
        await producer.start()
        return producer

    return factory


def _first_seen_by_key(records: list[Any]) -> dict[bytes, list[dict[str, Any]]]:
    """Each key's events in offset order, a repeated delivery of an event counted once."""
    seen: set[str] = set()
    by_key: dict[bytes, list[dict[str, Any]]] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        event = json.loads(record.value)
        if event["id"] not in seen:
            seen.add(event["id"])
            by_key.setdefault(record.key, []).append(event)
    return by_key


async def test_events_of_a_document_keep_write_order_through_a_failed_send_and_two_relays(
    servers: Servers, units: AsyncCollection[Document], topic_prefix: str
) -> None:
    # Each document is inserted with its first event while Kafka is frozen (the writer's
    # relay fails to send it), then updated four more times, every write waking both
    # relays, as two replicas would be. Read by offset, every key's events arrive in the
    # order they were written, numbered 1..5.
    topic = topic_prefix + REGISTRY_UNITS.name
    with servers.disposable("kafka") as kafka:
        await create_topics(kafka.address, entries_of([REGISTRY_UNITS]), prefix=topic_prefix)
        relays = [
            OutboxRelay(
                collections=[units],
                producer_factory=_quick_producer(kafka.address),
                sweep_seconds=0.3,
                lease_seconds=3,
            )
            for _ in range(2)
        ]
        for relay in relays:
            await relay.start()
        written: dict[str, list[str]] = {}
        try:
            kafka.pause()
            try:
                for n in range(6):
                    event = _renamed(f"u{n}", 1)
                    entries = [outbox_entry(event, topic)]
                    await units.insert_one(with_outbox({"_id": f"u{n}"}, entries))
                    relays[0].hand_over("units", f"u{n}", entries)
                    written[f"u{n}"] = [event.id]
                for version in (2, 3):
                    await _update_all(units, relays, topic, written, version)
            finally:
                kafka.resume()
            for version in (4, 5):
                await _update_all(units, relays, topic, written, version)
            for doc_id in written:
                await eventually(
                    functools.partial(outbox_drained, units, doc_id), what="outbox drained"
                )
        finally:
            for relay in relays:
                await relay.stop()
        records = await read_topic(kafka.address, topic, until=lambda r: len(r) >= 30)
    by_key = _first_seen_by_key(records)
    for doc_id, ids in written.items():
        events = by_key[doc_id.encode()]
        assert [e["id"] for e in events] == ids, doc_id
        assert [e["sequence"] for e in events] == [f"{n:020d}" for n in range(1, 6)]


async def _update_all(
    units: AsyncCollection[Document],
    relays: list[OutboxRelay],
    topic: str,
    written: dict[str, list[str]],
    version: int,
) -> None:
    for doc_id in written:
        event = _renamed(doc_id, version)
        await units.update_one(
            {"_id": doc_id}, push_outbox({"$set": {"v": version}}, [outbox_entry(event, topic)])
        )
        written[doc_id].append(event.id)
        for relay in relays:
            relay.wake("units", doc_id)


async def test_an_entry_kafka_refuses_is_parked_and_blocks_only_its_own_document(
    servers: Servers,
    units: AsyncCollection[Document],
    topic: str,
    topic_prefix: str,
    mongo: AsyncMongoClient[Document],
    database_name: str,
) -> None:
    await create_topics(servers.kafka, entries_of([REGISTRY_UNITS]), prefix=topic_prefix)
    limit = {"max_request_size": 4096}

    def producers(settings: dict[str, int]) -> Callable[[], Awaitable[AIOKafkaProducer]]:
        async def factory() -> AIOKafkaProducer:
            producer = AIOKafkaProducer(bootstrap_servers=servers.kafka, **settings)
            await producer.start()
            return producer

        return factory

    poison = _event("big").model_copy(update={"data": {"padding": "x" * 10_000}})
    behind = _renamed("big", 2)
    others = [_event(f"ok{i}") for i in range(3)]
    await units.insert_one(
        with_outbox({"_id": "big"}, [outbox_entry(poison, topic), outbox_entry(behind, topic)])
    )
    for event in others:
        await units.insert_one(with_outbox({"_id": event.subject}, [outbox_entry(event, topic)]))
    relay = OutboxRelay(collections=[units], producer_factory=producers(limit), sweep_seconds=0.3)
    await relay.start()
    try:
        await _all_drained(units, others)  # the other documents are not held up
        db = mongo[database_name]

        async def counted() -> bool:
            gauge = REGISTRY.get_sample_value(
                "binhyen_outbox_parked_entries", {"database": database_name}
            )
            return gauge == 1

        await eventually(counted, what="the parked entry counted in /metrics")
        parked = await list_parked(db)
        assert [(p["_id"], p["doc_id"], p["error"]) for p in parked] == [
            (poison.id, "big", "MessageSizeTooLargeError")
        ]
        doc = await units.find_one({"_id": "big"})
        assert doc is not None
        # Order wins: the event behind the parked one waits in the document.
        assert [e["id"] for e in doc[OUTBOX]] == [poison.id, behind.id]
        assert doc[PARKED] == poison.id
        with pytest.raises(UnknownParkedEntry):
            await retry_parked(db, "no-such-entry")
        # The operator command lists it (no event content) and refuses an unknown id.
        settings = ServiceSettings(
            mongodb_uri=servers.mongodb, mongodb_database=database_name, consumer_group="g"
        )
        listing = io.StringIO()
        assert await asyncio.to_thread(outbox_command, settings, ["list"], out=listing) == 0
        assert poison.id in listing.getvalue() and "x" * 100 not in listing.getvalue()
        assert listing.getvalue().endswith("1 parked\n")
        assert await asyncio.to_thread(outbox_command, settings, ["retry", "nope"]) == 2
    finally:
        await relay.stop()
    # The operator raises the limit and releases the entry: both events go, in order.
    relay = OutboxRelay(collections=[units], producer_factory=producers({}), sweep_seconds=0.3)
    await relay.start()
    try:
        await retry_parked(db, poison.id)
        await eventually(functools.partial(outbox_drained, units, "big"), what="released")
        assert await list_parked(db) == []
    finally:
        await relay.stop()
    records = await read_topic(servers.kafka, topic, until=lambda r: len(r) >= 5)
    assert [e["id"] for e in _first_seen_by_key(records)[b"big"]] == [poison.id, behind.id]
