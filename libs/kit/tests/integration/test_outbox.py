"""Outbox relay against real Kafka and a real MongoDB-wire server."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from binhyen.contracts import CloudEvent, parse_event
from binhyen.contracts.events.units import UnitRegistered
from binhyen.contracts.topics import REGISTRY_UNITS
from binhyen.contracts.units import UnitKind
from binhyen.kit.idempotency import apply_once
from binhyen.kit.kafka import ensure_topics, start_producer
from binhyen.kit.outbox import OUTBOX, OutboxRelay, outbox_entry, with_outbox
from binhyen.kit.testing import Servers, eventually, outbox_drained, read_topic

Document = dict[str, Any]


class RelayCrash(Exception):
    """Stands for the process dying between Kafka's ack and the removal."""


class CrashAfterAck(OutboxRelay):
    """A relay that dies after Kafka acknowledged, before removing the entries."""

    async def _remove_sent(self, collection: Any, claimed: Any, acked: Any) -> None:
        if acked:
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
    await ensure_topics(servers.kafka, [REGISTRY_UNITS], prefix=topic_prefix)
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
    await ensure_topics(servers.kafka, [REGISTRY_UNITS], prefix=topic_prefix)
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
    await ensure_topics(servers.kafka, [REGISTRY_UNITS], prefix=topic_prefix)
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
    await ensure_topics(servers.kafka, [REGISTRY_UNITS], prefix=topic_prefix)

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
