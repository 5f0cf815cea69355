"""Read what is on a topic, from the beginning, without a consumer group; a group's lag."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from binhyen.kit.kafka import KafkaAccess, client_kwargs

log = logging.getLogger(__name__)
Record: TypeAlias = ConsumerRecord[bytes, bytes]


async def read_topic(
    bootstrap: KafkaAccess | str,
    topic: str,
    *,
    until: Callable[[list[Record]], bool] = lambda records: bool(records),
    timeout: float = 30.0,
) -> list[Record]:
    """All records of ``topic`` up to its current end, waiting until ``until`` holds.

    Returns as soon as ``until`` is true AND every partition has been read to its end
    offset, so a count taken from the result is final for what is on the topic now.
    """
    consumer = AIOKafkaConsumer(**client_kwargs(bootstrap), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        partitions: set[int] | None = None
        while not partitions:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                await consumer._client.force_metadata_update()
                if time.monotonic() > deadline:
                    raise AssertionError(f"topic {topic} does not exist")
                await asyncio.sleep(0.1)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[Record] = []
        while True:
            batch = await consumer.getmany(*tps, timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
            ends = await consumer.end_offsets(tps)
            positions = {tp: await _position(consumer, tp) for tp in tps}
            at_end = all(positions[tp] >= ends[tp] for tp in tps)
            if at_end and until(records):
                return sorted(records, key=lambda r: (r.timestamp, r.partition, r.offset))
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out reading {topic}: {len(records)} records, condition not met"
                )
    finally:
        await consumer.stop()


async def delete_topics(bootstrap: KafkaAccess | str, prefix: str) -> list[str]:
    """Delete every topic whose name starts with ``prefix`` (best effort); return their names."""
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap))
    try:
        await admin.start()
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
        return names
    except Exception as exc:  # a test that stopped the broker on purpose, say
        log.warning("could not delete test topics", extra={"error": type(exc).__name__})
        return []
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


async def consumer_lag(bootstrap: KafkaAccess | str, group: str, topics: list[str]) -> int:
    """Records on these topics the consumer group has not committed yet (0: caught up).

    A topic with no known partitions raises: an unknown topic is not "no lag".
    """
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap))
    consumer = AIOKafkaConsumer(**client_kwargs(bootstrap), enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        metadata = await consumer._client.fetch_all_metadata()
        tps: list[TopicPartition] = []
        for topic in topics:
            partitions = metadata.partitions_for_topic(topic)
            if not partitions:
                raise RuntimeError(f"no partitions known for {topic}")
            tps += [TopicPartition(topic, p) for p in partitions]
        committed = await _committed(admin, group)
        ends = await consumer.end_offsets(tps)
        lag = 0
        for tp in tps:
            done = committed.get(tp)
            lag += max(0, ends[tp] - (done.offset if done is not None and done.offset >= 0 else 0))
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def _committed(admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, Any]:
    """The group's committed offsets; a coordinator that is moving or loading (a retriable
    error: a new group's first look-up, a broker busy creating topics) is asked again."""
    for attempt in range(20):
        try:
            found: dict[TopicPartition, Any] = await admin.list_consumer_group_offsets(group)
            return found
        except KafkaError as exc:
            if not exc.retriable or attempt == 19:
                raise
            await asyncio.sleep(0.25)
    raise AssertionError("unreachable")  # pragma: no cover


async def _position(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int:
    position: int = await consumer.position(tp)
    return position
