"""Rebuild the read model from offset 0 into a new generation, without downtime.

``python -m binhyen.reporting rebuild``:

1. reserves the next generation (one rebuild at a time; ``--force`` takes over one that died);
2. reads every consumed topic from offset 0 with a consumer of its own (the partitions
   assigned by hand, the generation's consumer group used only to keep offsets), folds each
   batch into one write per document and stores the offsets it reached beside the data (in
   the generation's record and as the group's committed offsets) after each batch;
3. switches the pointer once it is at most ``rebuild_switch_lag`` events from the end of
   every partition and nowhere behind the live generation's group. The replicas' followers
   see the new pointer within ``generation_check_seconds`` and consume on with the new
   generation's group from the offsets the rebuild committed.

Reads use the current generation throughout: they answer during the rebuild, from the old
figures, and from the new ones after the switch. The previous generation is kept (one step
back is possible by hand); older ones are dropped.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from binhyen.contracts import CloudEvent, parse_event
from binhyen.kit.kafka import KafkaAccess, client_kwargs
from binhyen.kit.mongo import create_mongo_client
from binhyen.reporting import projections
from binhyen.reporting.consumers import CONSUMED
from binhyen.reporting.settings import Settings
from binhyen.reporting.store import LOOKUP_IDS, Generations, ReadModel, Stores

Document = dict[str, Any]


def _key(tp: TopicPartition) -> str:
    return f"{tp.topic}:{tp.partition}"


async def progress(generations: Generations) -> Document:
    """The current generation and, while a rebuild runs, how far it got."""
    pointer = await generations.pointer()
    current = await generations.record(int(pointer["current"]))
    answer: Document = {
        "current": int(pointer["current"]),
        "previous": pointer.get("previous"),
        "current_switched_at": current.switched_at if current else None,
        "building": None,
    }
    building = pointer.get("building")
    if building is not None:
        record = await generations.record(int(building))
        if record is not None:
            reached = sum(record.offsets.values())
            end = sum(record.end_offsets.values())
            answer["building"] = {
                "generation": record.number,
                "started_at": record.started_at,
                "events": record.events,
                "offsets_reached": reached,
                "end_offsets": end,
                "percent": round(100 * reached / end, 1) if end else 0.0,
            }
    return answer


class Bar:
    """A progress line on the terminal (a line every few seconds when not a terminal)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.started = time.monotonic()
        self.shown = 0.0

    def show(self, done: int, total: int, events: int, *, final: bool = False) -> None:
        """Draw the bar: offsets reached of the end offsets, events applied, rate."""
        now = time.monotonic()
        if not final and now - self.shown < (0.2 if self.tty else 5.0):
            return
        self.shown = now
        share = done / total if total else 1.0
        width = 30
        filled = int(width * min(share, 1.0))
        rate = events / max(now - self.started, 1e-6)
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {100 * share:5.1f}% "
            f"{done:,}/{total:,} offsets, {events:,} events, {rate:,.0f}/s"
        )
        end = "\n" if final or not self.tty else ""
        print(("\r" if self.tty else "") + line, end=end, file=self.out, flush=True)


