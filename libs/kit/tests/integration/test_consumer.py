"""Consumer runner against real Kafka: DLQ, bounded retries, commit after effect."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import TypeAlias

from aiokafka.structs import ConsumerRecord

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.units import UnitRegistered
from binhyen.contracts.topics import REGISTRY_UNITS
from binhyen.contracts.units import UnitKind
from binhyen.kit.consumer import ConsumerRunner, EventDispatcher
from binhyen.kit.kafka import ensure_topics, start_producer
from binhyen.kit.testing import Servers, eventually, read_topic

Record: TypeAlias = ConsumerRecord[bytes, bytes]


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
        backoff_seconds=0.01,
        **kw,  # type: ignore[arg-type]
    )


async def test_malformed_message_goes_to_dlq_with_error_headers_and_later_ones_are_processed(
    servers: Servers, topic_prefix: str, test_id: str
) -> None:
    await ensure_topics(servers.kafka, [REGISTRY_UNITS], prefix=topic_prefix)
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

    dlq = await read_topic(servers.kafka, topic + ".dlq")
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
    await ensure_topics(servers.kafka, [REGISTRY_UNITS], prefix=topic_prefix)
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
    dlq = await read_topic(servers.kafka, topic + ".dlq")
    assert [dict(r.headers)["binhyen-attempts"] for r in dlq] == [b"3"]
    assert dict(dlq[0].headers)["binhyen-error-type"] == b"RuntimeError"


async def test_offset_is_committed_only_after_the_effect(
    servers: Servers, topic_prefix: str, test_id: str
) -> None:
    """A consumer that dies mid-handler gets the same message again after restart."""
    await ensure_topics(servers.kafka, [REGISTRY_UNITS], prefix=topic_prefix)
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
    await ensure_topics(servers.kafka, [REGISTRY_UNITS], prefix=topic_prefix)
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
