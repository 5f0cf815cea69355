"""The escalation sweep: due steps, reminders, expiry and interrupted waves of every open alert.

One replica at a time (a kit lease); every few seconds, and at once when woken (a test moving
the clock, an acknowledgement). ``advance`` is safe on any replica anyway: each wave is taken
with a compare-and-set on the alert.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from binhyen.kit.lease import Lease, LeasedWorker
from binhyen.notifications.service import alerts
from binhyen.notifications.service.common import Context

log = logging.getLogger(__name__)
LEASE = "notifications-escalation"


async def sweep(ctx: Context) -> int:
    """Advance every open alert; the number of waves run."""
    ran = 0
    for alert in await ctx.stores.alerts.open_ones():
        try:
            ran += await alerts.advance(ctx, alert["_id"])
        except Exception:  # one broken alert never stops the others
            log.exception("escalation failed", extra={"alert_id": alert["_id"]})
    return ran


class EscalationWorker(LeasedWorker):
    """Runs :func:`sweep` while this replica holds the escalation lease."""

    def __init__(self, ctx: Context, *, interval: float, lease: float) -> None:
        db = ctx.stores.db
        super().__init__(Lease(db, LEASE, ttl=lease), self._sweep, interval=interval, name=LEASE)
        self._ctx = ctx

    async def start(self) -> None:
        """Start, and let the use cases wake the sweep."""
        self._ctx.doors.escalate = self.wake
        await super().start()

    async def _sweep(self) -> None:
        await sweep(self._ctx)
        if self.runs % 100 == 0:  # throttle counters of hours long past
            await self._ctx.stores.throttle.purge(self._ctx.clock.now() - timedelta(hours=2))
