"""Kafka plumbing: idempotent producer and a health probe (topics: ``binhyen.kit.topics``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.client import AIOKafkaClient

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


class KafkaProbe:
    """Health report: a real metadata request to the brokers (reported, never gating)."""

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


class KafkaHealth:
    """Kafka's health as last seen by a background probe (for ``/readyz``, never gating).

    Probing in the background keeps ``/readyz`` fast whatever state Kafka is in: a probe
    against a broker that does not answer would otherwise hold every readiness check for
    its whole timeout.
    """

    def __init__(self, bootstrap: str, *, interval: float = 5.0) -> None:
        self._probe = KafkaProbe(bootstrap)
        self._interval = interval
        self._state = "unknown (not probed yet)"
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Probe now in the background and every ``interval`` seconds."""
        self._task = asyncio.create_task(self._loop(), name="kafka-health")

    def status(self) -> str:
        """``ok``, or ``unavailable (<error>)``, or ``unknown`` before the first probe."""
        return self._state

    async def _loop(self) -> None:
        while True:
            try:
                await self._probe.check()
                self._state = "ok"
            except Exception as exc:
                self._state = f"unavailable ({type(exc).__name__})"
                await self._probe.close()  # reconnect from scratch next time
            await asyncio.sleep(self._interval)

    async def close(self) -> None:
        """Stop probing and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._probe.close()
