"""Consumer scaling: throughput of one group member against the number of partitions.

A handler that waits 50 ms per message (a call to elsewhere: an SMS gateway, a slow
database) makes a consumer that handles one message at a time crawl at 20/s whatever
the topic. The kit's ConsumerRunner gives each assigned partition its own worker, so
throughput should grow with partitions while order within each partition holds.

    uv run --frozen python bench/consumer_scaling/run.py [--messages 600] [--wait-ms 50]

Starts a private local Kafka (deploy/local), or uses $BINHYEN_TEST_KAFKA.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

from aiokafka.structs import ConsumerRecord

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from binhyen.kit.consumer import ConsumerRunner  # noqa: E402
from binhyen.kit.kafka import start_producer  # noqa: E402
from binhyen.kit.testing.servers import load_localservers  # noqa: E402
from binhyen.kit.topics import TopicEntry, create_topics  # noqa: E402

PARTITIONS = (1, 3, 6, 12)


async def one_run(
    bootstrap: str, partitions: int, messages: int, wait: float
) -> tuple[float, float, int]:
    """Messages per second for a topic of ``partitions``, the best possible rate (the busiest
    partition's messages one after the other), and the order violations seen."""
    run = uuid.uuid4().hex[:8]
    topic, dlq = f"bench.scaling.{run}.p{partitions}", f"bench.scaling.{run}.dlq"
    await create_topics(bootstrap, [TopicEntry(topic, partitions), TopicEntry(dlq, 1)])
    producer = await start_producer(bootstrap, client_id="bench")
    keys = [f"k{i}".encode() for i in range(partitions * 4)]
    try:
        sends = [
            await producer.send(topic, str(i).encode(), key=keys[i % len(keys)])
            for i in range(messages)
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    last: dict[bytes, int] = {}
    per_partition: dict[int, int] = {}
    violations = 0
    done = asyncio.Event()
    handled = 0
    first_at: float | None = None

    async def handler(record: ConsumerRecord[bytes, bytes]) -> None:
        nonlocal handled, violations, first_at
        if first_at is None:
            first_at = time.perf_counter()
        await asyncio.sleep(wait)
        number = int(record.value or b"0")
        key = record.key or b""
        violations += last.get(key, -1) > number
        last[key] = number
        per_partition[record.partition] = per_partition.get(record.partition, 0) + 1
        handled += 1
        if handled >= messages:
            done.set()

    runner = ConsumerRunner(
        bootstrap=bootstrap,
        group_id=f"bench-{run}",
        topics=[topic],
        handler=handler,
        client_id="bench",
        dead_letters=dlq,
    )
    await runner.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=600)
    finally:
        await runner.stop()
    assert first_at is not None
    best = messages / (max(per_partition.values()) * wait)
    return messages / (time.perf_counter() - first_at), best, violations


async def main_async(messages: int, wait_ms: float) -> None:
    bootstrap = os.environ.get("BINHYEN_TEST_KAFKA")
    local = None
    if not bootstrap:
        local = load_localservers(ROOT)
        bootstrap = local.start("kafka", "bench-scaling", port=0).address
    try:
        print(f"{messages} messages, handler waits {wait_ms:.0f} ms, one group member")
        print(
            f"{'partitions':>10}  {'msg/s':>8}  {'speed-up':>8}  {'best possible':>13}  "
            "order violations"
        )
        base: float | None = None
        for partitions in PARTITIONS:
            rate, best, bad = await one_run(bootstrap, partitions, messages, wait_ms / 1000)
            base = base or rate
            print(
                f"{partitions:>10}  {rate:>8.1f}  {rate / base:>7.1f}x  {best:>13.1f}  {bad}",
                flush=True,
            )
    finally:
        if local is not None:
            local.wipe("kafka", "bench-scaling")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--wait-ms", type=float, default=50.0)
    args = parser.parse_args()
    asyncio.run(main_async(args.messages, args.wait_ms))


if __name__ == "__main__":
    main()
