"""Escalation on a controllable clock: steps at their delays, stopped by an acknowledgement,
reminders after it, and a policy edit that never reaches an alert already under way."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from binhyen.contracts.topics import INCIDENTS
from binhyen.kit.kafka import KafkaAccess, start_producer
from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.waiting import eventually
from binhyen.notifications.sample_world import (
    DEPUTY,
    HAMLET,
    LEADER,
    MEMBER,
    World,
    incident_reported,
    running_world,
)
from binhyen.notifications.service import escalation
from binhyen.notifications.settings import Settings


def policy_body(**overrides: Any) -> dict[str, Any]:
    """Step 0: whoever is on duty; +300 s: the roster's second; +600 s: the roster's third."""
    body: dict[str, Any] = {
        "unit_id": HAMLET,
        "name": "Tân Thành: mọi vụ việc",
        "triggers": [{"kind": "incident_reported", "min_severity": "low"}],
        "steps": [
            {"delay_seconds": 0, "targets": [{"kind": "team_on_duty"}]},
            {"delay_seconds": 300, "targets": [{"kind": "contact_roster", "positions": [2]}]},
            {"delay_seconds": 600, "targets": [{"kind": "contact_roster", "positions": [3]}]},
        ],
        "channels": ["sms"],
        "templates": {
            "vi": {
                "headline": "{{ event }} tại {{ hamlet }}",
                "text": "{{ event }} tại {{ hamlet }} lúc {{ time }}.",
                "body": "{{ event }} tại {{ hamlet }}, {{ commune }}, lúc {{ time }}.",
            }
        },
        "remind_after_seconds": 1800,
    }
    body.update(overrides)
    return body


async def report(world: World, incident_id: str) -> None:
    """An incident in Tân Thành, as incidents announces it on Kafka."""
    event = incident_reported(incident_id)
    settings = world.rt.settings
    producer = await start_producer(KafkaAccess.of(settings), client_id="test")
    try:
        await producer.send_and_wait(
            settings.topic(INCIDENTS.name), event.to_json(), key=incident_id.encode()
        )
    finally:
        await producer.stop()


async def reached(world: World, alert_id: str) -> dict[str, str]:
    """Recipient key → status of its latest delivery."""
    found = world.ctx.stores.deliveries.collection.find({"alert_id": alert_id})
    return {d["rkey"]: d["status"] async for d in found}


async def test_steps_run_at_their_delays_and_an_acknowledgement_stops_them(
    notifications_settings: Settings, issuer: TestIssuer
) -> None:
    async with running_world(notifications_settings, issuer, on_duty=[LEADER]) as world:
        officer = world.as_("hamlet_officer", HAMLET)
        made = await world.client.post("/api/v1/policies", json=policy_body(), headers=officer)
        assert made.status_code == 201, made.text
        policy = made.json()

        await report(world, "inc-escalation")
        alerts = world.ctx.stores.alerts
        found = await eventually(lambda: alerts.of_incident("inc-escalation"), what="the alert")
        [alert] = found
        assert alert["policy"]["id"] == policy["id"] and alert["policy"]["version"] == 1
        leader, deputy, member = (f"resident:{p}" for p in (LEADER, DEPUTY, MEMBER))
        await eventually(
            lambda: _status(world, alert["_id"], leader, "sent"), what="the leader's SMS"
        )
        assert set(await reached(world, alert["_id"])) == {leader}

        # Editing the policy now (the deputy would be first) changes nothing for this alert.
        edited = policy_body(
            steps=[{"delay_seconds": 0, "targets": [{"kind": "team"}]}], remind_after_seconds=None
        )
        saved = await world.client.put(
            f"/api/v1/policies/{policy['id']}", json=edited, headers=officer | {"If-Match": '"1"'}
        )
        assert saved.status_code == 200 and saved.json()["version"] == 2

        clock = world.ctx.clock
        clock.advance(299)
        await escalation.sweep(world.ctx)
        assert set(await reached(world, alert["_id"])) == {leader}  # not yet (299 s < 300 s)
        clock.advance(2)
        await escalation.sweep(world.ctx)  # (the background sweep may run it first)
        await eventually(
            lambda: _status(world, alert["_id"], deputy, "sent"), what="the deputy's SMS"
        )
        assert member not in await reached(world, alert["_id"])

        # The deputy answers from the link: the escalation stops (no third step at +600 s).
        link = await world.ctx.stores.recipients.get(alert["_id"], deputy)
        assert link is not None
        answered = await world.client.post(f"/a/{link['link']}", data={"answer": "coming"})
        assert answered.status_code == 303
        clock.advance(900)
        await escalation.sweep(world.ctx)
        assert member not in await reached(world, alert["_id"])
        state = await world.client.get(f"/api/v1/alerts/{alert['_id']}", headers=officer)
        assert state.json()["status"] == "acknowledged"
        assert state.json()["policy_version"] == 1
        assert state.json()["reach"]["acknowledged"] == 1

        # Not resolved 30 minutes after the answer: the deputy is reminded (and only they).
        clock.advance(1800)
        await escalation.sweep(world.ctx)  # (the background sweep may run it first)

        async def reminded() -> list[str]:
            found = world.ctx.stores.deliveries.collection.find(
                {"alert_id": alert["_id"], "wave": "m1"}
            )
            return [d["rkey"] async for d in found]

        assert await eventually(reminded, what="the reminder") == [deputy]


async def test_a_step_with_nobody_on_duty_is_skipped_at_once(
    notifications_settings: Settings, issuer: TestIssuer
) -> None:
    async with running_world(notifications_settings, issuer, on_duty=[]) as world:
        officer = world.as_("hamlet_officer", HAMLET)
        made = await world.client.post("/api/v1/policies", json=policy_body(), headers=officer)
        assert made.status_code == 201, made.text
        await report(world, "inc-nobody-on-duty")
        found = await eventually(
            lambda: world.ctx.stores.alerts.of_incident("inc-nobody-on-duty"), what="the alert"
        )
        alert_id = found[0]["_id"]
        # Nobody is on a shift: step 0 reaches nobody, and step 1 is due at once, not in 300 s.
        deputy = f"resident:{DEPUTY}"
        await eventually(
            lambda: _status(world, alert_id, deputy, "sent"), what="the second step at once"
        )
        assert f"resident:{LEADER}" not in await reached(world, alert_id)


async def _status(world: World, alert_id: str, rkey: str, status: str) -> bool:
    return (await reached(world, alert_id)).get(rkey) == status


async def test_a_later_wave_after_a_secret_rotation_carries_the_link_people_already_have(
    notifications_settings: Settings, issuer: TestIssuer
) -> None:
    async with running_world(notifications_settings, issuer, on_duty=[LEADER]) as world:
        officer = world.as_("hamlet_officer", HAMLET)
        twice = policy_body(
            steps=[
                {"delay_seconds": 0, "targets": [{"kind": "team_on_duty"}]},
                {"delay_seconds": 300, "targets": [{"kind": "contact_roster", "positions": [1]}]},
            ]
        )
        made = await world.client.post("/api/v1/policies", json=twice, headers=officer)
        assert made.status_code == 201, made.text
        await report(world, "inc-rotation")
        [alert] = await eventually(
            lambda: world.ctx.stores.alerts.of_incident("inc-rotation"), what="the alert"
        )
        leader = f"resident:{LEADER}"
        await eventually(lambda: _status(world, alert["_id"], leader, "sent"), what="wave 1")
        settings = world.ctx.settings
        old = settings.link_secret
        settings.link_secret = SecretStr("r" * 43)  # the operator rotates the link secret
        settings.link_secret_previous = old
        world.ctx.clock.advance(301)
        await escalation.sweep(world.ctx)

        async def second() -> list[dict[str, Any]]:
            found = world.ctx.stores.deliveries.collection.find(
                {"alert_id": alert["_id"], "rkey": leader}
            )
            return [d async for d in found if d["wave"] == "r0s1"]

        [later] = await eventually(second, what="wave 2 to the leader again")
        stored = await world.ctx.stores.recipients.get(alert["_id"], leader)
        assert stored is not None and later["link"] == stored["link"]
        page = await world.client.get(f"/a/{later['link']}")
        assert page.status_code == 200
