"""The dead-letter topic of a consumer group: read it, and replay entries through the group's
own handlers (``python -m binhyen.<service> dlq list | show ID | replay ID… | replay --all``).

A replay runs the record through the same handler the consumer would, against the
service's database, so it reaches this group only — never the other subscribers of the
original topic (which a re-publish would). Handlers are idempotent, so replaying an entry
twice is harmless; ``dead_letter_replays`` in the service's database remembers what was
replayed and how it went, so ``list`` can say so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from pymongo.asynchronous.database import AsyncDatabase

from binhyen.contracts import parse_event
from binhyen.kit.consumer import (
    H_ATTEMPTS,
    H_ERROR_MESSAGE,
    H_ERROR_TYPE,
    H_FAILED_AT,
    H_OFFSET,
    H_PARTITION,
    H_TOPIC,
    PoisonMessage,
    RecordHandler,
    describe_error,
    header,
)
from binhyen.kit.kafka import KafkaAccess, client_kwargs

Document = dict[str, Any]
REPLAYS = "dead_letter_replays"


class DeadLetterError(LookupError):
    """An unknown dead-letter topic or entry (the message says which)."""


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered record and where it came from."""

    id: str  # "<partition>:<offset>" on the dead-letter topic
    record: ConsumerRecord[bytes, bytes]

    @property
    def original_topic(self) -> str:
        return header(self.record, H_TOPIC) or "?"

    def summary(self) -> dict[str, str]:
        """What an operator sees: origin, error, event type and id — never the data."""
        event_type = event_id = "-"
        if self.record.value is not None:
            try:
                event = parse_event(self.record.value)
                event_type, event_id = event.type, event.id
            except ValueError:
                event_type = "(not a CloudEvent)"
        return {
            "id": self.id,
            "failed_at": header(self.record, H_FAILED_AT) or "?",
            "origin": (
                f"{self.original_topic}[{header(self.record, H_PARTITION)}]"
                f"@{header(self.record, H_OFFSET)}"
            ),
            "error": (
                f"{header(self.record, H_ERROR_TYPE)}: {header(self.record, H_ERROR_MESSAGE)}"
            ),
            "attempts": header(self.record, H_ATTEMPTS) or "?",
            "event_type": event_type,
            "event_id": event_id,
        }


async def read_dead_letters(
    bootstrap: KafkaAccess | str, topic: str, *, timeout: float = 30.0
) -> list[DeadLetter]:
    """Every record on the dead-letter topic, from the beginning (no consumer group)."""
    consumer = AIOKafkaConsumer(**client_kwargs(bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise DeadLetterError(
                f"no dead-letter topic {topic} on Kafka (was the topics deploy step run?)"
            )
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: list[DeadLetter] = []
        deadline = time.monotonic() + timeout
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took longer than {timeout:.0f}s")
            batch = await consumer.getmany(*tps, timeout_ms=500)
            for records in batch.values():
                found.extend(DeadLetter(f"{r.partition}:{r.offset}", r) for r in records)
        return sorted(found, key=lambda d: (d.record.timestamp, d.record.partition))
    finally:
        await consumer.stop()


def select(letters: Iterable[DeadLetter], ids: Iterable[str]) -> list[DeadLetter]:
    """The entries with these ids, in the order given; DeadLetterError names an unknown one."""
    by_id = {d.id: d for d in letters}
    chosen = []
    for wanted in ids:
        if wanted not in by_id:
            raise DeadLetterError(
                f"no dead letter {wanted!r} (ids are partition:offset, as `list` shows them)"
            )
        chosen.append(by_id[wanted])
    return chosen


async def replay(
    letter: DeadLetter,
    handlers: Mapping[str, RecordHandler],
    db: AsyncDatabase[Document],
    *,
    original_name: Callable[[str], str] = lambda topic: topic,
) -> str:
    """Run one dead letter through the handler of its original topic; return the outcome."""
    handler = handlers.get(original_name(letter.original_topic))
    if handler is None:
        raise DeadLetterError(
            f"{letter.id}: this service has no handler for {letter.original_topic} any more"
        )
    original = _as_original(letter)
    try:
        await handler(original)
        outcome = "ok"
    except PoisonMessage as exc:
        outcome = f"failed: {type(exc.__cause__ or exc).__name__}: {describe_error(exc)}"
    except Exception as exc:
        outcome = f"failed: {type(exc).__name__}: {describe_error(exc)}"
    await db[REPLAYS].update_one(
        {"_id": letter.id},
        {"$set": {"outcome": outcome, "replayed_at": datetime.now(UTC)}, "$inc": {"times": 1}},
        upsert=True,
    )
    return outcome


async def replay_outcomes(db: AsyncDatabase[Document]) -> dict[str, str]:
    """The last replay outcome of each replayed entry."""
    return {str(d["_id"]): str(d["outcome"]) async for d in db[REPLAYS].find({})}


def _as_original(letter: DeadLetter) -> ConsumerRecord[bytes, bytes]:
    r = letter.record
    return ConsumerRecord(
        topic=letter.original_topic,
        partition=int(header(r, H_PARTITION) or -1),
        offset=int(header(r, H_OFFSET) or -1),
        timestamp=r.timestamp,
        timestamp_type=r.timestamp_type,
        key=r.key,
        value=r.value,
        checksum=None,
        serialized_key_size=r.serialized_key_size,
        serialized_value_size=r.serialized_value_size,
        headers=tuple((k, v) for k, v in (r.headers or ()) if not k.startswith("binhyen-")),
    )
