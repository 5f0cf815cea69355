"""Consumer runner: manual commit after the handler, bounded retries, DLQ, graceful stop.

Offsets are committed only after the handler's effect, so a crash redelivers (at
least once) and handlers must be idempotent. A message that cannot be parsed, or
keeps failing after bounded retries, goes to ``<topic>.dlq`` with the error and its
origin in headers, and the partition moves on. Infrastructure errors (MongoDB
down) are retried without bound instead: the message is fine, the world is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure

from binhyen.contracts import CloudEvent, parse_event
from binhyen.kit.logging import correlation_id
from binhyen.kit.metrics import CONSUMED

log = logging.getLogger(__name__)

Record: TypeAlias = ConsumerRecord[bytes, bytes]
RecordHandler = Callable[[Record], Awaitable[None]]
EventHandler = Callable[[CloudEvent], Awaitable[None]]
TRANSIENT: tuple[type[BaseException], ...] = (ConnectionFailure,)


class PoisonMessage(Exception):
    """The message itself is bad; retrying cannot help (goes straight to the DLQ)."""


def describe_error(exc: BaseException) -> str:
    """A short error description without input values (they may hold personal data)."""
    cause = exc.__cause__ if isinstance(exc, PoisonMessage) and exc.__cause__ else exc
    if isinstance(cause, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in cause.errors(include_input=False, include_url=False)
        ]
        return "; ".join(parts)[:1000]
    return str(cause)[:1000]


class EventDispatcher:
    """Parses CloudEvents and routes them to ``on_<event>`` handlers by type."""

    def __init__(self, handlers: Mapping[str, EventHandler]) -> None:
        self._handlers = dict(handlers)

    async def __call__(self, record: Record) -> None:
        """Handle one Kafka record; unknown event types are skipped (forward compatibility)."""
        if record.value is None:
            return  # a tombstone on a compacted topic
        try:
            event = parse_event(record.value)
        except ValidationError as exc:
            raise PoisonMessage("not a valid CloudEvent") from exc
        handler = self._handlers.get(event.type)
        if handler is None:
            log.debug("skipping event type %s", event.type)
            return
        token = correlation_id.set(event.id)
        try:
            await handler(event)
        except ValidationError as exc:
            raise PoisonMessage(f"invalid data for {event.type}") from exc
        finally:
            correlation_id.reset(token)


class ConsumerRunner:
    """Runs one consumer group member: poll, handle, DLQ, commit; stops gracefully."""

    def __init__(
        self,
        *,
        bootstrap: str,
        group_id: str,
        topics: list[str],
        handler: RecordHandler,
        client_id: str,
        max_attempts: int = 5,
        backoff_seconds: float = 0.2,
        transient: tuple[type[BaseException], ...] = TRANSIENT,
    ) -> None:
        self._bootstrap = bootstrap
        self._group = group_id
        self._topics = topics
        self._handler = handler
        self._client_id = client_id
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._transient = transient
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start polling in the background; connects (and reconnects) by itself."""
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self._group}")

    async def stop(self) -> None:
        """Finish the message in hand, commit what was handled, leave the group."""
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def assignment(self) -> set[TopicPartition]:
        """The partitions this member currently owns (empty while disconnected)."""
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    async def abort(self) -> None:
        """Stop at once, mid-message, without committing: what a crash does."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                await self._connect()
                backoff = 0.5
                await self._poll_loop()
            except KafkaError as exc:
                log.warning(
                    "consumer lost Kafka, reconnecting", extra={"error": type(exc).__name__}
                )
                await self._sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                await self._disconnect()

    async def _connect(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self._group,
            client_id=self._client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_interval_ms=300_000,
        )
        dlq = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=f"{self._client_id}-dlq",
            enable_idempotence=True,
            acks="all",
        )
        self._consumer, self._dlq = consumer, dlq
        await consumer.start()
        await dlq.start()
        consumer.subscribe(self._topics, listener=_CommitOnRevoke(self._lock))

    async def _disconnect(self) -> None:
        consumer, dlq = self._consumer, self._dlq
        self._consumer = self._dlq = None
        for client in (consumer, dlq):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.stop()

    async def _poll_loop(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=200)
            for tp, records in batches.items():
                async with self._lock:
                    if tp not in consumer.assignment():
                        continue  # revoked while we polled; the new owner handles it
                    await self._handle_batch(consumer, tp, records)
                if self._stopping.is_set():
                    return

    async def _handle_batch(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[Record]
    ) -> None:
        next_offset: int | None = None
        for record in records:
            if self._stopping.is_set():
                break
            handled = await self._handle(record)
            if not handled:
                consumer.seek(tp, record.offset)  # redeliver from here on the next poll
                break
            next_offset = record.offset + 1
        if next_offset is not None:
            try:
                await consumer.commit({tp: next_offset})
            except (CommitFailedError, IllegalStateError) as exc:
                # Partition moved to another member; it resumes from the last commit and
                # the handlers are idempotent, so redelivery is harmless.
                log.info("commit skipped after rebalance", extra={"error": type(exc).__name__})

    async def _handle(self, record: Record) -> bool:
        """Handle or dead-letter one record; False if it must be retried later."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._handler(record)
            except PoisonMessage as exc:
                return await self._dead_letter(record, exc, attempt)
            except self._transient as exc:
                log.warning("transient failure, retrying", extra={"error": type(exc).__name__})
                if await self._sleep(self._delay(attempt)):
                    return False
                attempt = 0
                continue
            except Exception as exc:
                if attempt >= self._max_attempts:
                    log.error(
                        "handler failed, sending to DLQ",
                        extra={
                            "error": type(exc).__name__,
                            "topic": record.topic,
                            "partition": record.partition,
                            "offset": record.offset,
                        },
                    )
                    return await self._dead_letter(record, exc, attempt)
                if await self._sleep(self._delay(attempt)):
                    return False
                continue
            CONSUMED.labels(topic=record.topic, outcome="ok").inc()
            return True

    def _delay(self, attempt: int) -> float:
        return float(min(self._backoff * 2 ** (attempt - 1), 10.0))

    async def _dead_letter(self, record: Record, exc: BaseException, attempts: int) -> bool:
        assert self._dlq is not None
        headers = [
            *(record.headers or ()),
            ("binhyen-error-type", type(exc.__cause__ or exc).__name__.encode()),
            ("binhyen-error-message", describe_error(exc).encode()),
            ("binhyen-original-topic", record.topic.encode()),
            ("binhyen-original-partition", str(record.partition).encode()),
            ("binhyen-original-offset", str(record.offset).encode()),
            ("binhyen-consumer-group", self._group.encode()),
            ("binhyen-attempts", str(attempts).encode()),
            ("binhyen-failed-at", datetime.now(UTC).isoformat().encode()),
        ]
        try:
            await self._dlq.send_and_wait(
                f"{record.topic}.dlq", value=record.value, key=record.key, headers=headers
            )
        except KafkaError as dlq_exc:
            log.warning("DLQ unavailable, will retry", extra={"error": type(dlq_exc).__name__})
            return False
        CONSUMED.labels(topic=record.topic, outcome="dlq").inc()
        return True

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopping; True if the runner is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        return self._stopping.is_set()


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Wait for the batch in hand to finish (and commit) before giving partitions away."""

    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock

    async def on_partitions_revoked(self, revoked: Any) -> None:
        async with self._lock:
            pass

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None
