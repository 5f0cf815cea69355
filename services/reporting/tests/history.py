"""Test helpers: a generated history published to a reporting deployment of its own.

Loaded by the tests with ``load_helper("history.py")`` (tests/ is not a package).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from binhyen.contracts.topics import DEPLOYED_TOPICS
from binhyen.kit.kafka import KafkaAccess, start_producer
from binhyen.kit.runtime import Runtime
from binhyen.kit.testing import serve
from binhyen.kit.testing.kafka import consumer_lag
from binhyen.kit.testing.servers import Servers
from binhyen.kit.testing.waiting import eventually
from binhyen.kit.topics import create_topics, entries_of
from binhyen.reporting.app import create_app
from binhyen.reporting.consumers import CONSUMED
from binhyen.reporting.sample_history import COMMUNE, History, Published
from binhyen.reporting.settings import Settings

PERIODS = ("EY2026", "EY2025", "2026-Q1", "2025-03", "2025-11-15..2026-02-10")


def small_history() -> list[Published]:
    """Four hamlets and a merged one over two evaluation years (about 1,100 events)."""
    return History(seed=11, hamlets=4, households_per_hamlet=12).generate().events


async def publish(settings: Settings, events: list[Published]) -> None:
    """Send the events, each to its topic with its key, in the order given."""
    producer = await start_producer(KafkaAccess.of(settings), client_id="test-history")
    try:
        for p in events:
            await producer.send(settings.topic(p.topic), p.event.to_json(), key=p.key.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def caught_up(settings: Settings, generation: int = 1) -> None:
    """Wait until generation's consumer group has committed every consumed record."""
    group = f"{settings.consumer_group}.g{generation}"
    topics = [settings.topic(t.name) for t in CONSUMED]

    async def lag() -> bool:
        return await consumer_lag(KafkaAccess.of(settings), group, topics) == 0

    await eventually(lag, timeout=90, interval=0.3, what=f"{group} caught up")


async def figures(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """The commune's statistics for several periods, and a group filter."""
    found: dict[str, Any] = {}
    for period in PERIODS:
        answer = await client.get(
            "/api/v1/statistics", params={"unit_id": COMMUNE, "period": period}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        found[period] = answer.json()["figures"]
    disputes = await client.get(
        "/api/v1/statistics",
        params={"unit_id": COMMUNE, "period": "EY2026", "group": "dispute"},
        headers=headers,
    )
    assert disputes.status_code == 200, disputes.text
    found["disputes"] = disputes.json()["figures"]
    return found


@asynccontextmanager
async def deployment(
    settings: Settings, servers: Servers, name: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings, Runtime]]:
    """Reporting on topics and a database of its own (``name`` makes them distinct)."""
    prefix = f"{settings.topic_prefix}{name}."
    await create_topics(servers.kafka, entries_of(DEPLOYED_TOPICS), prefix=prefix)
    own = settings.model_copy(
        update={
            "topic_prefix": prefix,
            "mongodb_database": f"{settings.mongodb_database}_{name}",
            "consumer_group": f"{settings.consumer_group}-{name}",
        }
    )
    async with serve(create_app(own)) as (client, rt):
        yield client, own, rt
