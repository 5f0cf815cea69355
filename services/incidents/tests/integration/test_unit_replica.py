"""Incidents keeps a replica of registry units from the topic, applying each event once."""

from __future__ import annotations

from datetime import date
from typing import Any

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.units import UnitRegistered
from binhyen.contracts.topics import REGISTRY_UNITS
from binhyen.contracts.units import UnitKind
from binhyen.incidents.app import create_app
from binhyen.incidents.settings import Settings
from binhyen.kit.kafka import start_producer
from binhyen.kit.testing import Servers, TestIssuer, eventually, serve


def _hamlet(version: int, name: str) -> CloudEvent:
    return CloudEvent.wrap(
        UnitRegistered(
            unit_id="h1",
            kind=UnitKind.HAMLET,
            level=UnitKind.HAMLET.level,
            name=name,
            parent_id="c1",
            ancestor_ids=["p1", "c1"],
            valid_from=date(2020, 9, 9),
            version=version,
        )
    )


async def _publish(servers: Servers, topic: str, events: list[CloudEvent]) -> None:
    producer = await start_producer(servers.kafka, client_id="test")
    try:
        for event in events:
            await producer.send_and_wait(topic, event.to_json(), key=b"h1")
    finally:
        await producer.stop()


async def test_duplicate_and_stale_events_leave_the_replica_correct(
    incidents_settings: Settings, servers: Servers, issuer: TestIssuer
) -> None:
    v1, v2 = _hamlet(1, "Tân Thành"), _hamlet(2, "Tân Thành mới")
    topic = incidents_settings.topic(REGISTRY_UNITS.name)
    async with serve(create_app(incidents_settings), headers=issuer.headers(("admin", "*"))) as (
        client,
        rt,
    ):
        # v1 delivered twice, then v2, then a late copy of v1 again.
        await _publish(servers, topic, [v1, v1, v2, v1])

        async def replica() -> dict[str, Any] | None:
            doc = await rt.db["units"].find_one({"_id": "h1"})
            return doc if doc and doc["version"] == 2 and len(doc["_applied"]) == 2 else None

        await eventually(replica, what="replica at version 2")
        # The late v1 is the last message; wait until the consumer moved past it.
        await eventually(lambda: _committed_all(rt), what="consumer caught up")
        doc = await rt.db["units"].find_one({"_id": "h1"})
        assert doc is not None
        assert [h["event_id"] for h in doc["history"]] == [v1.id, v2.id]
        response = await client.get("/api/v1/hamlets/h1")
        assert response.status_code == 200
        assert response.json()["name"] == "Tân Thành mới"


async def _committed_all(rt: Any) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient

    settings = rt.settings
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.consumer_group)
    finally:
        await admin.close()
    return sum(int(meta.offset) for meta in offsets.values()) >= 4


async def test_unknown_or_non_hamlet_unit_is_404(
    incidents_settings: Settings, issuer: TestIssuer
) -> None:
    async with serve(create_app(incidents_settings), headers=issuer.headers(("admin", "*"))) as (
        client,
        _,
    ):
        response = await client.get("/api/v1/hamlets/nope")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
