"""Officers say how to reach them (phone, e-mail, Apprise); a deactivated one is not alerted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.accounts import AccountDeactivated
from binhyen.kit.accounts import AccountStates
from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.waiting import eventually
from binhyen.notifications.sample_world import HAMLET, PATHS, World, running_world
from binhyen.notifications.service import alerts
from binhyen.notifications.settings import Settings

POLICY: dict[str, Any] = {
    "unit_id": HAMLET,
    "name": "Tân Thành: báo cán bộ thôn",
    "triggers": [{"kind": "incident_reported", "min_severity": "low"}],
    "steps": [{"delay_seconds": 0, "targets": [{"kind": "hamlet_officer"}]}],
    "channels": ["apprise", "sms"],
    "templates": {
        "vi": {
            "headline": "{{ event }} tại {{ hamlet }}",
            "text": "{{ event }}",
            "body": "{{ event }}",
        }
    },
}


async def raise_one(world: World, source: str) -> str:
    occ = alerts.Occurrence(
        kind="incident_reported",
        source_id=source,
        hamlet_ids=[HAMLET],
        paths={HAMLET: PATHS[HAMLET]},
        severity="medium",
        incident_id=f"inc-{source}",
        category="theft",
        group="crime",
    )
    [alert_id] = await alerts.raise_for(world.ctx, occ)
    return alert_id


async def test_an_officer_is_reached_on_the_channels_they_registered_until_deactivated(
    notifications_settings: Settings, issuer: TestIssuer, receivers: Any
) -> None:
    settings = notifications_settings.model_copy(update={"apprise_allowed_schemes": ["json"]})
    async with running_world(settings, issuer) as world:
        officer = world.as_("hamlet_officer", HAMLET, subject="officer-tan-thanh")
        assert (
            await world.client.post("/api/v1/policies", json=POLICY, headers=officer)
        ).status_code == 201
        with receivers.webhook_receiver() as receiver:
            url = receiver.url.replace("http://", "json://") + "/apprise"
            saved = await world.client.put(
                "/api/v1/me/contact",
                json={"phones": ["0912 345 678"], "apprise_urls": [url], "language": "vi"},
                headers=officer,
            )
            assert saved.status_code == 200, saved.text
            assert saved.json()["phones"] == ["+84912345678"]
            bad = await world.client.put(
                "/api/v1/me/contact",
                json={"phones": ["12345"], "apprise_urls": ["tgram://bot/chat"]},
                headers=officer,
            )
            assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "phones.0"
            refused = await world.client.put(
                "/api/v1/me/contact", json={"apprise_urls": ["gopher://x"]}, headers=officer
            )
            assert refused.status_code == 422
            assert refused.json()["errors"][0]["field"] == "apprise_urls.0"
            assert "gopher://x" not in refused.text

            first = await raise_one(world, "staff-1")
            await eventually(lambda: receiver.to("/apprise"), what="the Apprise message")
            [message] = receiver.to("/apprise")
            assert "Vụ việc phạm tội tại Tân Thành" in message.json()["title"]

            # The registry deactivates the account: its contacts are no longer alerted.
            event = CloudEvent.wrap(
                AccountDeactivated(
                    account_id="officer-tan-thanh", active=False, changed_at=datetime.now(UTC)
                )
            )
            await AccountStates(world.rt.db).on_account_changed(event)
            second = await raise_one(world, "staff-2")
            found = world.ctx.stores.deliveries.collection.find({"alert_id": second})
            assert [d async for d in found] == []
            assert first != second
