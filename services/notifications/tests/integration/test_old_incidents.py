"""A report filed long after the incident happened sounds no gong; a recent one does."""

from __future__ import annotations

from datetime import timedelta

from binhyen.kit.testing import TestIssuer
from binhyen.notifications.sample_world import HAMLET, running_world
from binhyen.notifications.service import alerts
from binhyen.notifications.settings import Settings


async def test_an_incident_reported_days_after_it_happened_raises_no_alert(
    notifications_settings: Settings, issuer: TestIssuer
) -> None:
    async with running_world(notifications_settings, issuer) as world:
        now = world.ctx.clock.now()
        limit = timedelta(hours=notifications_settings.incident_alert_max_age_hours)

        def occurrence(name: str, age: timedelta) -> alerts.Occurrence:
            return alerts.Occurrence(
                kind="incident_reported",
                source_id=f"event-{name}",
                hamlet_ids=[HAMLET],
                paths={HAMLET: ["p-hatinh", "d-kyanh", "c-kynam", HAMLET]},
                severity="high",
                incident_id=f"inc-{name}",
                category="theft",
                group="crime",
                occurred_at=now - age,
            )

        assert (
            await alerts.raise_for(world.ctx, occurrence("old", limit + timedelta(hours=1))) == []
        )
        assert await world.ctx.stores.alerts.collection.count_documents({}) == 0
        raised = await alerts.raise_for(world.ctx, occurrence("recent", limit - timedelta(hours=1)))
        assert raised, "the default policy sounds the gong for a recent serious incident"
