"""Projections: the same figures however the events arrive (twice, out of order), and a rebuild
that equals the live read model while reads keep answering."""

from __future__ import annotations

import asyncio
import io
import random
from types import ModuleType

from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.servers import Servers
from binhyen.reporting.sample_history import COMMUNE, MERGED_HAMLET, History, Published
from binhyen.reporting.service import rebuild
from binhyen.reporting.settings import Settings
from binhyen.reporting.store import Stores


def shuffled_twice(events: list[Published], seed: int) -> list[Published]:
    """Every event twice; within each aggregate, the second half before the first."""
    rng = random.Random(seed)
    by_key: dict[tuple[str, str], list[Published]] = {}
    for p in events:
        by_key.setdefault((p.topic, p.key), []).append(p)
    out: list[Published] = []
    for group in by_key.values():
        half = len(group) // 2
        out.extend(group[half:] + group[:half])  # a batch out of order
        out.extend(rng.sample(group, len(group)))  # then all of them again, shuffled
    return out


async def test_events_twice_and_out_of_order_give_the_figures_of_once_in_order(
    reporting_settings: Settings, servers: Servers, issuer: TestIssuer, history: ModuleType
) -> None:
    events = history.small_history()
    headers = issuer.headers(("commune_officer", COMMUNE))
    async with (
        history.deployment(reporting_settings, servers, "inorder") as (client_a, settings_a, _),
        history.deployment(reporting_settings, servers, "twice") as (client_b, settings_b, _),
    ):
        await history.publish(settings_a, events)
        await history.publish(settings_b, shuffled_twice(events, seed=3))
        await history.caught_up(settings_a)
        await history.caught_up(settings_b)
        in_order = await history.figures(client_a, headers)
        messy = await history.figures(client_b, headers)
    assert messy == in_order
    # The figures are not trivially equal: the history shows up in them.
    year = in_order["EY2026"]["incidents"]
    assert year["total"]["current"] > 10
    assert year["total"]["previous"] > 10
    assert in_order["disputes"]["incidents"]["mediation"]["agreement"]["current"] > 0
    assert in_order["EY2026"]["households"]["active"]["current"] == 5 * 12


async def test_a_merged_hamlet_counts_under_its_successor(
    reporting_settings: Settings, servers: Servers, issuer: TestIssuer, history: ModuleType
) -> None:
    world = History(seed=5, hamlets=2, households_per_hamlet=3)
    events = world.generate().events
    merged_incidents = {
        p.key for p in events if p.topic.endswith("incidents.v1") and p.key
        and p.event.data["incident"]["hamlet_id"] == MERGED_HAMLET
    }  # fmt: skip
    assert merged_incidents
    successor = world.hamlet_ids[0]
    async with history.deployment(reporting_settings, servers, "merge") as (client, settings, _):
        await history.publish(settings, events)
        await history.caught_up(settings)
        headers = issuer.headers(("commune_officer", COMMUNE))
        params = {"unit_id": successor, "period": "2024-11-01..2026-10-31"}
        answer = await client.get("/api/v1/statistics", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        own = [
            p for p in events if p.topic.endswith("incidents.v1")
            and p.event.data["incident"]["hamlet_id"] == successor
            and p.event.type.endswith("reported.v1")
        ]  # fmt: skip
        counted = answer.json()["figures"]["incidents"]["by_status"]
        total = sum(v["current"] for v in counted.values())
        assert total == len(own) + len(merged_incidents)


async def test_a_rebuild_equals_the_live_model_and_reads_answer_during_it(
    reporting_settings: Settings, servers: Servers, issuer: TestIssuer, history: ModuleType
) -> None:
    events = history.small_history()
    headers = issuer.headers(("commune_officer", COMMUNE))
    async with history.deployment(reporting_settings, servers, "rebuild") as (client, settings, rt):
        await history.publish(settings, events)
        await history.caught_up(settings)
        live = await history.figures(client, headers)

        answers: list[int] = []
        done = asyncio.Event()

        async def read_meanwhile() -> None:
            while not done.is_set():
                got = await client.get(
                    "/api/v1/statistics",
                    params={"unit_id": COMMUNE, "period": "EY2026"},
                    headers=headers,
                )
                answers.append(got.status_code)
                await asyncio.sleep(0)

        reader = asyncio.create_task(read_meanwhile())
        out = io.StringIO()
        try:
            status = await rebuild.run(settings, out=out)
        finally:
            done.set()
            await reader
        assert status == 0, out.getvalue()
        assert answers and set(answers) == {200}
        stores: Stores = rt.context.stores
        assert await stores.generations.current() == 2
        progress = await client.get("/api/v1/rebuild", headers=headers)
        assert progress.status_code == 200
        assert progress.json()["current"] == 2
        rebuilt = await history.figures(client, headers)
        assert rebuilt == live
        # New events after the switch reach the new generation (the follower moved over).
        more = History(seed=99, hamlets=4, households_per_hamlet=12, id_prefix="x").generate()
        more_events = more.events
        extra = [p for p in more_events if p.topic.endswith("incidents.v1")][:50]
        await history.publish(settings, extra)
        await history.caught_up(settings, generation=2)
        after = await history.figures(client, headers)
        assert after != rebuilt
