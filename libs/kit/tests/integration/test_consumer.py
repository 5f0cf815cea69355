"""Consumer runner against real Kafka: DLQ, bounded retries, commit after effect."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import TypeAlias

import pytest
from aiokafka.structs import ConsumerRecord
from prometheus_client import REGISTRY
from pymongo.errors import ConnectionFailure

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.units import UnitRegistered
from binhyen.contracts.spec import dead_letter_topic
from binhyen.contracts.topics import REGISTRY_UNITS
from binhyen.contracts.units import UnitKind
from binhyen.kit.consumer import ConsumerRunner, EventDispatcher
from binhyen.kit.kafka import start_producer
from binhyen.kit.testing import Servers, eventually, read_topic
from binhyen.kit.topics import create_topics, entries_of

Record: TypeAlias = ConsumerRecord[bytes, bytes]
DLQ = dead_letter_topic("kittest")


def _event(unit_id: str) -> CloudEvent:
    return CloudEvent.wrap(
        UnitRegistered(
            unit_id=unit_id,
            kind=UnitKind.COMMUNE,
            level=UnitKind.COMMUNE.level,
            name="Kỳ Nam",
            parent_id="p",
            ancestor_ids=["p"],
            valid_from=date(2020, 1, 1),
            version=1,
        )
    )


async def _produce(servers: Servers, topic: str, values: list[bytes]) -> None:
    producer = await start_producer(servers.kafka, client_id="test")
    try:
        for value in values:
            # One key, so one partition: "the messages after it" are well defined.
            await producer.send_and_wait(topic, value=value, key=b"same-key")
    finally:
        await producer.stop()


def _runner(
    servers: Servers, topic: str, test_id: str, handler: object, **kw: object
) -> ConsumerRunner:
    return ConsumerRunner(
        bootstrap=servers.kafka,
        group_id=f"g-{test_id}",
        topics=[topic],
        handler=handler,  # type: ignore[arg-type]
        client_id="test",
        dead_letters=topic.removesuffix(REGISTRY_UNITS.name) + DLQ.name,
        backoff_seconds=0.01,
        **kw,  # type: ignore[arg-type]
    )


async def test_malformed_message_goes_to_dlq_with_error_headers_and_later_ones_are_processed(
    servers: Servers, topic_prefix: str, test_id: str
) -> None:
    await create_topics(servers.kafka, entries_of([REGISTRY_UNITS, DLQ]), prefix=topic_prefix)
    topic = topic_prefix + REGISTRY_UNITS.name
    before, after = _event("before"), _event("after")
    await _produce(servers, topic, [before.to_json(), b"{not json", after.to_json()])
    seen: list[str] = []

    async def on_unit(event: CloudEvent) -> None:
        seen.append(event.id)

    runner = _runner(servers, topic, test_id, EventDispatcher({UnitRegistered.event_type: on_unit}))
    await runner.start()
    try:
        await eventually(lambda: len(seen) == 2, what="both good messages handled")
    finally:
        await runner.stop()
    assert seen == [before.id, after.id]

    dlq = await read_topic(servers.kafka, topic_prefix + DLQ.name)
    assert len(dlq) == 1
    headers = dict(dlq[0].headers)
    assert dlq[0].value == b"{not json"
    assert headers["binhyen-original-topic"] == topic.encode()
    assert headers["binhyen-original-offset"] == b"1"
    assert headers["binhyen-error-type"] == b"ValidationError"
    assert headers["binhyen-error-message"]
    assert headers["binhyen-attempts"] == b"1"


async def test_handler_that_keeps_failing_is_retried_a_bounded_number_of_times_then_dead_lettered(
    servers: Servers, topic_prefix: str, test_id: str
) -> None:
    await create_topics(servers.kafka, entries_of([REGISTRY_UNITS, DLQ]), prefix=topic_prefix)
    topic = topic_prefix + REGISTRY_UNITS.name
    bad, good = _event("bad"), _event("good")
    await _produce(servers, topic, [bad.to_json(), good.to_json()])
    attempts: dict[str, int] = {}

    async def on_unit(event: CloudEvent) -> None:
        attempts[event.id] = attempts.get(event.id, 0) + 1
        if event.id == bad.id:
            raise RuntimeError("boom")

    runner = _runner(
        servers,
        topic,
        test_id,
        EventDispatcher({UnitRegistered.event_type: on_unit}),
        max_attempts=3,
    )
    await runner.start()
    try:
        await eventually(lambda: good.id in attempts, what="good message handled")
    finally:
        await runner.stop()
    assert attempts == {bad.id: 3, good.id: 1}
    dlq = await read_topic(servers.kafka, topic_prefix + DLQ.name)
    assert [dict(r.headers)["binhyen-attempts"] for r in dlq] == [b"3"]
    assert dict(dlq[0].headers)["binhyen-error-type"] == b"RuntimeError"


async def test_offset_is_committed_only_after_the_effect(
    servers: Servers, topic_prefix: str, test_id: str
) -> None:
    """A consumer that dies mid-handler gets the same message again after restart."""
    await create_topics(servers.kafka, entries_of([REGISTRY_UNITS, DLQ]), prefix=topic_prefix)
    topic = topic_prefix + REGISTRY_UNITS.name
    event = _event("crash")
    await _produce(servers, topic, [event.to_json()])
    entered = asyncio.Event()

    async def hangs(record: Record) -> None:
        entered.set()
        await asyncio.Event().wait()  # the process "dies" here, before finishing

    crashing = _runner(servers, topic, test_id, hangs)
    await crashing.start()
    await asyncio.wait_for(entered.wait(), timeout=30)
    await crashing.abort()

    redelivered: list[bytes] = []

    async def records(record: Record) -> None:
        redelivered.append(record.value)

    survivor = _runner(servers, topic, test_id, records)
    await survivor.start()
    try:
        await eventually(lambda: bool(redelivered), what="redelivery")
    finally:
        await survivor.stop()
    assert redelivered == [event.to_json()]


async def test_two_members_of_a_group_share_partitions_and_every_message_is_handled(
    servers: Servers, topic_prefix: str, test_id: str
) -> None:
    """A second replica joining mid-stream takes partitions over without losing messages."""
    await create_topics(servers.kafka, entries_of([REGISTRY_UNITS, DLQ]), prefix=topic_prefix)
    topic = topic_prefix + REGISTRY_UNITS.name
    events = [_event(f"u{i}") for i in range(120)]
    handled: dict[str, set[str]] = {"a": set(), "b": set()}

    def handler(member: str) -> EventDispatcher:
        async def on_unit(event: CloudEvent) -> None:
            handled[member].add(event.id)

        return EventDispatcher({UnitRegistered.event_type: on_unit})

    producer = await start_producer(servers.kafka, client_id="test")
    try:
        for event in events[:60]:
            await producer.send_and_wait(topic, event.to_json(), key=str(event.subject).encode())
        first = _runner(servers, topic, test_id, handler("a"))
        await first.start()
        await eventually(lambda: len(handled["a"]) > 0, what="first member consuming")
        second = _runner(servers, topic, test_id, handler("b"))
        await second.start()
        await eventually(
            lambda: (
                first.assignment()
                and second.assignment()
                and len(first.assignment() | second.assignment()) == REGISTRY_UNITS.partitions
            ),
            timeout=60,
            what="the partitions split between both members",
        )
        for event in events[60:]:
            await producer.send_and_wait(topic, event.to_json(), key=str(event.subject).encode())
        try:
            await eventually(
                lambda: handled["a"] | handled["b"] >= {e.id for e in events},
                timeout=60,
                what="every message handled by one of the members",
            )
            assert handled["b"], "the second member never received a partition"
        finally:
            await first.stop()
            await second.stop()
    finally:
        await producer.stop()


async def _produce_keyed(servers: Servers, topic: str, events: list[CloudEvent]) -> None:
    producer = await start_producer(servers.kafka, client_id="test")
    try:
        batch = [
            await producer.send(topic, e.to_json(), key=str(e.subject).encode()) for e in events
        ]
        await asyncio.gather(*batch)
    finally:
        await producer.stop()


async def test_partitions_are_handled_side_by_side_and_in_order_within_each(
    servers: Servers, topic_prefix: str, test_id: str
) -> None:
    """12 partitions, a handler that waits 50 ms: many run at once, each key stays in order."""
    await create_topics(servers.kafka, entries_of([REGISTRY_UNITS, DLQ]), prefix=topic_prefix)
    topic = topic_prefix + REGISTRY_UNITS.name
    # 24 keys x 5 events each; a key's events must be seen in the order produced.
    events = [_event(f"k{k}") for _ in range(5) for k in range(24)]
    produced: dict[str, list[str]] = {}
    for e in events:
        produced.setdefault(str(e.subject), []).append(e.id)
    await _produce_keyed(servers, topic, events)
    seen: dict[str, list[str]] = {}
    running = 0
    most = 0

    async def on_unit(event: CloudEvent) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.05)  # the handler's work (a call to elsewhere)
            seen.setdefault(str(event.subject), []).append(event.id)
        finally:
            running -= 1

    runner = _runner(servers, topic, test_id, EventDispatcher({UnitRegistered.event_type: on_unit}))
    await runner.start()
    try:
        await eventually(
            lambda: sum(map(len, seen.values())) == len(events), timeout=60, what="all handled"
        )
    finally:
        await runner.stop()
    assert seen == produced  # order per key, nothing lost, nothing twice
    # One task per partition: with 24 keys over 12 partitions, far more than one at a time.
    assert most >= 6, f"at most {most} handler calls ran at once"


async def test_a_rebalance_during_a_retry_loop_is_not_blocked_and_loses_or_duplicates_nothing(
    servers: Servers, topic_prefix: str, test_id: str
) -> None:
    """Member A's database is away (every call fails transiently, retried without bound). B joins:
    A lets its revoked partitions go at once, commits nothing it did not do, and B handles
    every message exactly once."""
    await create_topics(servers.kafka, entries_of([REGISTRY_UNITS, DLQ]), prefix=topic_prefix)
    topic = topic_prefix + REGISTRY_UNITS.name
    events = [_event(f"r{k}") for k in range(48)]
    await _produce_keyed(servers, topic, events)
    a_tries = 0
    b_done: list[str] = []

    async def broken(event: CloudEvent) -> None:
        nonlocal a_tries
        a_tries += 1
        raise ConnectionFailure("database away")

    async def works(event: CloudEvent) -> None:
        b_done.append(event.id)

    first = _runner(servers, topic, test_id, EventDispatcher({UnitRegistered.event_type: broken}))
    second = _runner(servers, topic, test_id, EventDispatcher({UnitRegistered.event_type: works}))
    await first.start()
    try:
        await eventually(lambda: a_tries >= 24, what="A retrying")
        await second.start()
        # The rebalance completes while A is still retrying (A is not blocking it).
        await eventually(lambda: bool(second.assignment()), timeout=30, what="B given partitions")
        assert first.assignment() and a_tries > 24
        # A stops mid-retry: it must let go at once, without committing what it never did.
        await asyncio.wait_for(first.stop(), timeout=15)
        await eventually(
            lambda: len(b_done) >= len(events), timeout=60, what="B handled everything"
        )
    finally:
        await first.stop()
        await second.stop()
    assert sorted(b_done) == sorted(e.id for e in events)  # each exactly once
    assert await read_topic(servers.kafka, topic_prefix + DLQ.name, until=lambda r: True) == []


async def test_unknown_event_types_are_counted_logged_once_and_passed(
    servers: Servers, topic_prefix: str, test_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    await create_topics(servers.kafka, entries_of([REGISTRY_UNITS, DLQ]), prefix=topic_prefix)
    topic = topic_prefix + REGISTRY_UNITS.name
    future = [
        CloudEvent.model_validate(
            _event("f").model_dump() | {"type": "vn.binhyen.registry.unit.teleported.v9"}
        )
        for _ in range(3)
    ]
    known = _event("known")
    await _produce(servers, topic, [e.to_json() for e in future] + [known.to_json()])
    seen: list[str] = []

    async def on_unit(event: CloudEvent) -> None:
        seen.append(event.id)

    def count() -> float:
        value = REGISTRY.get_sample_value(
            "binhyen_consumer_unknown_events_total",
            {"topic": topic, "type": "vn.binhyen.registry.unit.teleported.v9"},
        )
        return value or 0.0

    caplog.set_level(logging.WARNING, logger="binhyen.kit.consumer")
    runner = _runner(servers, topic, test_id, EventDispatcher({UnitRegistered.event_type: on_unit}))
    await runner.start()
    try:
        await eventually(lambda: seen == [known.id], what="the known event after the unknown")
    finally:
        await runner.stop()
    assert count() == 3
    logged = [r for r in caplog.records if "teleported" in r.getMessage()]
    assert len(logged) == 1
