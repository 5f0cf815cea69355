#!/usr/bin/env python3
"""Smoke-check the local servers with the real client libraries (aiokafka, pymongo).

Kafka: create a 12-partition topic and a log-compacted topic with AIOKafkaAdminClient,
produce with ``enable_idempotence=True, acks="all"``, consume with a consumer group and
manual commits, re-join the group and check the committed offsets.  FerretDB: ping,
insert, find, index, delete.

    python deploy/local/smoke.py [kafka|ferretdb|all] [--instance NAME]

Starts the instance if needed (idempotent) and leaves it running.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType

N_MESSAGES = 240
PARTITIONS = 12


def _log(msg: str) -> None:
    print(f"[smoke] {msg}", file=sys.stderr, flush=True)


async def kafka_smoke(bootstrap: str) -> None:
    """Round-trip through the broker with aiokafka; raise AssertionError on any mismatch."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    suffix = uuid.uuid4().hex[:8]
    topic, compacted, group = f"smoke-{suffix}", f"smoke-compacted-{suffix}", f"smoke-g-{suffix}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        _log(f"cluster: {cluster}")
        await admin.create_topics(
            [
                NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1),
                NewTopic(
                    compacted,
                    num_partitions=1,
                    replication_factor=1,
                    topic_configs={"cleanup.policy": "compact"},
                ),
            ]
        )
        topics = await admin.list_topics()
        assert topic in topics, topics
        assert compacted in topics, topics
        described = await admin.describe_topics([topic])
        assert len(described[0]["partitions"]) == PARTITIONS, described
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, compacted)]
        )
        entries = {e[0]: e[1] for e in configs[0].resources[0][4]}
        assert entries["cleanup.policy"] == "compact", entries
        _log(f"created {topic} ({PARTITIONS} partitions) and {compacted} (cleanup.policy=compact)")

        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, enable_idempotence=True, acks="all"
        )
        await producer.start()
        try:
            t0 = time.monotonic()
            futures = [
                await producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
                for i in range(N_MESSAGES)
            ]
            metas = await asyncio.gather(*futures)
            used = {m.partition for m in metas}
            _log(
                f"produced {N_MESSAGES} idempotent acks=all messages to {len(used)} partitions "
                f"in {time.monotonic() - t0:.2f}s"
            )
            for value in (b"first", b"second"):
                await producer.send_and_wait(compacted, key=b"same-key", value=value)
            await producer.send_and_wait(compacted, key=b"gone", value=b"x")
            await producer.send_and_wait(compacted, key=b"gone", value=None)  # tombstone
        finally:
            await producer.stop()

        seen = await _consume(bootstrap, topic, group, N_MESSAGES, commit=True)
        assert seen == {f"v{i}" for i in range(N_MESSAGES)}, len(seen)
        _log(f"consumed {len(seen)} messages in group {group} and committed manually")

        check = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await check.start()
        try:
            parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
            ends = await check.end_offsets(parts)
            committed = {tp: await check.committed(tp) for tp in parts}
            assert all((committed[tp] or 0) == ends[tp] for tp in parts), (committed, ends)
        finally:
            await check.stop()
        _log("committed offsets equal end offsets on all 12 partitions")

        again = await _consume(bootstrap, topic, group, 0, commit=False, idle=1.5)
        assert not again, f"re-joined group got {len(again)} already-committed messages"
        compacted_values = await _consume(bootstrap, compacted, f"{group}-c", 4, commit=False)
        assert "second" in compacted_values, compacted_values
        _log("re-joined group sees nothing new; compacted topic readable")

        await admin.delete_topics([topic, compacted])
    finally:
        await admin.close()


async def _consume(
    bootstrap: str, topic: str, group: str, expected: int, *, commit: bool, idle: float = 10.0
) -> set[str]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen: set[str] = set()
    count = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=int(idle * 1000))
            if not batch and (count >= expected):
                break
            for records in batch.values():
                for record in records:
                    count += 1
                    seen.add("" if record.value is None else record.value.decode())
            if batch and commit:
                await consumer.commit()
            if expected and count >= expected:
                break
    finally:
        await consumer.stop()
    return seen


def ferretdb_smoke(uri: str) -> None:
    """Insert/find/index/delete through FerretDB with pymongo."""
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        assert client.admin.command("ping")["ok"]
        coll = client["smoke"][f"c{uuid.uuid4().hex[:8]}"]
        coll.create_index("name", unique=True)
        coll.insert_many([{"name": f"n{i}", "i": i} for i in range(50)])
        assert coll.count_documents({"i": {"$gte": 25}}) == 25
        doc = coll.find_one({"name": "n7"})
        assert doc is not None
        assert doc["i"] == 7
        coll.update_one({"name": "n7"}, {"$set": {"i": 70}})
        assert coll.find_one({"name": "n7"}, {"_id": 0}) == {"name": "n7", "i": 70}
        coll.drop()
        _log(f"FerretDB round-trip ok ({client.server_info().get('version')})")
    finally:
        client.close()


def _load_localservers() -> ModuleType:
    """Import localservers.py from beside this file (deploy/local is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "localservers", Path(__file__).resolve().with_name("localservers.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["localservers"] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    """Run the smoke checks."""
    localservers = _load_localservers()
    parser = argparse.ArgumentParser(prog="smoke.py")
    parser.add_argument("kind", nargs="?", default="all", choices=("kafka", "ferretdb", "all"))
    parser.add_argument("--instance", default="default")
    args = parser.parse_args()
    port = None if args.instance == "default" else 0  # named instances: free/recorded ports
    if args.kind in ("kafka", "all"):
        server = localservers.start("kafka", args.instance, port)
        asyncio.run(kafka_smoke(server.address))
        _log(f"Kafka {localservers.KAFKA_VERSION} + aiokafka OK at {server.address}")
    if args.kind in ("ferretdb", "all"):
        server = localservers.start("ferretdb", args.instance, port)
        ferretdb_smoke(server.address)
    return 0


if __name__ == "__main__":
    sys.exit(main())
