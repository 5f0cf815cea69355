"""Kafka plumbing: idempotent producer, topic creation from the catalogue, readiness probe."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient

from binhyen.contracts import TopicSpec

log = logging.getLogger(__name__)


def new_producer(bootstrap: str, *, client_id: str) -> AIOKafkaProducer:
    """An idempotent producer that waits for all in-sync replicas (acks=all)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=15_000,
        retry_backoff_ms=200,
    )


async def start_producer(bootstrap: str, *, client_id: str) -> AIOKafkaProducer:
    """Create and start a producer; raise if Kafka cannot be reached."""
    producer = new_producer(bootstrap, client_id=client_id)
    try:
        await producer.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await producer.stop()
        raise
    return producer


async def ensure_topics(bootstrap: str, specs: Iterable[TopicSpec], *, prefix: str = "") -> None:
    """Create each catalogue topic and its DLQ if missing (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted: list[NewTopic] = []
        for spec in specs:
            for name, configs in ((spec.name, spec.configs()), (spec.dlq, spec.dlq_configs())):
                full = prefix + name
                if full not in existing:
                    wanted.append(NewTopic(full, spec.partitions, 1, topic_configs=configs))
        if wanted:
            response = await admin.create_topics(wanted)
            for name, code, *_ in response.topic_errors:
                if code not in (0, 36):  # 36: TOPIC_ALREADY_EXISTS (another replica won)
                    raise RuntimeError(f"could not create topic {name}: error code {code}")
            await _wait_for_topics(admin, [t.name for t in wanted])
    finally:
        await admin.close()


async def _wait_for_topics(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    async with asyncio.timeout(30):
        while not set(names) <= set(await admin.list_topics()):
            await asyncio.sleep(0.1)


class KafkaProbe:
    """Readiness check: a real metadata request to the brokers."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._client: AIOKafkaClient | None = None

    async def check(self, timeout: float = 3.0) -> None:
        """Raise unless the cluster answers a metadata request within ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            if self._client is None:
                client = AIOKafkaClient(bootstrap_servers=self._bootstrap, request_timeout_ms=3000)
                try:
                    await client.bootstrap()
                except BaseException:
                    await client.close()
                    raise
                self._client = client
            metadata = await self._client.fetch_all_metadata()
            if not metadata.brokers():
                raise ConnectionError("Kafka answered with no brokers")

    async def close(self) -> None:
        """Close the probe's connection."""
        if self._client is not None:
            await self._client.close()
            self._client = None
