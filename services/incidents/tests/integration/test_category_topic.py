"""The category catalogue goes out on its public topic: once each, then every revision, in order.

Incidents carry a category's code; subscribers (reporting, other agencies) learn the names
from ``binhyen.incidents.categories.v1``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from binhyen.contracts.topics import INCIDENTS_CATEGORIES
from binhyen.incidents.app import create_app
from binhyen.incidents.domain.categories import DEFAULT_CATALOGUE
from binhyen.incidents.sample_world import World
from binhyen.incidents.settings import Settings
from binhyen.incidents.store.categories import CategoryStore
from binhyen.kit.testing import eventually, outboxes_empty, read_topic, serve
from binhyen.kit.testing.settings import MakeSettings

NOISE = {
    "code": "karaoke_noise",
    "name_vi": "Hát karaoke gây ồn ào",
    "name_en": "Karaoke noise",
    "group": "other",
    "default_severity": "low",
}


async def _catalogue(settings: Settings, count: int) -> list[dict[str, Any]]:
    records = await read_topic(
        settings.kafka_bootstrap,
        settings.topic(INCIDENTS_CATEGORIES.name),
        until=lambda rs: len(rs) >= count,
    )
    return [json.loads(r.value) for r in records if r.value is not None]


async def test_the_catalogue_is_announced_once_and_each_revision_follows_in_order(
    world: World, incidents_settings: Settings
) -> None:
    defaults = {c.code for c in DEFAULT_CATALOGUE}
    first = await _catalogue(incidents_settings, len(defaults))
    assert sorted(e["data"]["code"] for e in first) == sorted(defaults)  # each once
    theft = next(e for e in first if e["data"]["code"] == "theft")
    assert theft["subject"] == "theft" and theft["sequence"] == f"{1:020d}"
    assert theft["data"] | {"sequence": None} == {
        "code": "theft",
        "name_vi": "Trộm cắp tài sản",
        "name_en": "Theft",
        "group": "crime",
        "ba_khong": False,
        "default_severity": "medium",
        "active": True,
        "version": 1,
        "sequence": None,
    }

    officer = world.as_("commune_officer", "*")
    current = (await world.client.get("/api/v1/categories/theft")).json()
    revised = {k: v for k, v in current.items() if k not in ("code", "version")}
    renamed = await world.client.put(
        "/api/v1/categories/theft",
        json=revised | {"name_vi": "Trộm cắp, móc túi"},
        headers=officer | {"If-Match": '"1"'},
    )
    assert renamed.status_code == 200, renamed.text
    retired = await world.client.put(
        "/api/v1/categories/theft",
        json=revised | {"name_vi": "Trộm cắp, móc túi", "active": False},
        headers=officer | {"If-Match": '"2"'},
    )
    assert retired.status_code == 200, retired.text
    added = await world.client.post("/api/v1/categories", json=NOISE, headers=officer)
    assert added.status_code == 201, added.text

    every = await _catalogue(incidents_settings, len(defaults) + 3)
    thefts = [e["data"] for e in every if e["data"]["code"] == "theft"]
    assert [(t["version"], t["sequence"], t["name_vi"], t["active"]) for t in thefts] == [
        (1, 1, "Trộm cắp tài sản", True),
        (2, 2, "Trộm cắp, móc túi", True),
        (3, 3, "Trộm cắp, móc túi", False),
    ]
    noise = [e["data"] for e in every if e["data"]["code"] == "karaoke_noise"]
    assert [(n["name_vi"], n["version"], n["group"]) for n in noise] == [
        ("Hát karaoke gây ồn ào", 1, "other")
    ]


async def test_a_restart_announces_nothing_again_but_a_category_never_announced_goes_out(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings(Settings, database_suffix="_inc")
    defaults = len(DEFAULT_CATALOGUE)
    fire = next(c for c in DEFAULT_CATALOGUE if c.code == "fire")
    async with serve(create_app(settings)) as (_, rt):
        await eventually(lambda: outboxes_empty(rt.db["categories"]), what="catalogue relayed")
        # As an older version of the service stored it, with no catalogue topic: no event.
        assert await CategoryStore(rt.db).insert(replace(fire, code="flood", name_vi="Lũ lụt"))
    async with serve(create_app(settings)) as (client, rt):
        await eventually(lambda: outboxes_empty(rt.db["categories"]), what="catalogue relayed")
        assert (await client.get("/api/v1/categories/flood")).status_code == 200

    every = await _catalogue(settings, defaults + 1)
    assert len(every) == defaults + 1  # the defaults once, whatever the restarts
    assert [e["data"]["name_vi"] for e in every if e["data"]["code"] == "flood"] == ["Lũ lụt"]
