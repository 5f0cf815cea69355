"""Deadlines: with three replicas running, each missed deadline is announced exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from binhyen.contracts.topics import INCIDENTS
from binhyen.incidents.sample_world import World, running_world
from binhyen.incidents.service.common import Context
from binhyen.incidents.service.deadlines import DeadlineScheduler, sweep
from binhyen.incidents.settings import Settings
from binhyen.kit.testing import TestIssuer, eventually

MISSED = "vn.binhyen.incident.deadline_missed.v1"


def _policy(ack_seconds: float, resolve_seconds: float) -> dict[str, Any]:
    targets = {"acknowledge_minutes": ack_seconds / 60, "resolve_minutes": resolve_seconds / 60}
    return dict.fromkeys(("low", "medium", "high", "critical"), targets)


async def _replicas(
    stack: AsyncExitStack, settings: Settings, issuer: TestIssuer, n: int = 3
) -> list[World]:
    return [await stack.enter_async_context(running_world(settings, issuer)) for _ in range(n)]


async def _misses(world: World, expected: int) -> Counter[tuple[str, str]]:
    """Distinct deadline_missed events (by CloudEvents id) per incident and deadline.

    Delivery is at least once: two replicas' relays may both send one event, with one id,
    which consumers drop as a duplicate. A miss emitted twice would carry two ids.
    """
    events = await world.events(INCIDENTS.name, count=expected)
    distinct = {e["id"]: e for e in events if e["type"] == MISSED}
    return Counter((e["subject"], e["data"]["deadline"]) for e in distinct.values())


async def test_three_replicas_announce_each_missed_deadline_once(
    incidents_settings: Settings, issuer: TestIssuer
) -> None:
    settings = incidents_settings.model_copy(
        update={"deadline_sweep_seconds": 0.1, "deadline_lease_seconds": 0.3}
    )
    async with AsyncExitStack() as stack:
        worlds = await _replicas(stack, settings, issuer)
        first = worlds[0]
        admin = first.as_("admin", "*")
        put = await first.client.put("/api/v1/deadline-policy", json=_policy(3, 5), headers=admin)
        assert put.status_code == 200, put.text
        ids = [(await worlds[i % 3].reported())["id"] for i in range(6)]
        for iid in ids[:2]:  # acknowledged in time: only their resolve deadline is missed
            assert (await first.act(iid, "acknowledge")).status_code == 200
        expected = {(iid, "resolve") for iid in ids} | {(iid, "acknowledge") for iid in ids[2:]}

        async def all_marked() -> bool:
            n = 0
            async for doc in first.rt.db["incidents"].find({}, {"deadline_missed": 1}):
                n += len(doc.get("deadline_missed") or {})
            return n == len(expected)

        await eventually(all_marked, timeout=60, what="every deadline marked missed")
        seen = await _misses(first, len(expected))
        assert set(seen) == expected
        assert all(count == 1 for count in seen.values()), seen
        sweeps = [w.rt.worker(DeadlineScheduler).sweeps for w in worlds]
        assert sum(sweeps) > 0


async def test_sweeps_racing_without_a_lease_still_record_each_miss_once(
    incidents_settings: Settings, issuer: TestIssuer
) -> None:
    async with AsyncExitStack() as stack:
        worlds = await _replicas(stack, incidents_settings, issuer)
        for w in worlds:  # take the lease out of the picture: sweep by hand, all at once
            await w.rt.worker(DeadlineScheduler).stop()
        first = worlds[0]
        admin = first.as_("admin", "*")
        assert (
            await first.client.put("/api/v1/deadline-policy", json=_policy(60, 120), headers=admin)
        ).status_code == 200
        ids = [(await first.reported())["id"] for _ in range(4)]
        # Five minutes later by the schedulers' clock: both deadlines of each are past.
        later = datetime.now(UTC) + timedelta(minutes=5)
        contexts: list[Context] = [replace(w.rt.context, now=lambda: later) for w in worlds]
        totals = []
        for _ in range(3):
            totals.append(sum(await asyncio.gather(*(sweep(ctx) for ctx in contexts))))
        assert sum(totals) == 8
        marked = [d async for d in first.rt.db["incidents"].find({}, {"deadline_missed": 1})]
        assert sum(len(d["deadline_missed"]) for d in marked) == 8
        seen = await _misses(first, 8)
        assert set(seen) == {(i, k) for i in ids for k in ("acknowledge", "resolve")}
        assert all(count == 1 for count in seen.values()), seen
