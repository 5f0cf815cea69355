"""Hotspots: suggested once per version on the topic — never again after another sweep or a
rebuild of the read model — listed under their unit and counted in the statistics."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from binhyen.contracts.topics import REPORTING_HOTSPOTS
from binhyen.kit.kafka import KafkaAccess
from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.kafka import read_topic
from binhyen.kit.testing.servers import Servers
from binhyen.kit.testing.waiting import eventually, outboxes_empty
from binhyen.reporting.domain.rules import dump_ruleset
from binhyen.reporting.rulesets import shipped_ruleset
from binhyen.reporting.sample_history import COMMUNE, MERGED_HAMLET, PROVINCE, TOWN
from binhyen.reporting.service import hotspots, rebuild
from binhyen.reporting.settings import Settings
from binhyen.reporting.store.hotspots import HOTSPOTS

# Domestic violence never occurs in the generated history: these are the only ones.
CATEGORY = "domestic_violence"
QUY_HUE, TAN_THANH = "h-002", "h-001"  # the second and first hamlets of the history


def day(month: int, d: int, year: int = 2026) -> datetime:
    """9 in the morning, local time."""
    return datetime(year, month, d, 2, tzinfo=UTC)


async def suggestions(settings: Settings, *, until: Any = bool) -> list[dict[str, Any]]:
    """The hotspot events on the topic (the data of each, with its CloudEvents sequence)."""
    records = await read_topic(
        KafkaAccess.of(settings),
        settings.topic(REPORTING_HOTSPOTS.name),
        until=lambda recs: until([json.loads(r.value) for r in recs if r.value]),
        timeout=60,
    )
    events = [json.loads(r.value) for r in records if r.value]
    return [{**e["data"], "_sequence": e["sequence"]} for e in events]


def versions(events: list[dict[str, Any]], hotspot_id: str) -> list[int]:
    """The versions of one hotspot on the topic, in order."""
    return [e["version"] for e in events if e["hotspot_id"] == hotspot_id]


async def test_a_hotspot_is_suggested_once_per_version_never_again_after_a_sweep_or_a_rebuild(
    reporting_settings: Settings, servers: Servers, issuer: TestIssuer, history: ModuleType
) -> None:
    # Only the live consumer's wake sweeps: the periodic sweep is an hour away.
    quiet = reporting_settings.model_copy(
        update={"hotspot_sweep_seconds": 3600.0, "hotspot_wake_delay_seconds": 0.2}
    )
    cluster = [
        history.reported(f"dv-q{n}", QUY_HUE, day(3, 10 + 4 * n), category=CATEGORY)
        for n in range(3)
    ]
    # Two in Đông Lộc before it was merged into Tân Thành, one in Tân Thành: a hotspot of
    # Tân Thành once the merge counts Đông Lộc's history under it.
    merged = [
        history.reported("dv-m0", MERGED_HAMLET, day(6, 1, 2025), category=CATEGORY),
        history.reported("dv-m1", MERGED_HAMLET, day(6, 5, 2025), category=CATEGORY),
        history.reported("dv-m2", TAN_THANH, day(6, 9, 2025), category=CATEGORY),
    ]
    quy_hue_id = f"{QUY_HUE}:{CATEGORY}:dv-q2"
    tan_thanh_id = f"{TAN_THANH}:{CATEGORY}:dv-m2"
    officer = issuer.headers(("commune_officer", COMMUNE))
    async with history.deployment(quiet, servers, "hotspots") as (client, settings, rt):
        collection = rt.context.stores.db[HOTSPOTS]
        # The catalogue is announced before any incident (at the incidents service's start):
        # its current name, then a stale version arriving late, which changes nothing.
        await history.publish(
            settings,
            [
                history.category(CATEGORY, "Bạo lực gia đình", "Domestic violence", version=2),
                history.category(CATEGORY, "Bạo lực (tên cũ)", "Old name", version=1),
            ],
        )
        await history.caught_up(settings)
        await history.publish(settings, history.small_history() + cluster + merged)
        await history.caught_up(settings)

        def both_seen(events: list[dict[str, Any]]) -> bool:
            ids = {e["data"]["hotspot_id"] for e in events}
            return {quy_hue_id, tan_thanh_id} <= ids

        first = await suggestions(settings, until=both_seen)
        assert versions(first, quy_hue_id) == [1]
        assert versions(first, tan_thanh_id) == [1]
        event = next(e for e in first if e["hotspot_id"] == quy_hue_id)
        assert event["incident_ids"] == ["dv-q0", "dv-q1", "dv-q2"]
        assert event["count"] == 3 and event["group"] == "crime"
        assert (event["window_days"], event["min_incidents"]) == (30, 3)
        assert event["unit_path"] == [PROVINCE, TOWN, COMMUNE, QUY_HUE]
        assert event["suggestion"]["vi"] == (
            "Lập kế hoạch phòng ngừa: 3 vụ bạo lực gia đình tại thôn Quý Huệ trong 30 ngày"
        )
        assert int(event["_sequence"]) == 1
        merged_event = next(e for e in first if e["hotspot_id"] == tan_thanh_id)
        assert merged_event["incident_ids"] == ["dv-m0", "dv-m1", "dv-m2"]
        assert merged_event["hamlet_id"] == TAN_THANH

        # A fourth within the window: version 2, and nothing else new.
        await history.publish(
            settings, [history.reported("dv-q3", QUY_HUE, day(3, 25), category=CATEGORY)]
        )
        await history.caught_up(settings)
        second = await suggestions(
            settings, until=lambda events: any(e["data"]["version"] == 2 for e in events)
        )
        assert versions(second, quy_hue_id) == [1, 2]
        assert versions(second, tan_thanh_id) == [1]
        grown = next(e for e in second if e["hotspot_id"] == quy_hue_id and e["version"] == 2)
        assert grown["count"] == 4 and grown["incident_ids"][-1] == "dv-q3"
        assert int(grown["_sequence"]) == 2

        # Sweeping every hamlet again, then rebuilding the read model and sweeping the new
        # generation, finds the same hotspots and suggests nothing.
        again = await hotspots.sweep(rt.context)
        assert again.found >= 2 and again.suggested == 0
        assert await rebuild.run(settings) == 0
        assert await rt.context.stores.generations.current() == 2
        rebuilt = await hotspots.sweep(rt.context)
        assert (rebuilt.found, rebuilt.suggested) == (again.found, 0)
        await eventually(lambda: outboxes_empty(collection), what="hotspot outbox relayed")
        final = await suggestions(settings, until=lambda events: len(events) >= len(second))
        assert len(final) == len(second)
        repeated = Counter((e["hotspot_id"], e["version"]) for e in final)
        assert max(repeated.values()) == 1, repeated

        # Listed under the commune while the episode touches the period; counted in figures.
        march = await client.get(
            "/api/v1/hotspots", params={"unit_id": COMMUNE, "period": "2026-03"}, headers=officer
        )
        assert march.status_code == 200, march.text
        listed = {h["hotspot_id"]: h for h in march.json()["hotspots"]}
        assert quy_hue_id in listed and tan_thanh_id not in listed
        assert listed[quy_hue_id]["version"] == 2
        assert listed[quy_hue_id]["hamlet_name"] == "Quý Huệ"
        assert listed[quy_hue_id]["suggestion"]["vi"].startswith(
            "Lập kế hoạch phòng ngừa: 4 vụ bạo lực gia đình tại thôn Quý Huệ"
        )
        june = await client.get(
            "/api/v1/hotspots", params={"unit_id": TAN_THANH, "period": "2025-06"}, headers=officer
        )
        assert [h["hotspot_id"] for h in june.json()["hotspots"]] == [tan_thanh_id]

        stats = await client.get(
            "/api/v1/statistics", params={"unit_id": COMMUNE, "period": "2027-03"}, headers=officer
        )
        assert stats.status_code == 200, stats.text
        section = stats.json()["figures"]["hotspots"]
        assert section["by_category"][CATEGORY] == {"current": 0, "previous": 1}
        disputes = await client.get(
            "/api/v1/statistics",
            params={"unit_id": COMMUNE, "period": "2026-03", "group": "dispute"},
            headers=officer,
        )
        assert CATEGORY not in disputes.json()["figures"]["hotspots"]["by_category"]

        agency = issuer.headers(("agency", "*"), kind="agency")
        refused = await client.get("/api/v1/hotspots", params={"unit_id": COMMUNE}, headers=agency)
        assert refused.status_code == 403, refused.text
        bad = await client.get(
            "/api/v1/hotspots", params={"unit_id": COMMUNE, "period": "2026-3"}, headers=officer
        )
        assert bad.status_code == 422, bad.text
        assert [e["field"] for e in bad.json()["errors"]] == ["period"]


async def test_sweeps_use_the_rule_set_an_administrator_put_in_force(
    reporting_settings: Settings, servers: Servers, issuer: TestIssuer, history: ModuleType
) -> None:
    quiet = reporting_settings.model_copy(update={"hotspot_sweep_seconds": 3600.0})
    admin = issuer.headers(("admin", "*"))
    pair = [
        history.reported(f"dr-{n}", QUY_HUE, day(4, 1 + 10 * n), category="drugs") for n in range(2)
    ]
    hotspot_id = f"{QUY_HUE}:drugs:dr-1"
    async with history.deployment(quiet, servers, "hotspot-rules") as (client, settings, rt):
        await history.publish(settings, pair)
        await history.caught_up(settings)
        await hotspots.sweep(rt.context)
        stored = {d["_id"] async for d in rt.context.stores.db[HOTSPOTS].find({})}
        assert hotspot_id not in stored  # two drug incidents: the shipped rule wants three

        shipped = shipped_ruleset()
        text = dump_ruleset(shipped)
        drugs = "      - drugs\n      min_incidents: 3\n"
        assert text.count(drugs) == 1
        stricter = text.replace(drugs, drugs.replace("3", "2")).replace(
            f"version: {shipped.version}\n", f"version: {shipped.version + 1}\n", 1
        )
        put = await client.put("/api/v1/rulesets/current", content=stricter.encode(), headers=admin)
        assert put.status_code == 201, put.text

        await hotspots.sweep(rt.context)
        found = await rt.context.stores.db[HOTSPOTS].find_one({"_id": hotspot_id})
        assert found is not None and found["rule"] == "c4_no_drug_hotspot"
        assert (found["count"], found["min_incidents"]) == (2, 2)


async def test_a_hotspot_that_no_longer_holds_is_withdrawn_once_and_suggested_again_if_it_returns(
    reporting_settings: Settings, servers: Servers, issuer: TestIssuer, history: ModuleType
) -> None:
    quiet = reporting_settings.model_copy(
        update={"hotspot_sweep_seconds": 3600.0, "hotspot_wake_delay_seconds": 0.2}
    )
    times = [day(5, 1 + 5 * n) for n in range(3)]
    cluster = [
        history.reported(f"dv-w{n}", QUY_HUE, at, category=CATEGORY) for n, at in enumerate(times)
    ]
    hotspot_id = f"{QUY_HUE}:{CATEGORY}:dv-w2"

    def third(action: str, before: str, after: str, version: int) -> Any:
        return history.transitioned(
            "dv-w2", QUY_HUE, times[2], category=CATEGORY, action=action,
            from_status=before, to_status=after, version=version,
        )  # fmt: skip

    # The live consumer's wake sweep does the work; a sweep called here afterwards finds
    # nothing more to say.
    async with history.deployment(quiet, servers, "withdrawn") as (_, settings, rt):
        collection = rt.context.stores.db[HOTSPOTS]
        await history.publish(settings, cluster)
        await history.caught_up(settings)
        await suggestions(settings, until=lambda es: len(es) >= 1)

        # The third is marked a duplicate: two are left, no hotspot. Withdrawn once.
        await history.publish(settings, [third("mark_duplicate", "reported", "duplicate", 2)])
        await history.caught_up(settings)
        events = await suggestions(settings, until=lambda es: len(es) >= 2)
        assert [(e["version"], "suggestion" in e) for e in events] == [(1, True), (2, False)]
        assert {e["hotspot_id"] for e in events} == {hotspot_id}
        assert (await hotspots.sweep(rt.context)).withdrawn == 0
        assert (await collection.find_one({"_id": hotspot_id}) or {})["status"] == "withdrawn"

        # Reopened: the same three hold again, suggested again as a new version.
        await history.publish(settings, [third("reopen", "duplicate", "reopened", 3)])
        await history.caught_up(settings)
        await suggestions(settings, until=lambda es: len(es) >= 3)
        assert (await hotspots.sweep(rt.context)).suggested == 0
        await eventually(lambda: outboxes_empty(collection), what="hotspot outbox relayed")
        final = await suggestions(settings, until=lambda es: len(es) >= 3)
        assert [(e["version"], "suggestion" in e) for e in final] == [
            (1, True), (2, False), (3, True),
        ]  # fmt: skip
        assert final[2]["incident_ids"] == ["dv-w0", "dv-w1", "dv-w2"]
        assert [int(e["_sequence"]) for e in final] == [1, 2, 3]
