"""Consumer runner: partitions in parallel, commit after the effect, retries that yield to a
rebalance, a dead-letter topic per consumer group, graceful stop.

How one group member works:

- **One worker per assigned partition.** The fetch loop hands each partition's records to
  that partition's worker, which runs them one by one, in offset order: order per key
  holds (a key lives on one partition) while partitions proceed side by side. A worker
  whose backlog grows pauses its partition's fetching until it has caught up.
- **Commit after the effect.** A worker only records the offset after the record it
  finished; one committer commits those offsets for every partition, so a worker never
  waits on the group coordinator. A crash redelivers what was not committed (at least
  once): handlers must be idempotent (``binhyen.kit.idempotency.apply_once``).
- **Retries.** A failing handler is retried with capped exponential backoff and full
  jitter. Transient errors (the database away) are retried without bound — the message
  is fine, the world is not; other errors ``max_attempts`` times, then the record goes to
  the group's dead-letter topic with the error and its origin in headers, and the
  partition moves on. A record that cannot be parsed goes there at once.
- **Rebalances are never blocked by a retry.** When a partition is revoked its worker
  stops retrying at once (the record it was retrying is neither committed nor
  dead-lettered: its new owner starts from it), the handler call in flight is given a
  grace period to finish, the offsets done are committed, and the partition is let go.
- **Unknown event types** are counted (``binhyen_consumer_unknown_events_total``), logged
  once per type, and committed: a newer producer must not stall an older consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import ConsumerRecord
from prometheus_client import Counter
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure

from binhyen.contracts import CloudEvent, parse_event
from binhyen.kit.aio import wait_any, wait_event
from binhyen.kit.kafka import KafkaAccess, client_kwargs
from binhyen.kit.logging import correlation_id
from binhyen.kit.metrics import CONSUMED

log = logging.getLogger(__name__)

Record: TypeAlias = ConsumerRecord[bytes, bytes]
RecordHandler = Callable[[Record], Awaitable[None]]
EventHandler = Callable[[CloudEvent], Awaitable[None]]
TRANSIENT: tuple[type[BaseException], ...] = (ConnectionFailure,)
# A graceful stop (handlers' grace, a commit, leaving the group) normally takes a second;
# this bounds it below Kubernetes' 30 s termination grace, with room for the relay's stop.
STOP_GRACE_SECONDS = 15.0
ABORT_DISCONNECT_SECONDS = 2.0

UNKNOWN_EVENTS = Counter(
    "binhyen_consumer_unknown_events_total",
    "Events of a type this consumer has no handler for (committed and skipped)",
    ["topic", "type"],
)

# Headers a dead-lettered record carries (besides its own).
H_ERROR_TYPE = "binhyen-error-type"
H_ERROR_MESSAGE = "binhyen-error-message"
H_TOPIC = "binhyen-original-topic"
H_PARTITION = "binhyen-original-partition"
H_OFFSET = "binhyen-original-offset"
H_GROUP = "binhyen-consumer-group"
H_ATTEMPTS = "binhyen-attempts"
H_FAILED_AT = "binhyen-failed-at"


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


def backoff_delay(attempt: int, *, base: float, cap: float) -> float:
    """Capped exponential backoff with full jitter: uniform in [0, min(cap, base * 2^n)].

    Full jitter spreads the retries of many members hitting the same failure, so they
    do not come back in step and knock the recovering dependency over again.
    """
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return random.uniform(0, ceiling)


class EventDispatcher:
    """Parses CloudEvents and routes them to ``on_<event>`` handlers by type."""

    def __init__(self, handlers: Mapping[str, EventHandler]) -> None:
        self._handlers = dict(handlers)
        self._unknown_logged: set[str] = set()

    async def __call__(self, record: Record) -> None:
        """Handle one Kafka record; unknown event types are counted and skipped."""
        if record.value is None:
            return  # a tombstone on a compacted topic
        try:
            event = parse_event(record.value)
        except ValidationError as exc:
            raise PoisonMessage("not a valid CloudEvent") from exc
        handler = self._handlers.get(event.type)
        if handler is None:
            UNKNOWN_EVENTS.labels(topic=record.topic, type=event.type).inc()
            if event.type not in self._unknown_logged:
                self._unknown_logged.add(event.type)
                log.warning(
                    f"skipping events of unknown type {event.type} (logged once per type)",
                    extra={"event_type": event.type, "topic": record.topic},
                )
            return
        token = correlation_id.set(event.id)
        try:
            await handler(event)
        except ValidationError as exc:
            raise PoisonMessage(f"invalid data for {event.type}") from exc
        finally:
            correlation_id.reset(token)


class _GiveUp(Exception):
    """The worker must let its record go (partition revoked, or the runner stopping)."""


class _PartitionWorker:
    """Runs one partition's records in order; owned by the runner while it is assigned."""

    def __init__(self, runner: ConsumerRunner, consumer: AIOKafkaConsumer, tp: TopicPartition):
        self.tp = tp
        self.done: int | None = None  # next offset to commit (all before it are handled)
        self.committed: int | None = None
        self._runner = runner
        self._consumer = consumer
        self._queue: deque[Record] = deque()
        self._next: int | None = None  # offset expected next from the fetcher
        self._work = asyncio.Event()
        self._given_up = asyncio.Event()
        self._paused = False
        self.task = asyncio.create_task(self._loop(), name=f"partition-{tp.topic}-{tp.partition}")

    def feed(self, records: list[Record]) -> None:
        for record in records:
            if self._next is not None and record.offset < self._next:
                continue  # already queued (a fetch that overlapped a reassignment)
            self._queue.append(record)
            self._next = record.offset + 1
        self._work.set()
        if len(self._queue) >= self._runner.max_buffered and not self._paused:
            self._paused = True
            self._consumer.pause(self.tp)

    def give_up(self) -> None:
        self._given_up.set()
        self._work.set()

    @property
    def given_up(self) -> bool:
        return self._given_up.is_set()

    async def _loop(self) -> None:
        while not self._given_up.is_set():
            if not self._queue:
                self._work.clear()
                await self._work.wait()
                continue
            record = self._queue[0]
            try:
                await self._runner.handle(record, self._given_up)
            except _GiveUp:
                return
            self._queue.popleft()
            self.done = record.offset + 1
            self._runner.nudge_committer()
            if self._paused and len(self._queue) <= self._runner.max_buffered // 2:
                self._paused = False
                with contextlib.suppress(IllegalStateError):
                    self._consumer.resume(self.tp)


