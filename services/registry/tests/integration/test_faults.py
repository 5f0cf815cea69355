"""Dependencies down: the registry answers honestly and loses nothing."""

from __future__ import annotations

import time

from binhyen.contracts import parse_event
from binhyen.contracts.topics import DEPLOYED_TOPICS, REGISTRY_UNITS
from binhyen.kit.outbox import OUTBOX
from binhyen.kit.problems import DB_DOWN_READ, DB_DOWN_WRITE
from binhyen.kit.testing import Servers, eventually, outbox_drained, read_topic, serve
from binhyen.kit.topics import create_topics, entries_of
from binhyen.registry.app import create_app
from binhyen.registry.settings import Settings

PROVINCE = {"kind": "province", "name": "Hà Tĩnh"}


async def test_kafka_down_post_still_succeeds_and_event_arrives_once_when_it_is_back(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    with servers.disposable("kafka") as kafka:
        settings = registry_settings.model_copy(update={"kafka_bootstrap": kafka.address})
        await create_topics(
            kafka.address, entries_of(DEPLOYED_TOPICS), prefix=settings.topic_prefix
        )
        async with serve(create_app(settings), headers=admin) as (client, rt):
            kafka.stop()
            response = await client.post("/api/v1/units", json=PROVINCE)
            assert response.status_code == 201, response.text
            unit_id = response.json()["id"]
            doc = await rt.db["units"].find_one({"_id": unit_id})
            # The unit event and its public snapshot, held while Kafka is away.
            assert doc is not None and len(doc[OUTBOX]) == 2
            kafka.start()
            await eventually(
                lambda: outbox_drained(rt.db["units"], unit_id), timeout=90, what="relay caught up"
            )
        records = await read_topic(kafka.address, settings.topic(REGISTRY_UNITS.name))
        assert [parse_event(r.value).subject for r in records] == [unit_id]


async def test_starts_is_ready_and_accepts_writes_with_kafka_down_then_catches_up(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    with servers.disposable("kafka") as kafka:
        settings = registry_settings.model_copy(update={"kafka_bootstrap": kafka.address})
        await create_topics(
            kafka.address, entries_of(DEPLOYED_TOPICS), prefix=settings.topic_prefix
        )
        kafka.stop()  # before the service starts
        async with serve(create_app(settings), headers=admin) as (client, rt):
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["mongodb"] == "ok"
            assert ready.json()["checks"]["kafka"] != "ok"  # reported, not gating
            response = await client.post("/api/v1/units", json=PROVINCE)
            assert response.status_code == 201, response.text
            unit_id = response.json()["id"]
            assert (await client.get(f"/api/v1/units/{unit_id}")).status_code == 200
            kafka.start()
            await eventually(
                lambda: outbox_drained(rt.db["units"], unit_id), timeout=90, what="relay caught up"
            )
        records = await read_topic(kafka.address, settings.topic(REGISTRY_UNITS.name))
        assert [parse_event(r.value).subject for r in records] == [unit_id]


async def test_mongodb_down_gives_503_with_retry_after_within_5_seconds(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    with servers.disposable("ferretdb") as ferretdb:
        settings = registry_settings.model_copy(update={"mongodb_uri": ferretdb.address})
        async with serve(create_app(settings), headers=admin) as (client, _):
            assert (await client.post("/api/v1/units", json=PROVINCE)).status_code == 201
            ferretdb.stop()
            started = time.monotonic()
            response = await client.post("/api/v1/units", json=PROVINCE)
            elapsed = time.monotonic() - started
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"] == "5"
            assert elapsed < 5
            # It does not promise what it cannot know: the write may have been made.
            assert response.json()["detail"] == DB_DOWN_WRITE
            read = await client.get("/api/v1/units")
            assert read.status_code == 503 and read.json()["detail"] == DB_DOWN_READ
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["mongodb"].startswith("unavailable")
            ferretdb.start()