async def _partitions(consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    metadata = await consumer._client.fetch_all_metadata()
    found: list[TopicPartition] = []
    for topic in topics:
        parts = metadata.partitions_for_topic(topic)
        if not parts:  # a missing topic is a deployment error, not an empty history
            raise RuntimeError(f"topic {topic} does not exist: run the topics deploy step")
        found.extend(TopicPartition(topic, p) for p in sorted(parts))
    return found


async def _live_offsets(admin: AIOKafkaAdminClient, group: str) -> dict[str, int]:
    committed = await admin.list_consumer_group_offsets(group)
    return {_key(tp): meta.offset for tp, meta in committed.items() if meta.offset >= 0}


async def run(settings: Settings, *, force: bool = False, out: TextIO = sys.stderr) -> int:
    """Rebuild into a new generation and switch to it; 0 when switched, 2 when refused."""
    client = create_mongo_client(
        settings.mongodb_uri,
        timeout_ms=settings.mongodb_timeout_ms,
        max_pool_size=settings.mongodb_max_pool_size,
    )
    stores = Stores.of(client[settings.mongodb_database], group_prefix=settings.consumer_group)
    generations = stores.generations
    try:
        number = await generations.start_building(force=force)
        if number is None:
            pointer = await generations.pointer()
            print(
                f"a rebuild of generation {pointer['building']} is running; use --force if it died",
                file=out,
            )
            return 2
        live_group = generations.group(await generations.current())
        model = generations.model(number)
        await model.create_indexes()
        print(f"rebuilding into generation {number}", file=out, flush=True)
        switched = await _replay(settings, generations, number, live_group, out)
        print(f"generation {number} is current" if switched else "not switched", file=out)
        return 0 if switched else 1
    finally:
        await client.close()


async def _replay(
    settings: Settings, generations: Generations, number: int, live_group: str, out: TextIO
) -> bool:
    access = KafkaAccess.of(settings)
    consumer = AIOKafkaConsumer(
        group_id=generations.group(number),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id=f"reporting-rebuild-g{number}",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        **client_kwargs(access),
    )
    admin = AIOKafkaAdminClient(
        client_id=f"reporting-rebuild-admin-g{number}", **client_kwargs(access)
    )
    await consumer.start()
    await admin.start()
    model = generations.model(number)
    bar = Bar(out)
    count = _Count()
    try:
        partitions = await _partitions(consumer, [settings.topic(t.name) for t in CONSUMED])
        end: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        reached = dict(await consumer.beginning_offsets(partitions))

        async def progress() -> None:
            await generations.record_progress(
                number,
                offsets={_key(tp): pos for tp, pos in reached.items()},
                end_offsets={_key(tp): off for tp, off in end.items()},
                events=count.events,
            )
            bar.show(sum(min(reached[tp], end[tp]) for tp in partitions), sum(end.values()),
                     count.events)  # fmt: skip

        # 1. Partition by partition, up to the end it had when the rebuild started, folding up to
        # ``rebuild_fold_documents`` documents in memory before writing: an aggregate's events
        # all sit in one partition, so most documents are written once, by an insert.
        for tp in partitions:
            if reached[tp] >= end[tp]:
                continue
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            pending: dict[tuple[str, str], projections.Change] = {}
            while reached[tp] < end[tp]:
                batch = await consumer.getmany(
                    tp, timeout_ms=1000, max_records=settings.rebuild_batch
                )
                count.fold(pending, batch.get(tp, []))
                position = await consumer.position(tp)
                if len(pending) >= settings.rebuild_fold_documents or position >= end[tp]:
                    await _flush(model, pending)
                    reached[tp] = position
                    await consumer.commit({tp: position})
                    await progress()
        # 2. What came in meanwhile, every partition at once, until caught up with the end and
        # with the live generation; then switch.
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, reached[tp])
        checked = time.monotonic()
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=settings.rebuild_batch)
            pending = {}
            for records in batches.values():
                count.fold(pending, records)
            await _flush(model, pending)
            for tp in batches:
                reached[tp] = await consumer.position(tp)
            if batches:
                await consumer.commit({tp: reached[tp] for tp in batches})
            if time.monotonic() - checked > 2 or not batches:
                end = await consumer.end_offsets(partitions)
                checked = time.monotonic()
            await progress()
            lag = sum(max(0, end[tp] - reached[tp]) for tp in partitions)
            if lag > settings.rebuild_switch_lag:
                continue
            live = await _live_offsets(admin, live_group)
            offsets = {_key(tp): pos for tp, pos in reached.items()}
            if any(offsets.get(k, 0) < v for k, v in live.items()):
                continue  # the live generation is ahead somewhere: go on reading
            await consumer.commit(reached)
            bar.show(sum(min(reached[tp], end[tp]) for tp in partitions), sum(end.values()),
                     count.events, final=True)  # fmt: skip
            if count.skipped:
                print(f"{count.skipped} events skipped: their data does not validate", file=out)
            return await generations.switch(number)
    finally:
        await consumer.stop()
        await admin.close()


FLUSH_CHUNK = LOOKUP_IDS  # documents per look-up (an indexed $in) and write


class _Count:
    """Events read and skipped, and the folding of records into pending changes."""

    def __init__(self) -> None:
        self.events = 0
        self.skipped = 0
        self.wanted = {t for spec in CONSUMED for t in spec.event_types}

    def fold(self, pending: dict[tuple[str, str], projections.Change], records: Any) -> None:
        """Parse records and fold their changes into ``pending`` (one change per document)."""
        parsed: list[CloudEvent] = []
        for record in records:
            if record.value is None:
                continue  # a tombstone of a compacted topic
            try:
                event = parse_event(record.value)
            except ValidationError:
                self.skipped += 1  # the live consumer dead-letters these; a rebuild skips them
                continue
            self.events += 1
            if event.type in self.wanted:
                parsed.append(event)
        changes, invalid = projections.fold(parsed)
        self.skipped += invalid
        for change in changes:
            key = (change.collection, change.doc_id)
            if key in pending:
                pending[key].fold(change)
            else:
                pending[key] = change


async def _flush(model: ReadModel, pending: dict[tuple[str, str], projections.Change]) -> None:
    changes = list(pending.values())
    pending.clear()
    for start in range(0, len(changes), FLUSH_CHUNK):
        await model.apply(changes[start : start + FLUSH_CHUNK])