class ConsumerRunner:
    """Runs one consumer group member: fetch, handle per partition, DLQ, commit; stops cleanly."""

    def __init__(
        self,
        *,
        bootstrap: KafkaAccess | str,
        group_id: str,
        topics: list[str],
        handler: RecordHandler,
        client_id: str,
        dead_letters: str,
        max_attempts: int = 5,
        backoff_seconds: float = 0.2,
        max_backoff_seconds: float = 10.0,
        transient: tuple[type[BaseException], ...] = TRANSIENT,
        max_buffered: int = 500,
        revoke_grace_seconds: float = 10.0,
    ) -> None:
        if not dead_letters:
            raise ValueError("a consumer needs its group's dead-letter topic")
        self._bootstrap = bootstrap
        self._group = group_id
        self._topics = topics
        self._handler = handler
        self._client_id = client_id
        self.dead_letters = dead_letters
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._transient = transient
        self.max_buffered = max(2, max_buffered)
        self._revoke_grace = revoke_grace_seconds
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self._workers: dict[TopicPartition, _PartitionWorker] = {}
        self._stopping = asyncio.Event()
        self._commit_wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start in the background; connects (and reconnects) by itself, never blocks."""
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self._group}")

    async def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Finish the handler calls in flight, commit what was handled, leave the group.

        Bounded by ``grace_seconds``: a broker that stopped answering or a rebalance that
        does not end would otherwise hold shutdown for the client's request timeouts (40 s
        each, one after another) — past the orchestrator's patience, and a test's. Past the
        grace the runner aborts as a crash would: what was handled but not committed is
        delivered again, and the handlers are idempotent.
        """
        self._stopping.set()
        task = self._task
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=grace_seconds)
        if not done:
            log.warning(
                "consumer did not stop in time, aborting",
                extra={"group": self._group, "grace_seconds": grace_seconds},
            )
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._task = None

    async def abort(self) -> None:
        """Stop at once, mid-message, without committing: what a crash does."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._drop_workers()

    def assignment(self) -> set[TopicPartition]:
        """The partitions this member currently owns (empty while disconnected)."""
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    def nudge_committer(self) -> None:
        self._commit_wanted.set()

    # -- connection ------------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                await self._connect()
                attempt = 0
                await self._fetch_loop()
            except KafkaError as exc:
                attempt += 1
                log.warning(
                    "consumer lost Kafka, reconnecting", extra={"error": type(exc).__name__}
                )
                await self._sleep(backoff_delay(attempt, base=0.5, cap=10.0))
            finally:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    self._drop_workers()  # aborted: no commit, no grace
                    await self._disconnect(ABORT_DISCONNECT_SECONDS)
                else:
                    await self._release_all(commit=True)
                    await self._disconnect()

    def _drop_workers(self) -> None:
        for worker in self._workers.values():
            worker.task.cancel()
        self._workers.clear()

    async def _connect(self) -> None:
        consumer = AIOKafkaConsumer(
            **client_kwargs(self._bootstrap),
            group_id=self._group,
            client_id=self._client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_interval_ms=300_000,
        )
        dlq = AIOKafkaProducer(
            **client_kwargs(self._bootstrap),
            client_id=f"{self._client_id}-dlq",
            enable_idempotence=True,
            acks="all",
        )
        self._consumer, self._dlq = consumer, dlq
        await consumer.start()
        await dlq.start()
        consumer.subscribe(self._topics, listener=_Rebalance(self, consumer))

    async def _disconnect(self, within: float | None = None) -> None:
        """Close both clients (the consumer leaves the group); ``within`` bounds each close.

        A stop cancelled mid-close (its grace ran out) still closes the other client, briefly,
        and then lets the cancellation through.
        """
        consumer, dlq = self._consumer, self._dlq
        self._consumer = self._dlq = None
        cancelled = False
        for client in (consumer, dlq):
            if client is None:
                continue
            try:
                async with asyncio.timeout(ABORT_DISCONNECT_SECONDS if cancelled else within):
                    await client.stop()
            except asyncio.CancelledError:
                cancelled = True
            except Exception as exc:
                log.info("Kafka client not closed cleanly", extra={"error": type(exc).__name__})
        if cancelled:
            raise asyncio.CancelledError

    # -- fetching and committing -----------------------------------------------------------

    async def _fetch_loop(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        committer = asyncio.create_task(self._commit_loop(consumer), name="consumer-commits")
        try:
            while not self._stopping.is_set():
                if committer.done():
                    committer.result()  # re-raise what stopped it
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                for tp, records in batches.items():
                    worker = self._workers.get(tp)
                    if worker is not None and not worker.given_up:
                        worker.feed(records)
                for worker in list(self._workers.values()):
                    if worker.task.done() and not worker.given_up:
                        worker.task.result()  # a bug in a worker: surface it, reconnect
        finally:
            committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await committer

    async def _commit_loop(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            await wait_event(self._commit_wanted, 1.0)
            await asyncio.sleep(0.05)  # coalesce: one commit for the records of a burst
            self._commit_wanted.clear()
            await self._commit(consumer, list(self._workers.values()))

    async def _commit(self, consumer: AIOKafkaConsumer, workers: list[_PartitionWorker]) -> None:
        offsets = {w.tp: w.done for w in workers if w.done is not None and w.done != w.committed}
        if not offsets:
            return
        try:
            async with asyncio.timeout(15):
                await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The partitions moved to another member, which resumes from the last commit;
            # the handlers are idempotent, so the redelivery is harmless.
            log.info("commit skipped after a rebalance", extra={"error": type(exc).__name__})
            return
        except (KafkaError, TimeoutError) as exc:
            log.warning("commit failed, will retry", extra={"error": type(exc).__name__})
            return
        for worker in workers:
            if worker.tp in offsets:
                worker.committed = offsets[worker.tp]

    # -- rebalance -------------------------------------------------------------------------

    def _assign(self, consumer: AIOKafkaConsumer, partitions: set[TopicPartition]) -> None:
        for tp in partitions:
            if tp not in self._workers:
                self._workers[tp] = _PartitionWorker(self, consumer, tp)

    async def _release(
        self, consumer: AIOKafkaConsumer | None, partitions: set[TopicPartition], *, commit: bool
    ) -> None:
        """Let partitions go: stop their retries, let the call in flight end, commit."""
        workers = [self._workers.pop(tp) for tp in partitions if tp in self._workers]
        if not workers:
            return
        for worker in workers:
            worker.give_up()
        tasks = [w.task for w in workers]
        _, late = await asyncio.wait(tasks, timeout=self._revoke_grace)
        for task in late:  # a handler stuck past the grace period: what a crash does
            task.cancel()
        if late:
            await asyncio.wait(late)
        if commit and consumer is not None:
            await self._commit(consumer, workers)

    async def _release_all(self, *, commit: bool) -> None:
        await self._release(self._consumer, set(self._workers), commit=commit)

    # -- handling --------------------------------------------------------------------------

    async def handle(self, record: Record, given_up: asyncio.Event) -> None:
        """Handle or dead-letter one record, retrying; raise _GiveUp when told to let go."""
        attempt = 0  # attempts of a non-transient failure (transient ones do not count)
        waits = 0
        while True:
            if given_up.is_set() or self._stopping.is_set():
                raise _GiveUp
            try:
                await self._handler(record)
            except PoisonMessage as exc:
                await self._dead_letter(record, exc, attempt + 1, given_up)
                return
            except self._transient as exc:
                waits += 1
                log.warning(
                    "transient failure, retrying",
                    extra={"error": type(exc).__name__, "topic": record.topic},
                )
            except Exception as exc:
                attempt += 1
                waits += 1
                if attempt >= self._max_attempts:
                    log.error(
                        "handler failed, sending to the dead-letter topic",
                        extra={
                            "error": type(exc).__name__,
                            "topic": record.topic,
                            "partition": record.partition,
                            "offset": record.offset,
                        },
                    )
                    await self._dead_letter(record, exc, attempt, given_up)
                    return
            else:
                CONSUMED.labels(topic=record.topic, outcome="ok").inc()
                return
            await self._pause(waits, given_up)

    async def _pause(self, waits: int, given_up: asyncio.Event) -> None:
        delay = backoff_delay(waits, base=self._backoff, cap=self._max_backoff)
        await wait_any(delay, given_up, self._stopping)
        if given_up.is_set() or self._stopping.is_set():
            raise _GiveUp

    async def _dead_letter(
        self, record: Record, exc: BaseException, attempts: int, given_up: asyncio.Event
    ) -> None:
        headers = [
            *(record.headers or ()),
            (H_ERROR_TYPE, type(exc.__cause__ or exc).__name__.encode()),
            (H_ERROR_MESSAGE, describe_error(exc).encode()),
            (H_TOPIC, record.topic.encode()),
            (H_PARTITION, str(record.partition).encode()),
            (H_OFFSET, str(record.offset).encode()),
            (H_GROUP, self._group.encode()),
            (H_ATTEMPTS, str(attempts).encode()),
            (H_FAILED_AT, datetime.now(UTC).isoformat().encode()),
        ]
        waits = 0
        while True:
            dlq = self._dlq
            try:
                if dlq is None:
                    raise KafkaError("not connected")
                await dlq.send_and_wait(
                    self.dead_letters, value=record.value, key=record.key, headers=headers
                )
            except KafkaError as dlq_exc:
                waits += 1
                log.warning(
                    "dead-letter topic unavailable, will retry",
                    extra={"error": type(dlq_exc).__name__},
                )
                await self._pause(waits, given_up)
                continue
            CONSUMED.labels(topic=record.topic, outcome="dlq").inc()
            return

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopping; True if the runner is stopping."""
        return await wait_event(self._stopping, seconds)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Start a worker per assigned partition; release revoked ones without waiting on retries."""

    def __init__(self, runner: ConsumerRunner, consumer: AIOKafkaConsumer) -> None:
        self._runner = runner
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._runner._release(self._consumer, set(revoked), commit=True)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._runner._assign(self._consumer, set(assigned))


def header(record: Any, name: str) -> str | None:
    """One header of a record as text (None when absent)."""
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode(errors="replace")
    return None
