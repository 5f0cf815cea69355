"""What recipients asked for: opt-out, quiet hours (critical alerts pass), bursts digested."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.waiting import eventually
from binhyen.notifications.sample_world import HAMLET, PATHS, World, running_world
from binhyen.notifications.service import alerts
from binhyen.notifications.service.dispatch import Dispatcher
from binhyen.notifications.settings import Settings

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def policy(**overrides: Any) -> dict[str, Any]:
    """Every incident in Tân Thành reaches every consenting household; high is critical."""
    body: dict[str, Any] = {
        "unit_id": HAMLET,
        "name": "Tân Thành: báo cả thôn",
        "triggers": [{"kind": "incident_reported", "min_severity": "low"}],
        "steps": [{"delay_seconds": 0, "targets": [{"kind": "households"}]}],
        "channels": ["sms"],
        "templates": {
            "vi": {
                "headline": "{{ event }} lúc {{ time }}",
                "text": "{{ event }} tại {{ hamlet }} lúc {{ time }}.",
                "body": "{{ event }} tại {{ hamlet }} lúc {{ time }}.",
            }
        },
        "critical_from": "high",
        "remind_after_seconds": None,
    }
    body.update(overrides)
    return body


async def raise_incident(world: World, source: str, severity: str) -> str:
    occ = alerts.Occurrence(
        kind="incident_reported",
        source_id=source,
        hamlet_ids=[HAMLET],
        paths={HAMLET: PATHS[HAMLET]},
        severity=severity,
        incident_id=f"inc-{source}",
        category="noise",
        group="other",
    )
    [alert_id] = await alerts.raise_for(world.ctx, occ)
    return alert_id


async def deliveries(world: World, alert_id: str) -> dict[str, dict[str, Any]]:
    found = world.ctx.stores.deliveries.collection.find({"alert_id": alert_id})
    return {d["rkey"]: d async for d in found}


async def test_opt_out_and_quiet_hours_are_kept_and_critical_alerts_pass(
    notifications_settings: Settings, issuer: TestIssuer
) -> None:
    async with running_world(notifications_settings, issuer) as world:
        officer = world.as_("hamlet_officer", HAMLET)
        assert (
            await world.client.post("/api/v1/policies", json=policy(), headers=officer)
        ).status_code == 201
        opted = await world.client.put(
            "/api/v1/residents/r-4/preferences", json={"opted_out": True}, headers=officer
        )
        assert opted.status_code == 200, opted.text
        now = world.ctx.clock.now().astimezone(LOCAL)
        quiet = {
            "quiet_from": (now - timedelta(hours=1)).strftime("%H:%M"),
            "quiet_until": (now + timedelta(hours=1)).strftime("%H:%M"),
        }
        assert (
            await world.client.put("/api/v1/residents/r-5/preferences", json=quiet, headers=officer)
        ).status_code == 200
        outsider = world.as_("hamlet_officer", "h-hungbinh")
        hidden = await world.client.put(
            "/api/v1/residents/r-5/preferences", json={"opted_out": True}, headers=outsider
        )
        assert hidden.status_code == 404

        calm = await raise_incident(world, "calm", "medium")
        reached = await deliveries(world, calm)
        assert "resident:r-4" not in reached  # opted out
        assert reached["resident:r-5"]["due_at"] > world.ctx.clock.now() + timedelta(minutes=50)
        assert reached["resident:r-leader"]["status"] in ("queued", "sent")

        urgent = await raise_incident(world, "urgent", "high")
        reached = await deliveries(world, urgent)
        assert "resident:r-4" not in reached
        assert reached["resident:r-5"]["due_at"] <= world.ctx.clock.now()  # critical: now


async def test_a_burst_of_low_alerts_becomes_one_digest_at_the_end_of_the_hour(
    notifications_settings: Settings, issuer: TestIssuer, fake_gateway: Any
) -> None:
    async with running_world(notifications_settings, issuer) as world:
        officer = world.as_("hamlet_officer", HAMLET)
        made = await world.client.post(
            "/api/v1/policies", json=policy(throttle_per_hour=1), headers=officer
        )
        assert made.status_code == 201, made.text
        ids = [await raise_incident(world, f"burst-{i}", "low") for i in range(3)]
        first = await deliveries(world, ids[0])
        assert not first["resident:r-leader"].get("digest")
        later = [await deliveries(world, i) for i in ids[1:]]
        assert all(d["resident:r-leader"].get("digest") for d in later)
        assert all(d["resident:r-leader"]["status"] == "queued" for d in later)

        world.ctx.clock.advance(3600)
        dispatcher = world.rt.worker(Dispatcher)
        await dispatcher.sweep_once()

        async def digested() -> list[dict[str, Any]]:
            found = []
            for alert_id in ids[1:]:
                found.append((await deliveries(world, alert_id))["resident:r-leader"])
            return found if all(d["status"] == "sent" for d in found) else []

        [second, third] = await eventually(digested, what="the digest sent")
        primary = {second.get("digested_into"), third.get("digested_into")} - {None}
        assert len(primary) == 1  # one of them carried the other
        carrier = primary.pop()
        [message] = fake_gateway.messages(our_id=carrier)
        assert message["content"].startswith("Tổng hợp 2 tin báo")
