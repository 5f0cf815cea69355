"""After a full Kỳ Nam demo load, the public topic holds no personal data at all."""

from __future__ import annotations

import time
from typing import Any

from pydantic import SecretStr

from binhyen.contracts import parse_event
from binhyen.contracts.events.public import TOPIC as PUBLIC
from binhyen.kit.testing import Servers, eventually, outboxes_empty, read_topic, serve
from binhyen.registry import demo
from binhyen.registry.app import create_app
from binhyen.registry.service import stats
from binhyen.registry.settings import Settings


async def test_public_topic_carries_no_personal_data_after_a_full_demo_load(
    registry_settings: Settings, servers: Servers
) -> None:
    settings = registry_settings.model_copy(
        update={
            "bootstrap_admin_username": "admin",
            "bootstrap_admin_password": SecretStr("mat-khau-quan-tri"),
            "counts_publish_seconds": 0,
        }
    )
    async with serve(create_app(settings)) as (client, rt):
        started = time.monotonic()
        result = await demo.load_demo(
            client,
            admin_username="admin",
            admin_password="mat-khau-quan-tri",
            demo_password="mat-khau-demo-1",
        )
        loaded_in = time.monotonic() - started
        assert result.households == 2 * demo.HOUSEHOLDS_PER_HAMLET
        ctx = rt.context
        assert await stats.publish_counts(ctx, year=demo.YEAR) == 5  # one snapshot per unit
        collections = [rt.db[n] for n in ("units", "households", "people", "organisations")]
        await eventually(lambda: outboxes_empty(*collections), timeout=120, what="all relayed")
        secrets = await _personal_data(rt)
        teams = await rt.db["organisations"].count_documents({"category": "team"})
    print(f"demo loaded in {loaded_in:.1f}s")
    expected = 5 + teams  # units, teams (all bodies publish a team snapshot) and counts
    records = await read_topic(
        servers.kafka, settings.topic(PUBLIC.name), until=lambda r: len(r) >= expected, timeout=60
    )
    types = set()
    for record in records:
        text = record.value.decode()
        leaked = [s for s in secrets if s in text]
        assert leaked == [], f"personal data on the public topic: {len(leaked)} values"
        types.add(parse_event(record.value).type)
    assert types == set(PUBLIC.event_types)


async def _personal_data(rt: Any) -> set[str]:
    """Every name, phone number (both forms), address and household code in the registry."""
    values: set[str] = set()
    async for person in rt.db["people"].find({}):
        values.add(person["full_name"])
        values.add(person["_id"])
        for phone in person.get("phones", []):
            values.update({phone, "0" + phone.removeprefix("+84")})
    async for household in rt.db["households"].find({}):
        values.update({household["address"], household["_id"], household["registration_code"]})
    return {v for v in values if v}
